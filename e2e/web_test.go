package e2e

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
)

// pageClient is a browser without JavaScript: cookies, forms, no redirects
// followed, so each answer can be checked.
type pageClient struct {
	t    *testing.T
	base string
	http *http.Client
}

func newPageClient(t *testing.T, base string) *pageClient {
	jar, _ := cookiejar.New(nil)
	return &pageClient{t: t, base: base, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

func (c *pageClient) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func (c *pageClient) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.http.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the form token a page gives.
func (c *pageClient) csrf(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no CSRF field on %s", path)
	}
	return m[1]
}

func (c *pageClient) upload(token, file string) *http.Response {
	c.t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		c.t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if token != "" {
		_ = mw.WriteField("csrf", token)
	}
	fw, _ := mw.CreateFormFile("file", file)
	_, _ = fw.Write(data)
	_ = mw.Close()
	resp, err := c.http.Post(c.base+"/imports/new", mw.FormDataContentType(), &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestPagesSessionAndCSRF(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := newPageClient(t, w.srv.URL)

	// Signed out: every page sends to the sign-in page.
	for _, path := range []string{"/", "/imports/new", "/accounts", "/settings"} {
		if resp, _ := root.get(path); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/sign-in" {
			t.Fatalf("GET %s signed out: %d → %s", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}

	resp, _ := root.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", resp.StatusCode)
	}
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "rollcall_session" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie: %+v", session)
	}
	page, body := root.get("/imports/new")
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Fatalf("CSP: %q", csp)
	}
	if !strings.Contains(body, `enctype="multipart/form-data"`) {
		t.Fatalf("upload page:\n%s", body)
	}

	// An upload without the form's token is refused, and leaves no import.
	if resp := root.upload("", "messy.csv"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("upload without CSRF token: %d", resp.StatusCode)
	}
	if resp := root.upload("forged", "messy.csv"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("upload with a forged token: %d", resp.StatusCode)
	}
	if list := w.root.must(200, "GET", "/api/v1/imports", nil)["imports"].([]any); len(list) != 0 {
		t.Fatalf("a refused upload left %d import(s)", len(list))
	}

	// With it, the upload goes on to the mapping page.
	token := root.csrf("/imports/new")
	resp = root.upload(token, "messy.csv")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Header.Get("Location"), "/mapping") {
		t.Fatalf("upload: %d → %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	mapping := resp.Header.Get("Location")
	id := strings.TrimSuffix(strings.TrimPrefix(mapping, "/imports/"), "/mapping")

	// A form posted without the token changes nothing.
	if resp, _ := root.post("/imports/"+id+"/cancel", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cancel without CSRF token: %d", resp.StatusCode)
	}
	if imp := w.root.must(200, "GET", "/api/v1/imports/"+id, nil); imp["state"] != "uploaded" {
		t.Fatalf("after a forged cancel the import is %v", imp["state"])
	}

	// The mapping page hides the file's passwords.
	_, body = root.get(mapping)
	if strings.Contains(body, "Dee-Own-Pass-42") || strings.Contains(body, "Zq7") || !strings.Contains(body, "ana.lima@lincoln.edu") {
		t.Fatalf("mapping page shows passwords or lacks the preview:\n%s", body)
	}

	// Another organization's administrator gets the not-found page for
	// every page of the import; a wrong step is a 409 page.
	other := newPageClient(t, w.srv.URL)
	other.post("/sign-in", url.Values{"email": {"taken@other.org"}, "password": {"other-password-1"}})
	for _, path := range []string{"", "/mapping", "/defaults", "/verification", "/progress", "/rejected.csv", "/status.json", "/audit"} {
		if resp, body := other.get("/imports/" + id + path); resp.StatusCode != http.StatusNotFound || strings.Contains(body, "messy.csv") {
			t.Fatalf("org B GET /imports/%s%s: %d", id, path, resp.StatusCode)
		}
	}
	otherToken := other.csrf("/imports/new")
	if resp, _ := other.post("/imports/"+id+"/cancel", url.Values{"csrf": {otherToken}}); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("org B cancels org A's import: %d", resp.StatusCode)
	}
	if resp, body := root.post("/imports/"+id+"/commit", url.Values{"csrf": {token}}); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "uploaded") {
		t.Fatalf("commit at the mapping step: %d\n%s", resp.StatusCode, body)
	}
}
