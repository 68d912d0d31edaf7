// Package googletest is a fake Google for the tests and the development
// mode: the OAuth consent redirect (requiring PKCE S256), the token endpoint
// (checking the client secret and the verifier, issuing and refreshing
// tokens), and the Classroom REST paths Rollcall reads, with paging. It is
// labelled as fake on every response.
package googletest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"

	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Scopes the fake knows.
const (
	ScopeCourses = "https://www.googleapis.com/auth/classroom.courses.readonly"
	ScopeRosters = "https://www.googleapis.com/auth/classroom.rosters.readonly"
	ScopeEmails  = "https://www.googleapis.com/auth/classroom.profile.emails"
)

// Person is a student or teacher; an empty Email is a person whose address
// Google does not show.
type Person struct {
	ID, Email, Given, Family string
}

// Course is a class with its roster.
type Course struct {
	ID, Name, Section, OwnerEmail string
	Students, Teachers            []Person
}

// Options seed the fake.
type Options struct {
	ClientID, ClientSecret string
	User                   Person // the signed-in Google user
	Courses                []Course
	PageSize               int           // default 2, so paging is exercised
	TokenLifetime          time.Duration // default 1h
	// IDTokens shape the OpenID Connect ID tokens (SetIDTokens changes
	// them later).
	IDTokens IDTokenOptions
}

// Server is a running fake Google.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	opts     Options
	codes    map[string]grant
	access   map[string]grant
	refresh  map[string]grant
	faults   map[string][]fault
	requests []string
	grants   []TokenGrant
	deny     string   // error to return from the consent page
	granted  []string // scopes granted on consent; nil = all asked
	keys     *signingKeys
}

type grant struct {
	user                   Person
	scopes                 []string
	challenge, redirectURI string
	nonce                  string
	expires                time.Time
}

type fault struct {
	status     int
	body       string
	retryAfter string
}

// New starts a fake Google.
func New(opts Options) *Server {
	if opts.PageSize <= 0 {
		opts.PageSize = 2
	}
	if opts.TokenLifetime <= 0 {
		opts.TokenLifetime = time.Hour
	}
	s := &Server{opts: opts, codes: map[string]grant{}, access: map[string]grant{}, refresh: map[string]grant{}, faults: map[string][]fault{},
		keys: newSigningKeys()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /oauth2/v3/certs", s.jwks)
	mux.HandleFunc("GET /o/oauth2/auth", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /v1/userProfiles/me", s.api(s.me))
	mux.HandleFunc("GET /v1/courses", s.api(s.courses))
	mux.HandleFunc("GET /v1/courses/{id}/students", s.api(s.roster(false)))
	mux.HandleFunc("GET /v1/courses/{id}/teachers", s.api(s.roster(true)))
	mux.HandleFunc("PUT /fake/courses/{id}/students", s.putStudents)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Fake-Google", "true")
		s.mu.Lock()
		s.requests = append(s.requests, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	}))
	return s
}

// Start runs a fake for one test.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	t.Cleanup(s.Close)
	return s
}

// AuthURL, TokenURL and APIURL are the configuration that points Rollcall here.
func (s *Server) AuthURL() string  { return s.URL + "/o/oauth2/auth" }
func (s *Server) TokenURL() string { return s.URL + "/token" }
func (s *Server) APIURL() string   { return s.URL + "/" }

// SetUser changes the signed-in Google user.
func (s *Server) SetUser(p Person) { s.mu.Lock(); s.opts.User = p; s.mu.Unlock() }

// SetStudents replaces a class's students, as when pupils join, leave or
// are renamed in Google Classroom between two imports. It reports whether
// the class exists.
func (s *Server) SetStudents(courseID string, students []Person) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.opts.Courses, func(c Course) bool { return c.ID == courseID })
	if i < 0 {
		return false
	}
	s.opts.Courses[i].Students = slices.Clone(students)
	return true
}

// Students are a class's students now.
func (s *Server) Students(courseID string) []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.opts.Courses, func(c Course) bool { return c.ID == courseID })
	if i < 0 {
		return nil
	}
	return slices.Clone(s.opts.Courses[i].Students)
}

// putStudents is SetStudents over HTTP, for the development mode and
// black-box tests: PUT /fake/courses/{id}/students with a JSON array of
// {"id", "email", "given", "family"}. Real Google has no such path.
func (s *Server) putStudents(w http.ResponseWriter, r *http.Request) {
	var people []struct {
		ID     string `json:"id"`
		Email  string `json:"email"`
		Given  string `json:"given"`
		Family string `json:"family"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&people); err != nil {
		http.Error(w, "FAKE GOOGLE: the body must be a JSON array of {id, email, given, family}", http.StatusBadRequest)
		return
	}
	students := make([]Person, len(people))
	for i, p := range people {
		students[i] = Person{ID: p.ID, Email: p.Email, Given: p.Given, Family: p.Family}
	}
	if !s.SetStudents(r.PathValue("id"), students) {
		apiFail(w, http.StatusNotFound, "FAKE GOOGLE: no such class.", "NOT_FOUND")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// DenyConsent makes the consent page answer with error=code (e.g.
// access_denied, admin_policy_enforced); "" restores consent.
func (s *Server) DenyConsent(code string) { s.mu.Lock(); s.deny = code; s.mu.Unlock() }

// GrantScopes makes consent grant only these scopes (nil: all asked).
func (s *Server) GrantScopes(scopes []string) { s.mu.Lock(); s.granted = scopes; s.mu.Unlock() }

// ExpireAccessTokens makes every issued access token answer 401.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, g := range s.access {
		g.expires = time.Now().Add(-time.Minute)
		s.access[k] = g
	}
}

// RevokeRefreshTokens makes every refresh answer invalid_grant.
func (s *Server) RevokeRefreshTokens() { s.mu.Lock(); s.refresh = map[string]grant{}; s.mu.Unlock() }

// FailNext makes the next `times` requests to path answer status with body
// (and a Retry-After header when given).
func (s *Server) FailNext(path string, status int, body, retryAfter string, times int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[path] = append(s.faults[path], fault{status, body, retryAfter})
	}
}

// ClearFaults drops the failures FailNext queued and did not serve yet.
func (s *Server) ClearFaults() { s.mu.Lock(); s.faults = map[string][]fault{}; s.mu.Unlock() }

// TokenGrant is one request to the token endpoint: its grant_type
// (authorization_code, refresh_token), when it came, and whether a token was
// issued.
type TokenGrant struct {
	Type   string
	At     time.Time
	Issued bool
}

// TokenGrants lists the token endpoint's requests, oldest first.
func (s *Server) TokenGrants() []TokenGrant {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.grants)
}

// Requests lists what the fake was asked, "METHOD /path?query".
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.opts.ClientID || q.Get("response_type") != "code" || q.Get("redirect_uri") == "" ||
		q.Get("state") == "" || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" {
		http.Error(w, "FAKE GOOGLE (development): invalid authorization request (client_id, response_type=code, redirect_uri, state and an S256 code_challenge are required)", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := back.Query()
	v.Set("state", q.Get("state"))
	if s.deny != "" {
		v.Set("error", s.deny)
	} else {
		scopes := strings.Fields(q.Get("scope"))
		if s.granted != nil {
			scopes = slices.DeleteFunc(scopes, func(sc string) bool { return !slices.Contains(s.granted, sc) })
		}
		code := randomToken()
		s.codes[code] = grant{user: s.opts.User, scopes: scopes, challenge: q.Get("code_challenge"), redirectURI: q.Get("redirect_uri"), nonce: q.Get("nonce")}
		v.Set("code", code)
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.opts.ClientID || secret != s.opts.ClientSecret {
		tokenFail(w, http.StatusUnauthorized, "invalid_client", "The OAuth client was not found.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.grants = append(s.grants, TokenGrant{Type: r.PostForm.Get("grant_type"), At: time.Now()})
	var g grant
	var refresh string
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		code := r.PostForm.Get("code")
		var found bool
		g, found = s.codes[code]
		delete(s.codes, code)
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		if !found || g.redirectURI != r.PostForm.Get("redirect_uri") || base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
			tokenFail(w, http.StatusBadRequest, "invalid_grant", "Bad Request")
			return
		}
		refresh = randomToken()
		s.refresh[refresh] = g
	case "refresh_token":
		var found bool
		refresh = r.PostForm.Get("refresh_token")
		if g, found = s.refresh[refresh]; !found {
			tokenFail(w, http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
			return
		}
	default:
		tokenFail(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	access := randomToken()
	g.expires = time.Now().Add(s.opts.TokenLifetime)
	s.access[access] = g
	s.grants[len(s.grants)-1].Issued = true
	answer := map[string]any{"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
		"expires_in": int(s.opts.TokenLifetime.Seconds()), "scope": strings.Join(g.scopes, " ")}
	if slices.Contains(g.scopes, "openid") && r.PostForm.Get("grant_type") == "authorization_code" {
		idToken, err := s.idToken(g)
		if err != nil {
			tokenFail(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		answer["id_token"] = idToken
	}
	writeJSON(w, http.StatusOK, answer)
}

func tokenFail(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiFail(w http.ResponseWriter, status int, message, reason string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": message, "status": reason}})
}

// api checks the bearer token and injected faults before the handler.
func (s *Server) api(h func(http.ResponseWriter, *http.Request, grant)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		if f := s.faults[r.URL.Path]; len(f) > 0 {
			s.faults[r.URL.Path] = f[1:]
			s.mu.Unlock()
			if f[0].retryAfter != "" {
				w.Header().Set("Retry-After", f[0].retryAfter)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(f[0].status)
			_, _ = w.Write([]byte(f[0].body))
			return
		}
		token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		g, ok := s.access[token]
		s.mu.Unlock()
		if !ok || time.Now().After(g.expires) {
			apiFail(w, http.StatusUnauthorized, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
			return
		}
		h(w, r, g)
	}
}

func (s *Server) me(w http.ResponseWriter, _ *http.Request, g grant) {
	writeJSON(w, http.StatusOK, profile(g.user, slices.Contains(g.scopes, ScopeEmails)))
}

func profile(p Person, emails bool) map[string]any {
	out := map[string]any{"id": p.ID, "name": map[string]string{"givenName": p.Given, "familyName": p.Family, "fullName": strings.TrimSpace(p.Given + " " + p.Family)}}
	if emails && p.Email != "" {
		out["emailAddress"] = p.Email
	}
	return out
}

// page cuts items into the page the token asks for.
func page[T any](r *http.Request, items []T, size int) ([]T, string) {
	if v, err := strconv.Atoi(r.URL.Query().Get("pageSize")); err == nil && v > 0 && v < size {
		size = v
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("pageToken"))
	start = min(start, len(items))
	end := min(start+size, len(items))
	next := ""
	if end < len(items) {
		next = strconv.Itoa(end)
	}
	return items[start:end], next
}

func (s *Server) courses(w http.ResponseWriter, r *http.Request, g grant) {
	if r.URL.Query().Get("teacherId") != "me" {
		apiFail(w, http.StatusBadRequest, "teacherId=me expected by the fake", "INVALID_ARGUMENT")
		return
	}
	s.mu.Lock()
	var mine []map[string]any
	for _, c := range s.opts.Courses {
		if strings.EqualFold(c.OwnerEmail, g.user.Email) {
			mine = append(mine, map[string]any{"id": c.ID, "name": c.Name, "section": c.Section, "courseState": "ACTIVE"})
		}
	}
	s.mu.Unlock()
	items, next := page(r, mine, s.opts.PageSize)
	writeJSON(w, http.StatusOK, map[string]any{"courses": items, "nextPageToken": next})
}

func (s *Server) roster(teachers bool) func(http.ResponseWriter, *http.Request, grant) {
	return func(w http.ResponseWriter, r *http.Request, g grant) {
		id := r.PathValue("id")
		s.mu.Lock()
		idx := slices.IndexFunc(s.opts.Courses, func(c Course) bool { return c.ID == id })
		var people []Person
		if idx >= 0 {
			people = s.opts.Courses[idx].Students
			if teachers {
				people = s.opts.Courses[idx].Teachers
			}
		}
		s.mu.Unlock()
		if idx < 0 {
			apiFail(w, http.StatusNotFound, "Requested entity was not found.", "NOT_FOUND")
			return
		}
		emails := slices.Contains(g.scopes, ScopeEmails)
		var list []map[string]any
		for _, p := range people {
			list = append(list, map[string]any{"courseId": id, "userId": p.ID, "profile": profile(p, emails)})
		}
		items, next := page(r, list, s.opts.PageSize)
		key := "students"
		if teachers {
			key = "teachers"
		}
		writeJSON(w, http.StatusOK, map[string]any{key: items, "nextPageToken": next})
	}
}

// DevFixture is a small demo school for the development mode.
func DevFixture(teacherEmail string) Options {
	return Options{
		ClientID: "rollcall-dev", ClientSecret: "rollcall-dev-secret",
		User: Person{ID: "t1", Email: teacherEmail, Given: "Demo", Family: "Teacher"},
		// Sign in with Google signs the demo administrator in, as a teacher
		// of a Workspace school.
		IDTokens: IDTokenOptions{HostedDomain: "demo.school"},
		Courses: []Course{
			{ID: "c-7b", Name: "Biology 7B", Section: "Period 2", OwnerEmail: teacherEmail,
				Students: []Person{{"s1", "ana.lima@demo.school", "Ana", "Lima"}, {"s2", "bo.ek@demo.school", "Bo", "Ek"}, {"s3", "", "Cy", "Noemail"}},
				Teachers: []Person{{"t1", teacherEmail, "Demo", "Teacher"}, {"t2", "co.teacher@demo.school", "Cora", "Teach"}}},
			{ID: "c-8a", Name: "Chemistry 8A", Section: "Period 4", OwnerEmail: teacherEmail,
				Students: []Person{{"s1", "ana.lima@demo.school", "Ana", "Lima"}, {"s4", "dee.fox@demo.school", "Dee", "Fox"}}},
		},
	}
}
