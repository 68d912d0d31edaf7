package google_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/rollcall/rollcall/infrastructure/google"
	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

const teacher = "teacher@school.org"

func fakeGoogle(t *testing.T) (*googletest.Server, *google.Client) {
	t.Helper()
	var students []googletest.Person
	for _, given := range []string{"Ana", "Bo", "Cy", "Dee", "Eve"} {
		students = append(students, googletest.Person{ID: "s" + given, Email: strings.ToLower(given) + "@school.org", Given: given, Family: "Pupil"})
	}
	students[2].Email = "" // a personal account: Google shows no email
	fake := googletest.Start(t, googletest.Options{
		ClientID: "client", ClientSecret: "secret",
		User: googletest.Person{ID: "t1", Email: teacher, Given: "Tea", Family: "Cher"},
		Courses: []googletest.Course{
			{ID: "c1", Name: "Biology", Section: "7B", OwnerEmail: teacher, Students: students,
				Teachers: []googletest.Person{{ID: "t1", Email: teacher, Given: "Tea", Family: "Cher"}, {ID: "t2", Email: "co@school.org", Given: "Co", Family: "Teacher"}}},
			{ID: "c2", Name: "Chemistry", OwnerEmail: teacher, Students: students[:1]},
			{ID: "c3", Name: "Physics", OwnerEmail: teacher},
			{ID: "other", Name: "Not mine", OwnerEmail: "someone@school.org"},
		},
	})
	client := google.New(google.Config{ClientID: "client", ClientSecret: "secret", AuthURL: fake.AuthURL(), TokenURL: fake.TokenURL(),
		APIURL: strings.TrimSuffix(fake.APIURL(), "/"), RedirectURL: "http://rollcall.test/api/v1/google/callback",
		Retry: google.Retry{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Second}})
	return fake, client
}

// consent follows the consent redirect like a browser and returns the
// callback's query.
func consent(t *testing.T, client *google.Client, verifier string) url.Values {
	t.Helper()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(client.AuthCodeURL("state-1", verifier))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("consent page: %d", resp.StatusCode)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("state") != "state-1" {
		t.Fatalf("state not returned: %s", loc)
	}
	return loc.Query()
}

func connect(t *testing.T, client *google.Client) *oauth2.Token {
	t.Helper()
	verifier := google.NewVerifier()
	back := consent(t, client, verifier)
	if err := google.ErrorFromCallback(back); err != nil {
		t.Fatal(err)
	}
	tok, err := client.Exchange(context.Background(), back.Get("code"), verifier)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestConnectListAndRosterWithPaging(t *testing.T) {
	fake, client := fakeGoogle(t)
	// The verifier must match the challenge.
	back := consent(t, client, google.NewVerifier())
	if _, err := client.Exchange(context.Background(), back.Get("code"), google.NewVerifier()); err == nil {
		t.Fatal("a wrong PKCE verifier was accepted")
	}
	tok := connect(t, client)
	if tok.RefreshToken == "" || len(google.MissingScopes(tok)) != 0 {
		t.Fatalf("token: refresh %q, missing %v", tok.RefreshToken, google.MissingScopes(tok))
	}
	ctx := context.Background()
	cr, err := client.Classroom(ctx, tok, nil)
	if err != nil {
		t.Fatal(err)
	}
	me, err := cr.Me(ctx)
	if err != nil || me.Email != teacher {
		t.Fatalf("me: %+v %v", me, err)
	}
	courses, err := cr.Courses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(courses) != 3 || courses[0].Students != 5 || courses[1].Students != 1 || courses[2].Students != 0 {
		t.Fatalf("courses (3 of them over 2 pages, with student counts): %+v", courses)
	}
	people, err := cr.Roster(ctx, "c1", true)
	if err != nil {
		t.Fatal(err)
	}
	var students, teachers, noEmail int
	for _, p := range people {
		switch p.Role {
		case "student":
			students++
		case "teacher":
			teachers++
		}
		if p.Email == "" {
			noEmail++
		}
	}
	if students != 5 || teachers != 2 || noEmail != 1 {
		t.Fatalf("roster: %d students, %d teachers, %d without email: %+v", students, teachers, noEmail, people)
	}
	pages := 0
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r, "GET /v1/courses/c1/students") {
			pages++
		}
	}
	if pages < 3 {
		t.Fatalf("5 students at 2 a page need 3 pages; the client asked %d times", pages)
	}
}

func TestMissingEmailScope(t *testing.T) {
	fake, client := fakeGoogle(t)
	fake.GrantScopes([]string{googletest.ScopeCourses, googletest.ScopeRosters})
	tok := connect(t, client)
	if missing := google.MissingScopes(tok); len(missing) != 1 || missing[0] != googletest.ScopeEmails {
		t.Fatalf("missing scopes: %v", missing)
	}
	cr, _ := client.Classroom(context.Background(), tok, nil)
	people, err := cr.Roster(context.Background(), "c1", false)
	if err != nil || len(people) != 5 || people[0].Email != "" {
		t.Fatalf("without the emails scope, people come without emails but still come: %+v %v", people, err)
	}
}

func TestTokensRefreshAndRevocation(t *testing.T) {
	fake, client := fakeGoogle(t)
	tok := connect(t, client)
	ctx := context.Background()
	// The access token expires: the client refreshes and reports the new token.
	tok.Expiry = time.Now().Add(-time.Minute)
	fake.ExpireAccessTokens()
	var refreshed *oauth2.Token
	cr, _ := client.Classroom(ctx, tok, func(t *oauth2.Token) { refreshed = t })
	if _, err := cr.Me(ctx); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if refreshed == nil || refreshed.AccessToken == tok.AccessToken {
		t.Fatal("the refreshed token was not reported")
	}
	// The refresh token is revoked: a clear "reconnect".
	fake.RevokeRefreshTokens()
	fake.ExpireAccessTokens()
	refreshed.Expiry = time.Now().Add(-time.Minute)
	cr, _ = client.Classroom(ctx, refreshed, nil)
	_, err := cr.Me(ctx)
	var gerr *google.Error
	if !errors.As(err, &gerr) || gerr.Code != "reconnect_required" {
		t.Fatalf("revoked refresh token: %v", err)
	}
}

func TestGoogleErrorsBecomeClearAnswers(t *testing.T) {
	disabled := `{"error":{"code":403,"message":"@ClassroomApiDisabled The user is not permitted to access the Classroom API.","status":"PERMISSION_DENIED"}}`
	other := `{"error":{"code":403,"message":"@ProjectPermissionDenied The developer project is not permitted.","status":"PERMISSION_DENIED"}}`
	busy := `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`
	down := `{"error":{"code":503,"message":"Backend Error","status":"UNAVAILABLE"}}`
	tests := []struct {
		name        string
		status      int
		body, after string
		times       int
		code        string // "" = succeeds after retries
	}{
		{"classroom disabled", 403, disabled, "", 1, "classroom_disabled"},
		{"other 403 reason", 403, other, "", 1, "permission_denied"},
		{"429 then success", 429, busy, "1", 1, ""},
		{"429 for ever", 429, busy, "0", 10, "rate_limited"},
		{"503 then success", 503, down, "", 2, ""},
		{"503 for ever", 503, down, "", 10, "google_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake, client := fakeGoogle(t)
			tok := connect(t, client)
			fake.FailNext("/v1/userProfiles/me", tt.status, tt.body, tt.after, tt.times)
			cr, _ := client.Classroom(context.Background(), tok, nil)
			start := time.Now()
			_, err := cr.Me(context.Background())
			if tt.code == "" {
				if err != nil {
					t.Fatalf("should have succeeded after retrying: %v", err)
				}
				if tt.after == "1" && time.Since(start) < 900*time.Millisecond {
					t.Fatalf("Retry-After: 1 was not honoured (%s)", time.Since(start))
				}
				return
			}
			var gerr *google.Error
			if !errors.As(err, &gerr) || gerr.Code != tt.code || len(gerr.Message) < 30 {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
		})
	}
}

func TestNetworkFailureAndCallbackErrors(t *testing.T) {
	fake, client := fakeGoogle(t)
	tok := connect(t, client)
	fake.Close()
	cr, _ := client.Classroom(context.Background(), tok, nil)
	_, err := cr.Me(context.Background())
	var gerr *google.Error
	if !errors.As(err, &gerr) || gerr.Code != "network" {
		t.Fatalf("closed server: %v", err)
	}
	for code, want := range map[string]string{"access_denied": "consent_denied", "admin_policy_enforced": "app_blocked", "access_not_configured": "app_blocked"} {
		err := google.ErrorFromCallback(url.Values{"error": {code}})
		if !errors.As(err, &gerr) || gerr.Code != want {
			t.Errorf("callback error=%s: %v", code, err)
		}
	}
}

func TestConsentDenied(t *testing.T) {
	fake, client := fakeGoogle(t)
	fake.DenyConsent("access_denied")
	back := consent(t, client, google.NewVerifier())
	var gerr *google.Error
	if err := google.ErrorFromCallback(back); !errors.As(err, &gerr) || gerr.Code != "consent_denied" {
		t.Fatalf("denied consent: %v", err)
	}
}

// The fake's roster can change between two reads, in Go or over HTTP (as
// the development mode's fake is changed), and the adapter reads the new one.
func TestFakeRosterChanges(t *testing.T) {
	fake, client := fakeGoogle(t)
	cr, err := client.Classroom(context.Background(), connect(t, client), nil)
	if err != nil {
		t.Fatal(err)
	}
	emails := func(course string) string {
		people, err := cr.Roster(context.Background(), course, false)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, p := range people {
			out = append(out, p.Email+"/"+p.GivenName)
		}
		return strings.Join(out, " ")
	}
	if got := emails("c2"); got != "ana@school.org/Ana" {
		t.Fatalf("Chemistry before: %s", got)
	}
	if !fake.SetStudents("c2", []googletest.Person{{ID: "sBo", Email: "bo@school.org", Given: "Bob", Family: "Pupil"}}) || fake.SetStudents("nope", nil) {
		t.Fatal("SetStudents does not say whether the class exists")
	}
	if got := emails("c2"); got != "bo@school.org/Bob" {
		t.Fatalf("Chemistry after SetStudents: %s", got)
	}
	body := `[{"id":"sAna","email":"ana@school.org","given":"Ana","family":"Pupil"},{"id":"sZed","email":"zed@school.org","given":"Zed","family":"New"}]`
	for _, tt := range []struct {
		path, body string
		status     int
	}{
		{"/fake/courses/c2/students", body, http.StatusNoContent},
		{"/fake/courses/nope/students", body, http.StatusNotFound},
		{"/fake/courses/c2/students", "not json", http.StatusBadRequest},
	} {
		req, _ := http.NewRequest("PUT", fake.URL+tt.path, strings.NewReader(tt.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Fatalf("PUT %s %q: %d, want %d", tt.path, tt.body, resp.StatusCode, tt.status)
		}
	}
	if got := emails("c2"); got != "ana@school.org/Ana zed@school.org/Zed" {
		t.Fatalf("Chemistry after the HTTP change: %s", got)
	}
}
