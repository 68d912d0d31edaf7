package e2e

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// googleWorld is a server whose Google (Classroom and Sign in with Google)
// is a fake, reached at PUBLIC_URL's host (localhost), where Google sends
// the browser back.
func googleWorld(t *testing.T, teacher googletest.Person, courses []googletest.Course) (*world, *googletest.Server, string) {
	t.Helper()
	fake := googletest.Start(t, googletest.Options{ClientID: "rollcall-test", ClientSecret: "test-secret", User: teacher, Courses: courses})
	w := newWorld(t, "GOOGLE_CLIENT_ID=rollcall-test", "GOOGLE_CLIENT_SECRET=test-secret", "GOOGLE_AUTH_URL="+fake.AuthURL(),
		"GOOGLE_TOKEN_URL="+fake.TokenURL(), "GOOGLE_API_URL="+fake.APIURL(), "GOOGLE_ISSUER_URL="+fake.IssuerURL())
	return w, fake, strings.Replace(w.srv.URL, "127.0.0.1", "localhost", 1)
}

// googleAttempt is where a Sign in with Google ended.
type googleAttempt struct {
	status   int
	location string // where a signed-in browser is sent
	code     string // the refusal's code on the sign-in page
	message  string // the refusal's sentence
	browser  *http.Client
}

var (
	refusalCode    = regexp.MustCompile(`data-code="([a-z_]+)"`)
	refusalMessage = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)
)

// signInWithGoogle follows the button as a browser does, cookies and
// all: Rollcall → the fake Google → Rollcall's callback.
func signInWithGoogle(t *testing.T, base string) googleAttempt {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(u string) *http.Response {
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(base + "/sign-in/google")
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("/sign-in/google: %d", resp.StatusCode)
	}
	at, _ := url.Parse(resp.Header.Get("Location"))
	if q := at.Query(); q.Get("nonce") == "" || q.Get("state") == "" || q.Get("code_challenge_method") != "S256" || !strings.Contains(q.Get("scope"), "openid") {
		t.Fatalf("the sign-in page at Google: %s", at)
	}
	resp = get(at.String())
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, base+"/sign-in/google/callback?") {
		t.Fatalf("Google sent the browser to %q", back)
	}
	resp = get(back)
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	a := googleAttempt{status: resp.StatusCode, location: resp.Header.Get("Location"), browser: browser}
	if m := refusalCode.FindSubmatch(page); m != nil {
		a.code = string(m[1])
	}
	if m := refusalMessage.FindSubmatch(page); m != nil {
		a.message = html.UnescapeString(string(m[1]))
	}
	if resp.StatusCode >= 500 {
		t.Fatalf("the callback answered %d: %s", resp.StatusCode, page)
	}
	return a
}

// requireRefused checks a refusal: its status, code and words, shown on the
// sign-in page, and no session.
func requireRefused(t *testing.T, what string, a googleAttempt, status int, code, says string) {
	t.Helper()
	if a.status != status || a.code != code || !strings.Contains(a.message, says) {
		t.Fatalf("%s: %d %q %q; want %d %s saying %q", what, a.status, a.code, a.message, status, code, says)
	}
}

// signedInPage is what the browser's session shows at path (following no
// redirect: a session that does not work is sent to /sign-in).
func (a googleAttempt) get(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := a.browser.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(page)
}

func TestSignInWithGoogle(t *testing.T) {
	t.Parallel()
	teacher := googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"}
	ana := googletest.Person{ID: "s1", Email: "Ana.Lima@lincoln.edu", Given: "Ana", Family: "Lima"}
	w, fake, base := googleWorld(t, teacher, []googletest.Course{{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: teacher.Email,
		Students: []googletest.Person{ana, {ID: "s2", Email: "bo@lincoln.edu", Given: "Bo", Family: "Ek"}}}})
	root := w.root

	// Ana comes in by a Classroom import whose default password must be
	// changed at first sign-in.
	if status, body := googleConnect(t, root); status != http.StatusFound {
		t.Fatalf("connect Classroom: %d %v", status, body)
	}
	id := root.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio"}})["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Class-Start-2026", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	root.waitForState(id, "validated")
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")

	// The sign-in page offers Google.
	if _, page := (googleAttempt{browser: http.DefaultClient}).get(t, base, "/sign-in"); !strings.Contains(page, `id="google-sign-in"`) {
		t.Fatal("no Sign in with Google button on the sign-in page")
	}

	// Ana signs in with her Google account (its email in another case):
	// the session works, and her pending password change does not stop it.
	fake.SetUser(googletest.Person{ID: "s1", Email: "ana.lima@LINCOLN.edu", Given: "Ana", Family: "Lima"})
	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "lincoln.edu"})
	signedIn := signInWithGoogle(t, base)
	if signedIn.status != http.StatusSeeOther || signedIn.location != "/" {
		t.Fatalf("Ana's Google sign-in: %d to %q (%s %s)", signedIn.status, signedIn.location, signedIn.code, signedIn.message)
	}
	if status, page := signedIn.get(t, base, "/"); status != http.StatusOK || !strings.Contains(page, "Ana.Lima@lincoln.edu") {
		t.Fatalf("Ana's session: %d\n%s", status, page)
	}
	// Audited, with its method.
	waitUntil(t, "the Google sign-in in Ana's audit trail", 30*time.Second, func() bool {
		for _, e := range root.must(200, "GET", "/api/v1/accounts/audit?email=ana.lima@lincoln.edu", nil)["events"].([]any) {
			ev := e.(map[string]any)
			if ev["type"] == "SignedIn" && ev["data"].(map[string]any)["Method"] == "google" && ev["sentence"] == "Signed in with Google" {
				return true
			}
		}
		return false
	})
	// The default password is still the backup, and must be changed the
	// first time it is used.
	anaPassword := &client{t: t, base: w.srv.URL}
	if acc := anaPassword.signIn("ana.lima@lincoln.edu", "Class-Start-2026"); acc["must_change_password"] != true {
		t.Fatalf("after a Google sign-in, the password sign-in: %v", acc)
	}
	if status, body := anaPassword.do("GET", "/api/v1/groups", nil); status != 403 || errorCode(body) != "password_change_required" {
		t.Fatalf("a password session of Ana's before the change: %d %v", status, body)
	}

	// Refusals, each with its own sentence on the sign-in page.
	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "lincoln.edu", EmailUnverified: true})
	requireRefused(t, "unverified email", signInWithGoogle(t, base), 401, "google_email_unverified", "is not verified")

	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "lincoln.edu"})
	fake.SetUser(googletest.Person{ID: "n1", Email: "nobody@lincoln.edu", Given: "No", Family: "Body"})
	requireRefused(t, "no account", signInWithGoogle(t, base), 401, "google_account_unknown", "ask your administrator")

	// A forged, an expired and another application's token fail alike.
	fake.SetUser(ana)
	for name, tokens := range map[string]googletest.IDTokenOptions{
		"signed by another key": {HostedDomain: "lincoln.edu", ForeignKey: true},
		"expired":               {HostedDomain: "lincoln.edu", Expired: true},
		"for another audience":  {HostedDomain: "lincoln.edu", Audience: "another-app.apps.googleusercontent.com"},
	} {
		fake.SetIDTokens(tokens)
		requireRefused(t, name, signInWithGoogle(t, base), 401, "google_sign_in_failed", "Google sign-in failed")
	}

	// The other organization allows its own Workspace domain only.
	other := w.other
	if status, body := other.do("PATCH", "/api/v1/organization", map[string]any{"google_sign_in_domains": []string{"https://other.org"}}); status != 422 || errorCode(body) != "invalid_value" {
		t.Fatalf("a URL for a domain: %d %v", status, body)
	}
	if org := other.must(200, "PATCH", "/api/v1/organization", map[string]any{"google_sign_in_domains": []string{"Other.org"}}); org["google_sign_in_enabled"] != true ||
		len(org["google_sign_in_domains"].([]any)) != 1 || org["google_sign_in_domains"].([]any)[0] != "other.org" {
		t.Fatalf("organization: %v", org)
	}
	kim := &client{t: t, base: w.srv.URL}
	kim.signIn("kim.existing@lincoln.edu", "kims-password-1")
	if status, body := kim.do("PATCH", "/api/v1/organization", map[string]any{"google_sign_in_enabled": false}); status != 403 {
		t.Fatalf("a user turns Google sign-in off: %d %v", status, body)
	}
	fake.SetUser(googletest.Person{ID: "o1", Email: "taken@other.org", Given: "Tia", Family: "Taken"})
	fake.SetIDTokens(googletest.IDTokenOptions{})
	requireRefused(t, "a personal Google account where a domain is required", signInWithGoogle(t, base), 403, "google_domain_not_allowed", "only with accounts of other.org")
	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "lincoln.edu"})
	requireRefused(t, "another organization's domain", signInWithGoogle(t, base), 403, "google_domain_not_allowed", "a Google account of lincoln.edu")
	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "other.org"})
	if a := signInWithGoogle(t, base); a.status != http.StatusSeeOther {
		t.Fatalf("the allowed domain: %d %s %s", a.status, a.code, a.message)
	}
	other.must(200, "PATCH", "/api/v1/organization", map[string]any{"google_sign_in_enabled": false})
	requireRefused(t, "turned off", signInWithGoogle(t, base), 403, "google_sign_in_off", "turned Sign in with Google off")
	// Lincoln High's rules are its own.
	fake.SetUser(ana)
	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "lincoln.edu"})
	if a := signInWithGoogle(t, base); a.status != http.StatusSeeOther {
		t.Fatalf("Ana, after the other organization turned it off: %d %s %s", a.status, a.code, a.message)
	}

	// Undoing the import deactivates Ana: Google does not let her in.
	root.must(202, "POST", "/api/v1/imports/"+id+"/undo", nil)
	root.waitForState(id, "undone")
	requireRefused(t, "deactivated", signInWithGoogle(t, base), 401, "account_deactivated", "deactivated")
	// Her Google session ended with the deactivation.
	if status, _ := signedIn.get(t, base, "/"); status != http.StatusSeeOther {
		t.Fatalf("Ana's Google session after the undo: %d", status)
	}
}

// A callback that is not this browser's sign-in (the attacker's own code
// and state, planted as a link) signs the victim in to nothing: login CSRF.
func TestGoogleCallbackFromAnotherBrowser(t *testing.T) {
	t.Parallel()
	teacher := googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"}
	_, _, base := googleWorld(t, teacher, nil)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	location := func(u string) string {
		resp, err := noFollow.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	// The attacker starts a sign-in and stops at Google's redirect back.
	planted := location(location(base + "/sign-in/google"))
	if !strings.Contains(planted, "/sign-in/google/callback?") {
		t.Fatalf("redirect back: %q", planted)
	}
	resp, err := noFollow.Get(planted) // the victim's browser, without the state cookie
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	page, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || !strings.Contains(string(page), `data-code="google_state_invalid"`) {
		t.Fatalf("a planted callback: %d\n%s", resp.StatusCode, page)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "rollcall_session" {
			t.Fatalf("a planted callback set a session cookie")
		}
	}
}
