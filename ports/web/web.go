// Package web serves the wizard's pages: server-rendered HTML
// (html/template) with embedded assets, a cookie session, and CSRF tokens on
// every form. It calls the same application handlers as the JSON API.
package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

const sessionCookie = "rollcall_session"

// Pages serves the web pages.
type Pages struct {
	rows              rhttp.RowCorrector
	logger            *slog.Logger
	logins            command.Logins
	signIn            *command.SignInHandler
	signOutHandler    *command.SignOutHandler
	changePassword    *command.ChangePasswordHandler
	queries           *query.Queries
	wizard            *command.ImportWizard
	reference         *command.ReferenceHandler
	loginCardsHandler *command.LoginCardsHandler
	classroom         *command.Classroom
	googleSignIn      *command.GoogleSignInHandler
	sampleFile        []byte
	maxUpload         int64
	upload            rhttp.UploadLimits
	trustedProxies    []netip.Prefix
	publicOrigin      string
	csrfKey           []byte
	secureCookies     bool
	templates         map[string]*template.Template
	yourAccount       rhttp.YourAccount
}

// Deps are what the pages call.
type Deps struct {
	Logger         *slog.Logger
	Logins         command.Logins
	SignIn         *command.SignInHandler
	SignOut        *command.SignOutHandler
	ChangePassword *command.ChangePasswordHandler
	Queries        *query.Queries
	Wizard         *command.ImportWizard
	Reference      *command.ReferenceHandler
	LoginCards     *command.LoginCardsHandler
	// Rows corrects rows on the review.
	Rows rhttp.RowCorrector
	// Classroom is nil when Google is not configured: the pages then say so.
	Classroom *command.Classroom
	// GoogleSignIn is nil when Google is not configured: no Google button.
	GoogleSignIn *command.GoogleSignInHandler
	SampleFile   []byte
	Upload       rhttp.UploadLimits
	// TrustedProxies are the proxies whose X-Forwarded-For is believed.
	TrustedProxies []netip.Prefix
	// PublicURL is where people reach Rollcall: a sign-in form posted from
	// any other origin is refused.
	PublicURL string
	// CSRFKey signs the per-session CSRF tokens.
	CSRFKey []byte
	// SecureCookies marks cookies Secure (PUBLIC_URL is https).
	SecureCookies bool
	// YourAccount serves Your account and the email changes.
	YourAccount rhttp.YourAccount
}

// New parses the templates once: each page is templates/<page>.html inside
// templates/layout.html, with the partials templates/_*.html.
func New(d Deps) (*Pages, error) {
	if d.Logger == nil || d.Logins == nil || d.SignIn == nil || d.SignOut == nil || d.ChangePassword == nil || d.Queries == nil || d.Wizard == nil ||
		d.Reference == nil || d.LoginCards == nil || d.Rows == nil || len(d.SampleFile) == 0 || d.Upload.MaxBytes <= 0 || len(d.CSRFKey) == 0 || !d.YourAccount.Complete() {
		return nil, errors.New("web: New needs every dependency")
	}
	publicOrigin := ""
	if u, err := url.Parse(d.PublicURL); err == nil && u.Host != "" {
		publicOrigin = strings.ToLower(u.Scheme + "://" + u.Host)
	}
	p := &Pages{rows: d.Rows, logger: d.Logger, logins: d.Logins, signIn: d.SignIn, signOutHandler: d.SignOut, changePassword: d.ChangePassword, queries: d.Queries,
		wizard: d.Wizard, reference: d.Reference, loginCardsHandler: d.LoginCards, classroom: d.Classroom, googleSignIn: d.GoogleSignIn, sampleFile: d.SampleFile, maxUpload: d.Upload.MaxBytes,
		upload: d.Upload, trustedProxies: d.TrustedProxies, publicOrigin: publicOrigin,
		csrfKey: d.CSRFKey, secureCookies: d.SecureCookies, templates: map[string]*template.Template{}, yourAccount: d.YourAccount}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, file := range pages {
		page := strings.TrimSuffix(strings.TrimPrefix(file, "templates/"), ".html")
		if page == "layout" || strings.HasPrefix(page, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", file)
		if err != nil {
			return nil, err
		}
		p.templates[page] = t
	}
	return p, nil
}

// Register adds the pages to r.
func (p *Pages) Register(r *mux.Router) {
	static, _ := fs.Sub(staticFS, "static")
	r.PathPrefix("/static/").Handler(http.StripPrefix("/static/", http.FileServer(http.FS(static))))
	r.HandleFunc("/sign-in", p.signInPage).Methods(http.MethodGet)
	r.HandleFunc("/sign-in", p.signInSubmit).Methods(http.MethodPost)
	p.registerGoogleSignIn(r)
	r.HandleFunc("/sign-out", p.withSession(p.signOut, true)).Methods(http.MethodPost)
	r.HandleFunc("/password", p.withSession(p.passwordPage, true)).Methods(http.MethodGet)
	r.HandleFunc("/password", p.withSession(p.passwordSubmit, true)).Methods(http.MethodPost)
	r.HandleFunc("/", p.withSession(p.start, false)).Methods(http.MethodGet)
	p.registerWizard(r)
	p.registerClassroom(r)
	p.registerAccounts(r)
	p.registerSettings(r)
	p.registerYourAccount(r)
}

type sessionKey struct{}

type session struct {
	actor              tenancy.Actor
	mustChangePassword bool
	token              string
}

// withSession requires a signed-in browser; a pending password change
// sends every page but the password page there. allowPending marks the
// pages reachable while the change is pending.
func (p *Pages) withSession(h http.HandlerFunc, allowPending bool) http.HandlerFunc {
	return p.sessionHandler(h, allowPending, true)
}

// withUploadSession is withSession for the multipart upload, whose CSRF
// field the handler checks itself (validCSRF) once the form has streamed:
// reading it here would spool the file, passwords and all, to a temporary
// file in clear.
func (p *Pages) withUploadSession(h http.HandlerFunc) http.HandlerFunc {
	return p.sessionHandler(h, false, false)
}

// sessionHandler: every answer to a signed-in browser shows personal data,
// so none may be stored by the browser or a proxy.
func (p *Pages) sessionHandler(h http.HandlerFunc, allowPending, checkForm bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return
		}
		login, err := p.logins.SessionLogin(r.Context(), c.Value)
		if err != nil {
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
			return
		}
		role, err := tenancy.ParseRole(login.Role)
		if err != nil {
			http.Error(w, "unknown role", http.StatusInternalServerError)
			return
		}
		s := session{actor: tenancy.Actor{ID: login.AccountID, OrgID: login.OrgID, Email: login.Email, Role: role, GroupID: login.GroupID},
			mustChangePassword: login.PasswordChangeDue(), token: c.Value}
		if s.mustChangePassword && !allowPending {
			http.Redirect(w, r, "/password", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && checkForm && !p.validCSRF(s, r.PostFormValue("csrf")) {
			p.expired(w)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
		if !p.validValues(w, r, checkForm) {
			return
		}
		h(w, r)
	}
}

// validValues refuses a query string, or a posted form (when it has been
// read: an upload's is read as it streams), holding a NUL byte or invalid
// UTF-8, with a 400 page saying so.
func (p *Pages) validValues(w http.ResponseWriter, r *http.Request, formRead bool) bool {
	err := rhttp.CheckValues(r.URL.Query(), "address")
	if err == nil && formRead && r.Method == http.MethodPost {
		err = rhttp.CheckValues(r.PostForm, "form")
	}
	if err != nil {
		p.fail(w, r, err)
		return false
	}
	return true
}

func (p *Pages) validCSRF(s session, token string) bool {
	return hmac.Equal([]byte(token), []byte(p.csrf(s.token)))
}

func (p *Pages) expired(w http.ResponseWriter) {
	http.Error(w, "This form has expired. Go back, reload the page and try again.", http.StatusForbidden)
}

func sessionFrom(r *http.Request) session {
	s, _ := r.Context().Value(sessionKey{}).(session)
	return s
}

// csrf derives the form token from the session, so it needs no storage
// and dies with the session.
func (p *Pages) csrf(sessionToken string) string {
	m := hmac.New(sha256.New, p.csrfKey)
	m.Write([]byte("csrf:" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// view is what every page template gets.
type view struct {
	Title string
	Actor *tenancy.Actor
	CSRF  string
	Error string
	Data  any
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, page string, status int, v view) {
	if s := sessionFrom(r); s.token != "" {
		v.Actor, v.CSRF = &s.actor, p.csrf(s.token)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if err := p.templates[page].Execute(w, v); err != nil {
		p.logger.Error("render page", "page", page, "err", err)
	}
}

// message turns an error into a sentence for the page; internal detail goes
// to the log.
func (p *Pages) message(err error) string {
	if e, ok := failure.As(err); ok && e.Kind != failure.Internal {
		return e.Message
	}
	p.logger.Error("page failed", "err", err)
	return "Something went wrong on our side. Please try again."
}

// fail answers a page request that cannot go on with a page that says why,
// with the status the API would give for the same error.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := rhttp.StatusOf(err)
	title := "Something went wrong"
	switch status {
	case http.StatusNotFound:
		title = "Not found"
	case http.StatusForbidden:
		title = "Not allowed"
	case http.StatusConflict:
		title = "This step is not open"
	case http.StatusGone:
		title = "This no longer works"
	case http.StatusBadRequest:
		title = "This address or form cannot be read"
	}
	p.render(w, r, "problem", status, view{Title: title, Error: p.message(err)})
}
