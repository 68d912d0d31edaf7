package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
	"github.com/rollcall/rollcall/infrastructure/vault"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// apiWorld is the HTTP API on its real application handlers and adapters,
// served by httptest, on a fresh database: two organizations, Lincoln
// (a system administrator, two group administrators of Staff, a user, an
// account that must change its password) and Other.
type apiWorld struct {
	t        *testing.T
	pool     *pgxpool.Pool
	store    *postgres.EventStore
	imports  *postgres.Imports
	tenancy  *postgres.Tenancy
	server   *httptest.Server
	lincoln  uuid.UUID
	other    uuid.UUID
	staff    uuid.UUID
	tokens   map[string]string // by email
	accounts map[string]uuid.UUID
}

const apiMaxUpload = 64 << 10

// apiFiles stands in for the uploaded files behind the rejected rows and the
// preview (the import jobs' tests cover them); the API's decisions come
// before them.
type apiFiles struct{}

func (apiFiles) WriteRejected(_ context.Context, _ *importsession.Import, w io.Writer) error {
	_, err := io.WriteString(w, "First Name,Last Name,Email,problems\n")
	return err
}

func (apiFiles) Preview(context.Context, *importsession.Import, int) ([]query.PreviewRow, error) {
	return nil, nil
}

func newAPIWorld(t *testing.T) *apiWorld {
	t.Helper()
	ctx := context.Background()
	w := &apiWorld{t: t, pool: pgtest.MustOpenDB(t), tokens: map[string]string{}, accounts: map[string]uuid.UUID{}}
	codec := eventcodec.NewRegistry()
	for _, ev := range account.Events() {
		codec.Register(ev)
	}
	for _, ev := range importsession.Events() {
		codec.Register(ev)
	}
	var err error
	if w.store, err = postgres.NewEventStore(w.pool, codec); err != nil {
		t.Fatal(err)
	}
	w.tenancy = postgres.NewTenancy(w.pool)
	w.imports = postgres.NewImports(w.store)
	key := vault.NewRandomKey()
	files, err := vault.NewFileStore(t.TempDir(), key)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 8 << 10, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	pol := password.DefaultPolicy()
	policy := func(pw secret.Secret) []command.PolicyProblem {
		var out []command.PolicyProblem
		for _, p := range pol.Check(pw) {
			out = append(out, command.PolicyProblem(p))
		}
		return out
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := time.Now
	accounts := postgres.NewAccounts(w.pool, w.store)
	reference, err := command.NewReferenceHandler(w.tenancy)
	must(t, err)
	create, err := command.NewCreateAccountHandler(accounts, w.tenancy, hasher, policy, now)
	must(t, err)
	signIn, err := command.NewSignInHandler(w.tenancy, hasher, time.Hour, logger)
	must(t, err)
	changePassword, err := command.NewChangePasswordHandler(w.tenancy, accounts, hasher, policy, now)
	must(t, err)
	wizard, err := command.NewImportWizard(command.ImportWizardDeps{Imports: w.imports, Uploads: vault.Uploads{Store: files},
		Secrets: postgres.NewImportSecrets(w.pool, key), Orgs: w.tenancy, Inspector: spreadsheet.Inspector{}, Policy: policy,
		MaxUpload: apiMaxUpload, Now: now, Logger: logger})
	must(t, err)
	queries, err := query.NewQueries(postgres.NewReadModels(w.pool), w.imports, apiFiles{})
	must(t, err)
	api, err := rhttp.NewAPI(rhttp.APIDeps{Logger: logger, Logins: w.tenancy, SignIn: signIn, ChangePassword: changePassword,
		Reference: reference, Wizard: wizard, Queries: queries, SampleFile: spreadsheet.Sample(), MaxUpload: apiMaxUpload})
	must(t, err)
	server := rhttp.NewServer(logger, nil)
	api.Register(server.Router())
	w.server = httptest.NewServer(server)
	t.Cleanup(w.server.Close)

	if w.lincoln, err = reference.CreateOrganization(ctx, "Lincoln High"); err != nil {
		t.Fatal(err)
	}
	if w.other, err = reference.CreateOrganization(ctx, "Other District"); err != nil {
		t.Fatal(err)
	}
	w.staff = uuid.New()
	must(t, w.tenancy.CreateNamed(ctx, command.Groups, w.lincoln, command.Named{ID: w.staff, Name: "Staff"}))
	for _, a := range []struct {
		org         uuid.UUID
		email, role string
		group       uuid.UUID
		mustChange  bool
	}{
		{w.lincoln, "root@lincoln.test", "system_admin", uuid.Nil, false},
		{w.lincoln, "ada@lincoln.test", "admin", w.staff, false},
		{w.lincoln, "ben@lincoln.test", "admin", w.staff, false},
		{w.lincoln, "uma@lincoln.test", "user", uuid.Nil, false},
		{w.lincoln, "new@lincoln.test", "admin", uuid.Nil, true},
		{w.other, "root@other.test", "system_admin", uuid.Nil, false},
	} {
		id, err := create.Handle(ctx, command.CreateAccount{OrgID: a.org, Email: a.email, FirstName: "Given", LastName: "Family", Role: a.role,
			GroupID: a.group, Password: secret.New("a long enough password"), MustChangePassword: a.mustChange})
		must(t, err)
		w.accounts[a.email] = id
		status, body := w.call("", "POST", "/api/v1/sessions", map[string]string{"email": a.email, "password": "a long enough password"})
		if status != 200 {
			t.Fatalf("sign in %s: %d %v", a.email, status, body)
		}
		w.tokens[a.email] = body["token"].(string)
	}
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// call sends a JSON request as the account signed in with that email ("" for
// none) and decodes the JSON answer.
func (w *apiWorld) call(as, method, path string, body any) (int, map[string]any) {
	w.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			w.t.Fatal(err)
		}
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, w.server.URL+path, r)
	if err != nil {
		w.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return w.do(as, req)
}

func (w *apiWorld) do(as string, req *http.Request) (int, map[string]any) {
	w.t.Helper()
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+w.tokens[as])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		w.t.Fatal(err)
	}
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			// A list is fine too; only objects are inspected.
			out = map[string]any{"raw": string(raw)}
		}
	} else {
		out = map[string]any{"raw": string(raw), "content_type": resp.Header.Get("Content-Type")}
	}
	return resp.StatusCode, out
}

// upload posts a multipart form with a file part (when file is not nil)
// and fields.
func (w *apiWorld) upload(as string, file []byte, fields map[string]string) (int, map[string]any) {
	w.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		must(w.t, mw.WriteField(k, v))
	}
	if file != nil {
		fw, err := mw.CreateFormFile("file", "people.csv")
		must(w.t, err)
		_, err = fw.Write(file)
		must(w.t, err)
	}
	must(w.t, mw.Close())
	req, err := http.NewRequest("POST", w.server.URL+"/api/v1/imports", &body)
	must(w.t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return w.do(as, req)
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func errorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}
