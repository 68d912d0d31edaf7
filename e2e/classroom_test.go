package e2e

import (
	"encoding/json"
	"fmt"
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
	// x/oauth2 counts a token as expired 10 s before its expiry: the fake's
	// 15 s tokens are used for 5 s, then refreshed.
	const tokenLifetime, usedFor = 15 * time.Second, 5 * time.Second
	fake := googletest.Start(t, googletest.Options{
		ClientID: "rollcall-test", ClientSecret: "test-secret", TokenLifetime: tokenLifetime,
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

	// The access token expires: it is refreshed, without the administrator
	// noticing, once expired and never sooner.
	before := len(refreshGrants(fake.TokenGrants()))
	waitUntil(t, "a refresh of the expired access token", 3*usedFor, func() bool {
		root.must(200, "GET", "/api/v1/google/courses", nil)
		return len(refreshGrants(fake.TokenGrants())) > before
	})
	// The refreshed token is kept and used: the next calls, well within its
	// life, refresh nothing.
	for range 3 {
		root.must(200, "GET", "/api/v1/google/courses", nil)
	}
	requireRefreshOnlyOnExpiry(t, fake.TokenGrants(), usedFor)

	// Google's refusals become clear answers.
	fake.FailNext("/v1/courses", 403, `{"error":{"code":403,"message":"@ClassroomApiDisabled The user is not permitted to access the Classroom API.","status":"PERMISSION_DENIED"}}`, "", 1)
	if status, body := root.do("GET", "/api/v1/google/courses", nil); status != 409 || errorCode(body) != "google_classroom_disabled" {
		t.Fatalf("403: %d %v", status, body)
	}
	fake.FailNext("/v1/courses", 429, `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`, "0", 10)
	if status, body := root.do("GET", "/api/v1/google/courses", nil); status != 503 || errorCode(body) != "google_rate_limited" {
		t.Fatalf("429: %d %v", status, body)
	}
	fake.ClearFaults()
	// Revoked at Google: the token in hand works until it expires, then the
	// refresh is refused and the administrator is asked to connect again.
	fake.RevokeRefreshTokens()
	var status int
	var body map[string]any
	waitUntil(t, "the revoked connection to be refused", 3*usedFor, func() bool {
		status, body = root.do("GET", "/api/v1/google/courses", nil)
		return status != 200
	})
	if status != 409 || errorCode(body) != "google_reconnect_required" {
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
	status, body = googleConnect(t, root)
	msg, _ := body["error"].(map[string]any)["message"].(string)
	if status != 409 || errorCode(body) != "google_email_mismatch" || !strings.Contains(msg, "someone.else@gmail.com") || !strings.Contains(msg, "root@lincoln.edu") {
		t.Fatalf("mismatch: %d %v", status, body)
	}
	requireRefreshOnlyOnExpiry(t, fake.TokenGrants(), usedFor)
}

func refreshGrants(grants []googletest.TokenGrant) []googletest.TokenGrant {
	var out []googletest.TokenGrant
	for _, g := range grants {
		if g.Type == "refresh_token" && g.Issued {
			out = append(out, g)
		}
	}
	return out
}

// requireRefreshOnlyOnExpiry fails the test unless every token refresh came
// at least usedFor after the token before it was issued: a client that
// refreshed on every call, or forgot the refreshed token, would refresh
// sooner.
func requireRefreshOnlyOnExpiry(t *testing.T, grants []googletest.TokenGrant, usedFor time.Duration) {
	t.Helper()
	var last time.Time
	for _, g := range grants {
		if !g.Issued {
			continue
		}
		// A little slack: the fake stamps a grant before the client has it.
		if g.Type == "refresh_token" && g.At.Sub(last) < usedFor-200*time.Millisecond {
			var history []string
			for _, h := range grants {
				history = append(history, fmt.Sprintf("%s@+%s", h.Type, h.At.Sub(grants[0].At).Round(10*time.Millisecond)))
			}
			t.Fatalf("a token was refreshed %s after the previous one was issued, before it expired (%s); token requests: %v",
				g.At.Sub(last).Round(time.Millisecond), usedFor, history)
		}
		last = g.At
	}
}
