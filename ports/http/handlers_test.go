package http_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/apperror"
	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/importsession"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

const peopleCSV = "First Name,Last Name,Email\nAna,Lima,ana@lincoln.test\nBo,Ek,bo@lincoln.test\n"

// startImport uploads peopleCSV as that account and takes it to the stage:
// "uploaded", "mapped", "defaults" or "validated" (the validation job's
// outcome is recorded as the job would; it has tests of its own).
func (w *apiWorld) startImport(as, stage string) string {
	w.t.Helper()
	status, imp := w.upload(as, []byte(peopleCSV), nil)
	if status != 201 {
		w.t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	steps := []struct {
		stage        string
		method, path string
		body         any
	}{
		{"mapped", "PUT", "/mapping", map[string]any{"columns": imp["suggested_mapping"]}},
		{"defaults", "PUT", "/defaults", map[string]any{"password": "Default-Pass-1", "force_password_change": true}},
		{"validated", "POST", "/validation", nil},
	}
	for _, s := range steps {
		if stage == "uploaded" {
			break
		}
		if status, body := w.call(as, s.method, "/api/v1/imports/"+id+s.path, s.body); status >= 300 {
			w.t.Fatalf("%s %s: %d %v", s.method, s.path, status, body)
		}
		if s.stage == stage {
			break
		}
	}
	if stage == "validated" {
		_, err := w.imports.Update(context.Background(), uuid.MustParse(id), command.Metadata{}, func(imp *importsession.Import) error {
			return imp.RecordValidation(importsession.RowsValidated{Total: 150, New: 150, ValidatedAt: time.Now()})
		})
		must(w.t, err)
	}
	return id
}

// Every refusal answers its status and stable code with a sentence for the
// person, as JSON; none is a 500.
func TestAPIStatusAndErrorCodes(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	uploaded := w.startImport("ada@lincoln.test", "uploaded")
	withDefaults := w.startImport("ada@lincoln.test", "defaults")
	validated := w.startImport("ada@lincoln.test", "validated")
	imp := func(id, rest string) string { return "/api/v1/imports/" + id + rest }

	tests := []struct {
		name         string
		as           string
		method, path string
		body         any
		status       int
		code         string
	}{
		// Who is calling.
		{"no token", "", "GET", "/api/v1/imports", nil, 401, "unauthorized"},
		{"a token of no session", "nobody", "GET", "/api/v1/imports", nil, 401, "unauthorized"},
		{"a wrong password", "", "POST", "/api/v1/sessions", map[string]string{"email": "ada@lincoln.test", "password": "wrong password"}, 401, "invalid_credentials"},
		{"an unknown email", "", "POST", "/api/v1/sessions", map[string]string{"email": "nobody@lincoln.test", "password": "wrong password"}, 401, "invalid_credentials"},
		{"a password to change first", "new@lincoln.test", "GET", "/api/v1/imports", nil, 403, "password_change_required"},
		{"a password to change first, changing it badly", "new@lincoln.test", "POST", "/api/v1/me/password",
			map[string]string{"current_password": "a long enough password", "new_password": "short"}, 422, "password_policy"},

		// Malformed requests.
		{"not JSON", "root@lincoln.test", "POST", "/api/v1/groups", "name: 7B", 400, "malformed_request"},
		{"an unknown field", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"7B","colour":"red"}`, 400, "malformed_request"},
		{"an empty body", "root@lincoln.test", "POST", "/api/v1/groups", "", 400, "malformed_request"},
		{"a body over 1 MiB", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 400, "malformed_request"},
		{"no such route", "root@lincoln.test", "GET", "/api/v1/nothing-here", nil, 404, "not_found"},
		{"a malformed import id", "ada@lincoln.test", "GET", imp("not-an-id", ""), nil, 404, "not_found"},
		{"an unknown import id", "ada@lincoln.test", "GET", imp(uuid.NewString(), ""), nil, 404, "not_found"},
		{"a state filter that does not exist", "ada@lincoln.test", "GET", "/api/v1/imports?state=closed", nil, 400, "invalid_value"},
		{"page 0", "ada@lincoln.test", "GET", imp(validated, "/rows?page=0"), nil, 400, "invalid_value"},
		{"a row filter that does not exist", "ada@lincoln.test", "GET", imp(validated, "/rows?status=pending"), nil, 422, "invalid_value"},
		{"verification without skip or page", "ada@lincoln.test", "POST", imp(validated, "/verification"), map[string]any{}, 400, "invalid_value"},
		{"an account filter that is not an id", "root@lincoln.test", "GET", "/api/v1/accounts?group_id=staff", nil, 400, "invalid_value"},
		{"an account page that is not a number", "root@lincoln.test", "GET", "/api/v1/accounts?page=two", nil, 400, "invalid_value"},

		// Roles.
		{"a group administrator creating a group", "ada@lincoln.test", "POST", "/api/v1/groups", map[string]string{"name": "8A"}, 403, "forbidden"},
		{"a user listing tags", "uma@lincoln.test", "GET", "/api/v1/tags", nil, 403, "forbidden"},
		{"a group administrator changing settings", "ada@lincoln.test", "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true}, 403, "forbidden"},

		// Values.
		{"a blank group name", "root@lincoln.test", "POST", "/api/v1/groups", map[string]string{"name": "  "}, 422, "invalid_value"},
		{"a group name taken", "root@lincoln.test", "POST", "/api/v1/groups", map[string]string{"name": "STAFF"}, 409, "name_taken"},
		{"a mapping without email", "ada@lincoln.test", "PUT", imp(uploaded, "/mapping"), map[string]any{"columns": map[string]string{"First Name": "first_name"}}, 422, "invalid_mapping"},
		{"a default password the policy refuses", "ada@lincoln.test", "PUT", imp(withDefaults, "/defaults"), map[string]any{"password": "short"}, 422, "password_policy"},
		{"a group administrator choosing a group", "ada@lincoln.test", "PUT", imp(withDefaults, "/defaults"), map[string]any{"group_id": w.staff}, 403, "forbidden"},
		{"a page that does not exist", "ada@lincoln.test", "POST", imp(validated, "/verification"), map[string]int{"page": 3}, 422, "invalid_value"},

		// Steps.
		{"validation before the defaults", "ada@lincoln.test", "POST", imp(uploaded, "/validation"), nil, 409, "wrong_wizard_step"},
		{"commit before validation", "ada@lincoln.test", "POST", imp(withDefaults, "/commit"), nil, 409, "wrong_wizard_step"},
		{"rejected rows before validation", "ada@lincoln.test", "GET", imp(withDefaults, "/rejected.csv"), nil, 409, "wrong_wizard_step"},
		{"commit before verification", "ada@lincoln.test", "POST", imp(validated, "/commit"), nil, 409, "verification_incomplete"},
		{"existing-accounts policy before validation", "ada@lincoln.test", "PUT", imp(withDefaults, "/existing-accounts"), map[string]bool{"update_tags": true}, 409, "wrong_wizard_step"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.as == "nobody" {
				w.tokens["nobody"] = "not-a-session-token"
			}
			status, body := w.call(tt.as, tt.method, tt.path, tt.body)
			if status != tt.status || errorCode(body) != tt.code {
				t.Fatalf("%s %s: %d %v, want %d %s", tt.method, tt.path, status, body, tt.status, tt.code)
			}
			if msg := errorMessage(body); len(msg) < 15 || strings.Contains(msg, "SQLSTATE") {
				t.Fatalf("message %q", msg)
			}
		})
	}

	// A wrong step says where the import is.
	_, body := w.call("ada@lincoln.test", "POST", imp(uploaded, "/validation"), nil)
	if details, _ := body["error"].(map[string]any)["details"].(map[string]any); details["state"] != "uploaded" || details["step"] != "mapping" {
		t.Fatalf("wrong step details: %v", body)
	}
}

// Nothing of an import is visible or changeable by another organization,
// nor by another administrator of the same group: 404 for all, never 403,
// so ids of others are not confirmed.
func TestAPIImportsAreTheImportersOnly(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	id := w.startImport("ada@lincoln.test", "validated")
	routes := []struct {
		method, path string
		body         any
	}{
		{"GET", "", nil},
		{"GET", "/rows", nil},
		{"GET", "/events", nil},
		{"GET", "/rejected.csv", nil},
		{"PUT", "/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"}}},
		{"PUT", "/defaults", map[string]any{"password": "Their-Default-1"}},
		{"POST", "/validation", nil},
		{"PUT", "/existing-accounts", map[string]bool{"update_tags": true}},
		{"POST", "/verification", map[string]bool{"skip": true}},
		{"POST", "/commit", nil},
		{"DELETE", "", nil},
	}
	for _, as := range []string{"root@other.test", "ben@lincoln.test"} {
		for _, r := range routes {
			status, body := w.call(as, r.method, "/api/v1/imports/"+id+r.path, r.body)
			if status != 404 || errorCode(body) != "not_found" {
				t.Errorf("%s: %s %s: %d %v", as, r.method, r.path, status, body)
			}
		}
		if status, body := w.call(as, "GET", "/api/v1/imports", nil); status != 200 || strings.Contains(fmt.Sprint(body), id) {
			t.Errorf("%s lists %v", as, body)
		}
	}
	// Still untouched, and the importer and the system administrator see it.
	for _, as := range []string{"ada@lincoln.test", "root@lincoln.test"} {
		status, body := w.call(as, "GET", "/api/v1/imports/"+id, nil)
		if status != 200 || body["state"] != "validated" {
			t.Fatalf("%s: %d %v", as, status, body)
		}
	}
}

func TestAPIUploads(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	const as = "root@lincoln.test"
	tests := []struct {
		name   string
		file   []byte
		fields map[string]string
		status int
		code   string
	}{
		{"no file part", nil, map[string]string{"account_type": "users"}, 400, "file_missing"},
		{"welcome email neither true nor false", []byte(peopleCSV), map[string]string{"send_welcome_email": "yes"}, 422, "invalid_value"},
		{"a preset id that is not an id", []byte(peopleCSV), map[string]string{"preset_id": "student"}, 422, "invalid_value"},
		{"a preset of no one", []byte(peopleCSV), map[string]string{"preset_id": uuid.NewString()}, 422, "invalid_value"},
		{"welcome emails turned off", []byte(peopleCSV), map[string]string{"send_welcome_email": "true"}, 422, "invalid_value"},
		{"over the size limit", []byte(strings.Repeat("a,b,c@d.test\n", apiMaxUpload/10)), nil, 413, "file_too_large"},
		{"not a spreadsheet", []byte("%PDF-1.7 ..."), nil, 415, "unsupported_file_type"},
		{"accepted", []byte(peopleCSV), map[string]string{"account_type": "administrators"}, 201, ""},
	}
	for _, tt := range tests {
		status, body := w.upload(as, tt.file, tt.fields)
		if status != tt.status || errorCode(body) != tt.code {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
	// Users do not import.
	if status, body := w.upload("uma@lincoln.test", []byte(peopleCSV), nil); status != 403 || errorCode(body) != "forbidden" {
		t.Fatalf("a user's upload: %d %v", status, body)
	}
	// Not multipart at all.
	status, body := w.call(as, "POST", "/api/v1/imports", map[string]string{"file": "people.csv"})
	if status != 415 || errorCode(body) != "unsupported_media_type" {
		t.Fatalf("a JSON upload: %d %v", status, body)
	}
	// The correlation id a client sends is on the events; an overlong one is
	// replaced.
	for _, tt := range []struct {
		sent string
		kept bool
	}{{"client-req-7", true}, {strings.Repeat("x", 101), false}} {
		req := uploadRequest(t, w, []byte(peopleCSV))
		req.Header.Set("X-Correlation-ID", tt.sent)
		status, body := w.do(as, req)
		if status != 201 {
			t.Fatalf("upload: %d %v", status, body)
		}
		recorded, err := w.store.Load(context.Background(), importsession.StreamID(uuid.MustParse(body["id"].(string))))
		must(t, err)
		got := recorded[0].Metadata.CorrelationID
		if (got == tt.sent) != tt.kept || got == "" {
			t.Fatalf("sent correlation id %.20q…, recorded %q", tt.sent, got)
		}
	}
}

func uploadRequest(t *testing.T, w *apiWorld, file []byte) *http.Request {
	t.Helper()
	var body strings.Builder
	const boundary = "rollcall-test-boundary"
	fmt.Fprintf(&body, "--%s\r\nContent-Disposition: form-data; name=\"file\"; filename=\"people.csv\"\r\nContent-Type: text/csv\r\n\r\n%s\r\n--%s--\r\n", boundary, file, boundary)
	req, err := http.NewRequest("POST", w.server.URL+"/api/v1/imports", strings.NewReader(body.String()))
	must(t, err)
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	return req
}

// A failure of ours is a 500 with a generic sentence: the cause goes to the
// log, never into the answer.
func TestAPIInternalErrorsSayNothingOfTheCause(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	w.pool.Close() // the database is gone
	status, body := w.call("root@lincoln.test", "GET", "/api/v1/groups", nil)
	if status != 500 || errorCode(body) != "internal" || !strings.Contains(errorMessage(body), "Something went wrong on our side") {
		t.Fatalf("with the database gone: %d %v", status, body)
	}
	if text := fmt.Sprint(body); strings.Contains(text, "closed") || strings.Contains(text, "pool") || strings.Contains(text, "sql") {
		t.Fatalf("the answer tells the cause: %v", body)
	}
}

// StatusOf is the one table from error kinds and slugs to HTTP statuses;
// the pages answer with the same statuses.
func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{apperror.New(apperror.Invalid, "malformed-request", "x"), 400},
		{apperror.New(apperror.Unprocessable, "invalid-value", "x"), 422},
		{apperror.New(apperror.Unauthorized, "unauthorized", "x"), 401},
		{apperror.New(apperror.Forbidden, "forbidden", "x"), 403},
		{apperror.New(apperror.NotFound, "not-found", "x"), 404},
		{apperror.New(apperror.Conflict, "name-taken", "x"), 409},
		{apperror.New(apperror.TooLarge, "file-too-large", "x"), 413},
		{apperror.New(apperror.Unsupported, "unsupported-media-type", "x"), 415},
		{apperror.New(apperror.Unavailable, "google-rate-limited", "x"), 503},
		{apperror.New(apperror.Internal, "internal", "x"), 500},
		{&importsession.WrongStepError{Current: importsession.StateUploaded}, 409},
		{&importsession.VerificationIncompleteError{PagesLeft: 1}, 409},
		{&importsession.NothingToImportError{}, 409},
		{&importsession.InvalidMappingError{}, 422},
		{&importsession.InvalidValueError{Message: "x"}, 422},
		{&importsession.ForbiddenError{Reason: "x"}, 403},
		{&importsession.NotFoundError{}, 404},
		{fmt.Errorf("wrapped: %w", &importsession.NotFoundError{}), 404},
		{errors.New("anything else"), 500},
	}
	for _, tt := range tests {
		if got := rhttp.StatusOf(tt.err); got != tt.want {
			t.Errorf("StatusOf(%T %v) = %d, want %d", tt.err, tt.err, got, tt.want)
		}
	}
}
