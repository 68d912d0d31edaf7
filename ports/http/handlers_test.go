package http_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/importsession"
)

const peopleCSV = "First Name,Last Name,Email\nAna,Lima,ana@lincoln.test\nBo,Ek,bo@lincoln.test\n"

// startImport uploads peopleCSV as that account and takes it to the
// stage: "uploaded", "mapped", "defaults" or "validated" (validated by the
// import job, as in production).
func (w *apiWorld) startImport(as, stage string) string {
	w.t.Helper()
	status, imp := w.upload(as, []byte(peopleCSV), nil)
	if status != 201 {
		w.t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	steps := []struct {
		stage, method, path string
		body                any
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
		w.waitFor(as, "/api/v1/imports/"+id, func(status int, body map[string]any) bool { return body["state"] == "validated" })
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
		{"a token of no session", "not-a-session-token", "GET", "/api/v1/imports", nil, 401, "unauthorized"},
		{"a wrong password", "", "POST", "/api/v1/sessions", map[string]string{"email": "ada@lincoln.test", "password": "wrong password"}, 401, "invalid_credentials"},
		{"an unknown email", "", "POST", "/api/v1/sessions", map[string]string{"email": "nobody@lincoln.test", "password": "wrong password"}, 401, "invalid_credentials"},
		{"a password to change first", "new@lincoln.test", "GET", "/api/v1/imports", nil, 403, "password_change_required"},
		{"a password to change first, reading groups", "new@lincoln.test", "GET", "/api/v1/groups", nil, 403, "password_change_required"},
		{"a password to change first, changing it badly", "new@lincoln.test", "POST", "/api/v1/me/password",
			map[string]string{"current_password": "a long enough password", "new_password": "short"}, 422, "password_policy"},

		// Malformed requests.
		{"not JSON", "root@lincoln.test", "POST", "/api/v1/groups", "name: 7B", 400, "malformed_request"},
		{"JSON cut short", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"7B"`, 400, "malformed_request"},
		{"an unknown field", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"7B","colour":"red"}`, 400, "malformed_request"},
		{"a field of the wrong type", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":7}`, 400, "malformed_request"},
		{"two JSON values", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"7B"}{"name":"8A"}`, 400, "malformed_request"},
		{"an empty body", "root@lincoln.test", "POST", "/api/v1/groups", "", 400, "malformed_request"},
		{"a body over 1 MiB", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"` + strings.Repeat("x", 1<<20) + `"}`, 400, "malformed_request"},
		{"a malformed import id", "ada@lincoln.test", "GET", imp("not-an-id", ""), nil, 404, "not_found"},
		{"an unknown import id", "ada@lincoln.test", "GET", imp(uuid.NewString(), ""), nil, 404, "not_found"},
		{"a state filter that does not exist", "ada@lincoln.test", "GET", "/api/v1/imports?state=closed", nil, 400, "invalid_value"},
		{"page 0", "ada@lincoln.test", "GET", imp(validated, "/rows?page=0"), nil, 400, "invalid_parameter"},
		{"an account filter that is not an id", "root@lincoln.test", "GET", "/api/v1/accounts?group_id=staff", nil, 400, "invalid_value"},
		{"a NUL in a value", "root@lincoln.test", "POST", "/api/v1/groups", `{"name":"7\u0000B"}`, 400, "invalid_parameter"},

		// Roles.
		{"a group administrator creating a group", "ada@lincoln.test", "POST", "/api/v1/groups", map[string]string{"name": "8A"}, 403, "forbidden"},
		{"a user listing tags", "uma@lincoln.test", "GET", "/api/v1/tags", nil, 403, "forbidden"},
		{"a user listing imports", "uma@lincoln.test", "GET", "/api/v1/imports", nil, 403, "forbidden"},
		{"a group administrator changing settings", "ada@lincoln.test", "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true}, 403, "forbidden"},

		// Values.
		{"a blank group name", "root@lincoln.test", "POST", "/api/v1/groups", map[string]string{"name": "  "}, 422, "invalid_value"},
		{"a group name taken", "root@lincoln.test", "POST", "/api/v1/groups", map[string]string{"name": "STAFF"}, 409, "name_taken"},
		{"a mapping without email", "ada@lincoln.test", "PUT", imp(uploaded, "/mapping"), map[string]any{"columns": map[string]string{"First Name": "first_name"}}, 422, "invalid_mapping"},
		{"a default password the policy refuses", "ada@lincoln.test", "PUT", imp(withDefaults, "/defaults"), map[string]any{"password": "short"}, 422, "password_policy"},
		{"a page that does not exist", "ada@lincoln.test", "POST", imp(validated, "/verification"), map[string]int{"page": 3}, 422, "invalid_value"},

		// Steps.
		{"validation before the defaults", "ada@lincoln.test", "POST", imp(uploaded, "/validation"), nil, 409, "wrong_wizard_step"},
		{"commit before validation", "ada@lincoln.test", "POST", imp(withDefaults, "/commit"), nil, 409, "wrong_wizard_step"},
		{"existing-accounts policy before validation", "ada@lincoln.test", "PUT", imp(withDefaults, "/existing-accounts"), map[string]bool{"update_tags": true}, 409, "wrong_wizard_step"},
		{"commit before verification", "ada@lincoln.test", "POST", imp(validated, "/commit"), nil, 409, "verification_incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := w.call(tt.as, tt.method, tt.path, tt.body)
			if status != tt.status || errorField(body, "code") != tt.code {
				t.Fatalf("%s %s: %d %.300v, want %d %s", tt.method, tt.path, status, body, tt.status, tt.code)
			}
			if msg := errorField(body, "message"); len(msg) < 15 || strings.Contains(msg, "SQLSTATE") {
				t.Fatalf("message %q", msg)
			}
		})
	}

	// A wrong step says where the import is.
	_, body := w.call("ada@lincoln.test", "POST", imp(uploaded, "/validation"), nil)
	if details, _ := body["error"].(map[string]any)["details"].(map[string]any); details["state"] != "uploaded" {
		t.Fatalf("wrong step details: %v", body)
	}
	// Nothing refused above changed the organization's groups.
	if status, body := w.call("root@lincoln.test", "GET", "/api/v1/groups", nil); status != 200 || strings.Count(fmt.Sprint(body), `"name"`) > 1 {
		t.Fatalf("groups after the refusals: %d %v", status, body)
	}
}

// Nothing of an import is visible or changeable by another organization,
// nor by another administrator of the same group: 404 for all, never 403,
// so ids of others are not confirmed. The importer and the organization's
// system administrator see it.
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
		{"PATCH", "/rows/1", map[string]any{"first_name": "Anna"}},
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
			t.Run(as+" "+r.method+" "+r.path, func(t *testing.T) {
				status, body := w.call(as, r.method, "/api/v1/imports/"+id+r.path, r.body)
				if status != 404 || errorField(body, "code") != "not_found" {
					t.Fatalf("%d %.300v, want 404 not_found", status, body)
				}
			})
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
	recorded, err := w.store.Load(context.Background(), importsession.StreamID(uuid.MustParse(id)))
	must(t, err)
	for _, r := range recorded {
		if r.Metadata.ActorID == w.accounts["ben@lincoln.test"].String() || r.Metadata.ActorID == w.accounts["root@other.test"].String() {
			t.Fatalf("an event of someone who may not see the import: %T %+v", r.Data, r.Metadata)
		}
	}
}

// Uploads: the file part, the form's values, the size limit and the file
// type each have their answer.
func TestAPIUploads(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	const as = "root@lincoln.test"
	tests := []struct {
		name   string
		as     string
		file   []byte
		fields map[string]string
		status int
		code   string
	}{
		{"no file part", as, nil, map[string]string{"account_type": "users"}, 400, "file_missing"},
		{"an account type that does not exist", as, []byte(peopleCSV), map[string]string{"account_type": "teachers"}, 422, "invalid_value"},
		{"welcome email neither true nor false", as, []byte(peopleCSV), map[string]string{"send_welcome_email": "yes"}, 422, "invalid_value"},
		{"a preset id that is not an id", as, []byte(peopleCSV), map[string]string{"preset_id": "student"}, 422, "invalid_value"},
		{"a preset of no one", as, []byte(peopleCSV), map[string]string{"preset_id": uuid.NewString()}, 422, "invalid_value"},
		{"welcome emails turned off", as, []byte(peopleCSV), map[string]string{"send_welcome_email": "true"}, 422, "invalid_value"},
		{"over the size limit", as, []byte(strings.Repeat("a,b,c@d.test\n", apiMaxUpload/10)), nil, 413, "file_too_large"},
		{"not a spreadsheet", as, []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n"), nil, 415, "unsupported_file_type"},
		{"a user", "uma@lincoln.test", []byte(peopleCSV), nil, 403, "forbidden"},
		{"no token", "", []byte(peopleCSV), nil, 401, "unauthorized"},
		{"accepted", as, []byte(peopleCSV), map[string]string{"account_type": "administrators"}, 201, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := w.upload(tt.as, tt.file, tt.fields)
			if status != tt.status || errorField(body, "code") != tt.code {
				t.Fatalf("%d %.300v, want %d %s", status, body, tt.status, tt.code)
			}
		})
	}
	// Not multipart at all.
	for _, ct := range []string{"application/json", "text/csv"} {
		status, body := w.callAs(as, "POST", "/api/v1/imports", peopleCSV, ct)
		if status != 415 || errorField(body, "code") != "unsupported_media_type" {
			t.Fatalf("an upload as %s: %d %v", ct, status, body)
		}
	}
}

// A failure of ours is a 500 with a generic sentence: the cause goes to the
// log, never into the answer.
func TestAPIInternalErrorsSayNothingOfTheCause(t *testing.T) {
	t.Parallel()
	w := newAPIWorld(t)
	w.pool.Close() // the database is gone
	status, body := w.call("root@lincoln.test", "GET", "/api/v1/groups", nil)
	if status != 500 || errorField(body, "code") != "internal" {
		t.Fatalf("with the database gone: %d %v", status, body)
	}
	if text := strings.ToLower(fmt.Sprint(body)); strings.Contains(text, "closed") || strings.Contains(text, "pool") || strings.Contains(text, "sql") {
		t.Fatalf("the answer tells the cause: %v", body)
	}
}
