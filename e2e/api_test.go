package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// client speaks JSON to a running server.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c *client) do(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var reader io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, reader)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	} else if len(raw) > 0 {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out
}

func (c *client) signIn(email, password string) map[string]any {
	c.t.Helper()
	status, body := c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password})
	if status != http.StatusOK {
		c.t.Fatalf("sign in as %s: %d %v", email, status, body)
	}
	c.token = body["token"].(string)
	return body["account"].(map[string]any)
}

func errorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func TestSignInRolesAndReferenceData(t *testing.T) {
	t.Parallel()
	env := []string{"DATABASE_URL=" + pgtest.NewDatabase(t), "ARGON2_MEMORY_KIB=8192", "ARGON2_ITERATIONS=1"}
	rollcall(t, env, "migrate")
	orgA, _ := rollcall(t, env, "org", "create", "--name", "Lincoln High")
	orgA = strings.TrimSpace(orgA)
	orgB, _ := rollcall(t, env, "org", "create", "--name", "Other District")
	orgB = strings.TrimSpace(orgB)
	rollcall(t, env, "account", "create", "--org", orgA, "--email", "Root@Lincoln.edu", "--first", "Ria", "--last", "Root",
		"--role", "system_admin", "--password", "root-password-1")
	rollcall(t, env, "account", "create", "--org", orgA, "--email", "admin@lincoln.edu", "--first", "Ada", "--last", "Admin",
		"--role", "admin", "--password", "temporary-pass", "--must-change-password")
	rollcall(t, env, "account", "create", "--org", orgB, "--email", "root@other.org", "--first", "Oli", "--last", "Other",
		"--role", "system_admin", "--password", "other-password-1")

	srv := startServer(t, env)
	anon := &client{t: t, base: srv.URL}

	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"wrong password", "POST", "/api/v1/sessions", map[string]string{"email": "root@lincoln.edu", "password": "nope-nope-nope"}, 401, "invalid_credentials"},
		{"unknown email", "POST", "/api/v1/sessions", map[string]string{"email": "ghost@lincoln.edu", "password": "root-password-1"}, 401, "invalid_credentials"},
		{"malformed body", "POST", "/api/v1/sessions", "not an object", 400, "malformed_request"},
		{"signed out", "GET", "/api/v1/groups", nil, 401, "unauthorized"},
	}
	for _, tt := range tests {
		status, body := anon.do(tt.method, tt.path, tt.body)
		if status != tt.status || errorCode(body) != tt.code {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}

	// Emails are compared case-insensitively.
	root := &client{t: t, base: srv.URL}
	account := root.signIn("ROOT@lincoln.EDU", "root-password-1")
	if account["role"] != "system_admin" || account["org_id"] != orgA || account["must_change_password"] != false {
		t.Fatalf("root account: %v", account)
	}
	if status, body := root.do("POST", "/api/v1/groups", map[string]string{"name": "Class 7B"}); status != 201 || body["name"] != "Class 7B" {
		t.Fatalf("create group: %d %v", status, body)
	}
	if status, body := root.do("POST", "/api/v1/groups", map[string]string{"name": "class 7b"}); status != 409 {
		t.Fatalf("duplicate group: %d %v", status, body)
	}
	if status, body := root.do("PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true}); status != 200 || body["welcome_email_enabled"] != true {
		t.Fatalf("patch organization: %d %v", status, body)
	}

	// The administrator must change the password before anything else.
	admin := &client{t: t, base: srv.URL}
	if acc := admin.signIn("admin@lincoln.edu", "temporary-pass"); acc["must_change_password"] != true {
		t.Fatalf("admin: %v", acc)
	}
	if status, body := admin.do("GET", "/api/v1/groups", nil); status != 403 || errorCode(body) != "password_change_required" {
		t.Fatalf("before the change: %d %v", status, body)
	}
	if status, body := admin.do("POST", "/api/v1/me/password", map[string]string{"current_password": "temporary-pass", "new_password": "short"}); status != 422 {
		t.Fatalf("weak password: %d %v", status, body)
	}
	if status, body := admin.do("POST", "/api/v1/me/password", map[string]string{"current_password": "temporary-pass", "new_password": "a much better pass"}); status != 204 {
		t.Fatalf("change password: %d %v", status, body)
	}
	status, body := admin.do("GET", "/api/v1/groups", nil)
	if status != 200 {
		t.Fatalf("after the change: %d %v", status, body)
	}
	if status, body := admin.do("POST", "/api/v1/tags", map[string]string{"name": "Robotics"}); status != 403 || errorCode(body) != "forbidden" {
		t.Fatalf("admin creating a tag: %d %v", status, body)
	}
	admin.signIn("admin@lincoln.edu", "a much better pass")

	// Another organization sees none of it.
	other := &client{t: t, base: srv.URL}
	other.signIn("root@other.org", "other-password-1")
	status, otherGroups := other.do("GET", "/api/v1/groups", nil)
	if status != 200 || otherGroups["raw"] != "[]\n" {
		t.Fatalf("other org's groups: %d %v", status, otherGroups)
	}

	if strings.Contains(srv.stderr.String(), "root-password-1") || strings.Contains(srv.stderr.String(), "a much better pass") {
		t.Fatal("a password appears in the server log")
	}
}
