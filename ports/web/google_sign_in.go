package web

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// googleStateCookie holds the sealed pending sign-in while the browser is
// at Google. Lax, so it comes back on Google's top-level redirect; scoped
// to the callback's path, so no other page sees it.
const googleStateCookie = "rollcall_google_sign_in"

const googleCallbackPath = "/sign-in/google/callback"

// signInData is the sign-in page.
type signInData struct {
	Email string
	// Google shows the "Sign in with Google" button (GOOGLE_CLIENT_ID set).
	Google bool
	// Code is the refusal's code, for scripts and tests reading the page.
	Code string
}

func (p *Pages) registerGoogleSignIn(r *mux.Router) {
	if p.googleSignIn == nil {
		return
	}
	r.HandleFunc("/sign-in/google", p.googleSignInStart).Methods(http.MethodGet)
	r.HandleFunc(googleCallbackPath, p.googleSignInCallback).Methods(http.MethodGet)
}

// renderSignIn shows the sign-in page, with the refusal err when there is
// one, at the status the API would give it.
func (p *Pages) renderSignIn(w http.ResponseWriter, r *http.Request, email string, err error) {
	data := signInData{Email: email, Google: p.googleSignIn != nil}
	status, message := http.StatusOK, ""
	if err != nil {
		rhttp.SetRetryAfter(w, err)
		status, message = rhttp.StatusOf(err), p.message(err)
		if f, ok := failure.As(err); ok {
			data.Code = f.Code
		}
	}
	p.render(w, r, "sign-in", status, view{Title: "Sign in", Error: message, Data: data})
}

// googleSignInStart sends the browser to Google with a fresh state, nonce
// and PKCE verifier, which it keeps sealed in a cookie until it is back.
func (p *Pages) googleSignInStart(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	to, sealed, err := p.googleSignIn.Start(r.Context())
	if err != nil {
		p.renderSignIn(w, r, "", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: googleStateCookie, Value: sealed, Path: googleCallbackPath, MaxAge: 600, HttpOnly: true,
		Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusFound)
}

// googleSignInCallback finishes the sign-in; each refusal is shown on the
// sign-in page with its own sentence. The state cookie is spent either way.
func (p *Pages) googleSignInCallback(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !p.validValues(w, r, false) {
		return
	}
	sealed := ""
	if c, err := r.Cookie(googleStateCookie); err == nil {
		sealed = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: googleStateCookie, Value: "", Path: googleCallbackPath, MaxAge: -1, HttpOnly: true,
		Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
	session, err := p.googleSignIn.Finish(r.Context(), command.FinishGoogleSignIn{Query: r.URL.Query(), Sealed: sealed,
		ClientAddress: rhttp.ClientAddress(r, p.trustedProxies)})
	if err != nil {
		p.renderSignIn(w, r, "", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session.Token.Reveal(), Path: "/", HttpOnly: true,
		Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
	// A Google session is not sent to choose a password: that password is
	// the backup, changed the first time it is used.
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
