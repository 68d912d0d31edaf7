package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// googleConnect follows the connect flow as a browser would: Rollcall →
// fake Google's consent → back to Rollcall's callback.
func googleConnect(t *testing.T, c *client) (int, map[string]any) {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string, bearer bool) *http.Response {
		req, _ := http.NewRequest("GET", u, nil)
		if bearer {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp := get(c.base+"/api/v1/google/connect", true)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("connect: %d", resp.StatusCode)
	}
	consent, _ := url.Parse(resp.Header.Get("Location"))
	if consent.Query().Get("code_challenge_method") != "S256" || consent.Query().Get("access_type") != "offline" {
		t.Fatalf("consent URL: %s", consent)
	}
	back, _ := url.Parse(get(consent.String(), false).Header.Get("Location"))
	// The callback is on PUBLIC_URL; the test reaches the same server.
	req, _ := http.NewRequest("GET", c.base+"/api/v1/google/callback?"+back.RawQuery, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestClassroomImportEndToEnd(t *testing.T) {
	t.Parallel()
	students := []googletest.Person{
		{ID: "s1", Email: "ana@lincoln.edu", Given: "Ana", Family: "Lima"},
		{ID: "s2", Email: "bo@lincoln.edu", Given: "Bo", Family: "Ek"},
		{ID: "s3", Email: "", Given: "Cy", Family: "Personal"},
		{ID: "s4", Email: "dee@lincoln.edu", Given: "Dee", Family: "Fox"},
		{ID: "s5", Email: "eve@lincoln.edu", Given: "Eve", Family: "Gray"},
	}
	fake := googletest.Start(t, googletest.Options{
		ClientID: "rollcall-test", ClientSecret: "test-secret", TokenLifetime: 2 * time.Second,
		User: googletest.Person{ID: "t1", Email: "ROOT@lincoln.edu", Given: "Ria", Family: "Root"},
		Courses: []googletest.Course{
			{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.edu", Students: students[:3]},
			{ID: "chem", Name: "Chemistry", Section: "8A", OwnerEmail: "root@lincoln.edu", Students: []googletest.Person{students[0], students[3], students[4]}},
		},
	})
	w := newWorld(t, "GOOGLE_CLIENT_ID=rollcall-test", "GOOGLE_CLIENT_SECRET=test-secret",
		"GOOGLE_AUTH_URL="+fake.AuthURL(), "GOOGLE_TOKEN_URL="+fake.TokenURL(), "GOOGLE_API_URL="+fake.APIURL())
	root := w.root

	if status, body := root.do("GET", "/api/v1/google/courses", nil); status != 409 || errorCode(body) != "google_not_connected" {
		t.Fatalf("courses before connecting: %d %v", status, body)
	}
	if status, body := googleConnect(t, root); status != http.StatusFound {
		t.Fatalf("callback: %d %v", status, body)
	}
	courses := root.must(200, "GET", "/api/v1/google/courses", nil)["courses"].([]any)
	if len(courses) != 2 || courses[0].(map[string]any)["students"] != 3.0 {
		t.Fatalf("courses: %v", courses)
	}

	imp := root.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio", "chem"}})
	id := imp["id"].(string)
	cls := imp["classroom"].(map[string]any)
	if imp["source"] != "google_classroom" || imp["step"] != "defaults" || cls["google_email"] != "ROOT@lincoln.edu" || len(cls["courses"].([]any)) != 2 {
		t.Fatalf("classroom import: %v", imp)
	}
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Class-Start-2026", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	counts := root.waitForState(id, "validated")["counts"].(map[string]any)
	// Ana is in both classes: one row. Cy has no visible email: a row with a reason.
	if counts["new"] != 4.0 || counts["invalid"] != 1.0 {
		t.Fatalf("counts: %v", counts)
	}
	invalid := root.must(200, "GET", "/api/v1/imports/"+id+"/rows?status=invalid", nil)["rows"].([]any)[0].(map[string]any)
	problem := invalid["problems"].([]any)[0].(map[string]any)
	if invalid["first_name"] != "Cy" || problem["code"] != "google_email_hidden" || !strings.Contains(problem["message"].(string), "personal Google account") {
		t.Fatalf("student without email: %v", invalid)
	}
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	if s := root.waitForState(id, "completed")["summary"].(map[string]any); s["created"] != 4.0 {
		t.Fatalf("summary: %v", s)
	}
	waitUntil(t, "the accounts", 30*time.Second, func() bool {
		return root.must(200, "GET", "/api/v1/accounts?import_id="+id, nil)["total"] == 4.0
	})
	if n := root.must(200, "GET", "/api/v1/accounts?email=ana@lincoln.edu", nil)["total"]; n != 1.0 {
		t.Fatalf("Ana has %v accounts", n)
	}
	events := root.must(200, "GET", "/api/v1/imports/"+id+"/events", nil)["events"].([]any)
	if first := events[0].(map[string]any); first["type"] != "ClassroomRosterFetched" {
		t.Fatalf("audit trail starts with %v", first["type"])
	}

	// The access token expires: refreshed without the administrator noticing.
	time.Sleep(2100 * time.Millisecond) // the fake's tokens live 2 s
	root.must(200, "GET", "/api/v1/google/courses", nil)
	refreshed := false
	for _, r := range fake.Requests() {
		refreshed = refreshed || strings.HasPrefix(r, "POST /token")
	}
	if !refreshed {
		t.Fatal("no token refresh happened")
	}

	// Google's refusals become clear answers.
	fake.FailNext("/v1/courses", 403, `{"error":{"code":403,"message":"@ClassroomApiDisabled The user is not permitted to access the Classroom API.","status":"PERMISSION_DENIED"}}`, "", 1)
	if status, body := root.do("GET", "/api/v1/google/courses", nil); status != 409 || errorCode(body) != "google_classroom_disabled" {
		t.Fatalf("403: %d %v", status, body)
	}
	fake.FailNext("/v1/courses", 429, `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`, "0", 10)
	if status, body := root.do("GET", "/api/v1/google/courses", nil); status != 503 || errorCode(body) != "google_rate_limited" {
		t.Fatalf("429: %d %v", status, body)
	}
	fake.RevokeRefreshTokens()
	time.Sleep(2100 * time.Millisecond)
	if status, body := root.do("GET", "/api/v1/google/courses", nil); status != 409 || errorCode(body) != "google_reconnect_required" {
		t.Fatalf("revoked: %d %v", status, body)
	}

	// Unticking a permission on the consent screen asks to connect again.
	fake.GrantScopes([]string{googletest.ScopeCourses, googletest.ScopeRosters})
	if status, body := googleConnect(t, root); status != 409 || errorCode(body) != "google_scope_missing" {
		t.Fatalf("missing scope: %d %v", status, body)
	}
	fake.GrantScopes(nil)

	// Connecting a Google account that is not the administrator's.
	fake.SetUser(googletest.Person{ID: "x", Email: "someone.else@gmail.com", Given: "Some", Family: "One"})
	status, body := googleConnect(t, root)
	msg, _ := body["error"].(map[string]any)["message"].(string)
	if status != 409 || errorCode(body) != "google_email_mismatch" || !strings.Contains(msg, "someone.else@gmail.com") || !strings.Contains(msg, "root@lincoln.edu") {
		t.Fatalf("mismatch: %d %v", status, body)
	}
}
