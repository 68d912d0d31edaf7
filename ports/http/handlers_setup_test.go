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
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/throttle"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/logincards"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
	"github.com/rollcall/rollcall/infrastructure/vault"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// apiWorld is the HTTP API on its real application handlers and adapters,
// wired as cmd/rollcall wires them (the read models kept by their
// projections), served by httptest on a fresh database: Lincoln (a system
// administrator, two group administrators of Staff, a user, an
// administrator who must change their password) and Other (a system
// administrator). The import saga and its jobs run too, so an import is
// validated as in production.
type apiWorld struct {
	t        *testing.T
	pool     *pgxpool.Pool
	store    *postgres.EventStore
	server   *httptest.Server
	lincoln  uuid.UUID
	staff    uuid.UUID
	tokens   map[string]string // by email
	accounts map[string]uuid.UUID
}

const apiMaxUpload = 64 << 10

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newAPIWorld(t *testing.T) *apiWorld {
	t.Helper()
	ctx := context.Background()
	w := &apiWorld{t: t, pool: pgtest.MustOpenDB(t), tokens: map[string]string{}, accounts: map[string]uuid.UUID{}}
	codec := eventcodec.Rollcall()
	var err error
	w.store, err = postgres.NewEventStore(w.pool, codec)
	must(t, err)
	tenancy, imports := postgres.NewTenancy(w.pool), postgres.NewImports(w.store)
	key := vault.NewRandomKey()
	files, err := vault.NewFileStore(t.TempDir(), key)
	must(t, err)
	uploads := vault.Uploads{Store: files}
	secrets := postgres.NewImportSecrets(w.pool, key)
	hasher, err := password.NewHasher(password.Params{Memory: 8 << 10, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	must(t, err)
	pol := password.DefaultPolicy()
	policy := func(pw secret.Secret) []command.PolicyProblem {
		var out []command.PolicyProblem
		for _, p := range pol.Check(pw) {
			out = append(out, command.PolicyProblem(p))
		}
		return out
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	accounts := postgres.NewAccounts(w.pool, w.store)
	reference, err := command.NewReferenceHandler(tenancy)
	must(t, err)
	create, err := command.NewCreateAccountHandler(accounts, tenancy, hasher, policy, time.Now)
	must(t, err)
	gate, err := command.NewSignInGate(postgres.NewSignInCounters(w.pool), accounts, throttle.SignInRules(), time.Hour, logger)
	must(t, err)
	signIn, err := command.NewSignInHandler(tenancy, hasher, gate, logger)
	must(t, err)
	signOut, err := command.NewSignOutHandler(tenancy)
	must(t, err)
	changePassword, err := command.NewChangePasswordHandler(tenancy, accounts, hasher, gate, policy, tenancy, time.Now)
	must(t, err)
	wizard, err := command.NewImportWizard(command.ImportWizardDeps{Imports: imports, Uploads: uploads, Secrets: secrets, Orgs: tenancy,
		Inspector: spreadsheet.Inspector{}, Earlier: postgres.NewReadModels(w.pool, codec), Policy: policy, MaxUpload: apiMaxUpload,
		ChunkRows: 1000, UndoWindow: 24 * time.Hour, Now: time.Now, Logger: logger})
	must(t, err)
	rowFiles := spreadsheet.Uploads{Store: uploads}
	work, err := postgres.NewUnitOfWork(w.pool, w.store, imports, mail.Outbox{Domain: "rollcall.test"})
	must(t, err)
	runner, err := importing.NewRunner(importing.Deps{Imports: imports, Orgs: tenancy, Work: work, Holders: accounts,
		Rows: postgres.NewImportRows(w.pool), Files: rowFiles, Sealer: vault.RowPasswords{Key: key}, Hasher: hasher, DefaultPasswords: secrets,
		AccountList: postgres.NewAccountList(w.pool, postgres.ProjectionGroup(projection.Accounts{})), Uploads: uploads,
		Classroom: postgres.NewClassroomHistory(w.pool), Policy: policy, Logger: logger, Now: time.Now, BatchRows: 500, PublicURL: "https://rollcall.test"})
	must(t, err)
	loginCards, err := command.NewLoginCardsHandler(imports, postgres.NewLoginCards(w.pool, key), logincards.Printer{}, tenancy, "https://rollcall.test", time.Now)
	must(t, err)
	changes, err := postgres.NewEmailChanges(w.pool, w.store, mail.Outbox{Domain: "rollcall.test"})
	must(t, err)
	var yours rhttp.YourAccount
	yours.Query, err = query.NewYourAccountQuery(postgres.NewReadModels(w.pool, codec))
	must(t, err)
	yours.RequestEmail, err = command.NewRequestEmailChangeHandler(accounts, changes, tenancy, hasher, gate, "https://rollcall.test", time.Now)
	must(t, err)
	yours.ConfirmEmail, err = command.NewConfirmEmailChangeHandler(accounts, changes, time.Now)
	must(t, err)
	queries, err := query.NewQueries(postgres.NewReadModels(w.pool, codec), rowFiles, tenancy, mail.Report{Pool: w.pool})
	must(t, err)
	api, err := rhttp.NewAPI(rhttp.APIDeps{Logger: logger, Logins: tenancy, SignIn: signIn, SignOut: signOut, ChangePassword: changePassword,
		Reference: reference, Wizard: wizard, LoginCards: loginCards, Queries: queries, Rows: runner, SampleFile: spreadsheet.Sample(), YourAccount: yours,
		Upload: rhttp.UploadLimits{MaxBytes: apiMaxUpload, Stall: 10 * time.Second, Total: time.Minute}})
	must(t, err)
	server := rhttp.NewServer(logger, nil)
	api.Register(server.Router())
	w.server = httptest.NewServer(server)
	t.Cleanup(w.server.Close)

	background := []postgres.Consumer{postgres.SagaConsumer(importing.SagaGroup, runner.HandleEvent)}
	for _, p := range projection.All() {
		background = append(background, postgres.ProjectionConsumer(p))
	}
	consumers, err := postgres.NewConsumers(w.pool, codec, logger, postgres.ConsumerOptions{PollInterval: 20 * time.Millisecond}, background...)
	must(t, err)
	jobs, err := postgres.NewJobRunner(w.pool, logger, postgres.JobRunnerOptions{Workers: 2, PollInterval: 20 * time.Millisecond, Lease: time.Minute},
		map[string]postgres.JobHandler{
			importing.KindValidate:    func(ctx context.Context, j *postgres.Job) error { return runner.Validate(ctx, j) },
			importing.KindCommitChunk: func(ctx context.Context, j *postgres.Job) error { return runner.CommitChunk(ctx, j) },
			importing.KindFinish:      func(ctx context.Context, j *postgres.Job) error { return runner.Finish(ctx, j) },
		})
	must(t, err)
	runCtx, stop := context.WithCancel(ctx)
	stopped := make(chan struct{}, 2)
	go func() { _ = consumers.Run(runCtx); stopped <- struct{}{} }()
	go func() { _ = jobs.Run(runCtx); stopped <- struct{}{} }()
	t.Cleanup(func() { stop(); <-stopped; <-stopped })

	w.lincoln, err = reference.CreateOrganization(ctx, "Lincoln High")
	must(t, err)
	other, err := reference.CreateOrganization(ctx, "Other District")
	must(t, err)
	w.staff = uuid.New()
	must(t, tenancy.CreateNamed(ctx, command.Groups, w.lincoln, command.Named{ID: w.staff, Name: "Staff"}))
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
		{other, "root@other.test", "system_admin", uuid.Nil, false},
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

// call sends a request as the account signed in with that email ("" for
// none) and decodes the JSON answer. A string or []byte body is sent as
// is, anything else as JSON; contentType "" means application/json.
func (w *apiWorld) call(as, method, path string, body any) (int, map[string]any) {
	w.t.Helper()
	return w.callAs(as, method, path, body, "")
}

func (w *apiWorld) callAs(as, method, path string, body any, contentType string) (int, map[string]any) {
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
		must(w.t, err)
		r = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, w.server.URL+path, r)
	must(w.t, err)
	if body != nil {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	return w.do(as, req)
}

func (w *apiWorld) do(as string, req *http.Request) (int, map[string]any) {
	w.t.Helper()
	if as != "" {
		token, ok := w.tokens[as]
		if !ok {
			token = as // a token of no session
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	must(w.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	must(w.t, err)
	out := map[string]any{}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") || json.Unmarshal(raw, &out) != nil {
		// Lists and files: only objects are inspected.
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

// waitFor polls the API until ok holds for the answer (the read models
// follow the events).
func (w *apiWorld) waitFor(as, path string, ok func(status int, body map[string]any) bool) {
	w.t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		status, body := w.call(as, "GET", path, nil)
		if ok(status, body) {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("GET %s never caught up: %d %v", path, status, body)
		}
	}
}

func errorField(body map[string]any, field string) string {
	e, _ := body["error"].(map[string]any)
	s, _ := e[field].(string)
	return s
}
