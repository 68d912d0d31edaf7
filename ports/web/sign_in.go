// Package web serves the wizard's pages: server-rendered HTML
// (html/template) with embedded assets, a cookie session, and CSRF tokens on
// every form. It calls the same application handlers as the JSON API.
package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/secret"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

func (p *Pages) signInPage(w http.ResponseWriter, r *http.Request) {
	if !p.validValues(w, r, false) {
		return
	}
	p.renderSignIn(w, r, "", nil)
}

// signInSubmit refuses a form posted from another site (login CSRF: a page
// elsewhere signing the visitor in to an account of the attacker's, so what
// they then upload lands there). Browsers send Origin on every form post,
// and Referer when Origin is missing; a request with neither is not a
// browser's and cannot carry a victim's cookies anyway.
func (p *Pages) signInSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if from, ok := p.sameOrigin(r); !ok {
		p.render(w, r, "problem", http.StatusForbidden, view{Title: "Sign in from Rollcall's own page",
			Error: fmt.Sprintf("This sign-in form was sent from another site (%s), so it was refused: another site may not sign you in. Open %s/sign-in yourself and sign in there.", from, p.signInOrigin(r))})
		return
	}
	email := r.PostFormValue("email")
	if !p.validValues(w, r, true) {
		return
	}
	session, err := p.signIn.Handle(r.Context(), command.SignIn{Email: email, Password: secret.New(r.PostFormValue("password")),
		ClientAddress: rhttp.ClientAddress(r, p.trustedProxies)})
	if err != nil {
		p.renderSignIn(w, r, email, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: session.Token.Reveal(), Path: "/", HttpOnly: true,
		Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
	to := "/"
	if session.Login.MustChangePassword {
		to = "/password"
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// signOut ends the session on the server, not only in the browser: the
// token is refused from then on, as after DELETE /api/v1/sessions/current.
func (p *Pages) signOut(w http.ResponseWriter, r *http.Request) {
	if err := p.signOutHandler.Handle(r.Context(), command.SignOut{Token: secret.New(sessionFrom(r).token)}); err != nil {
		p.fail(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: p.secureCookies, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
}

func (p *Pages) passwordPage(w http.ResponseWriter, r *http.Request) {
	p.render(w, r, "password", http.StatusOK, view{Title: "Choose a new password", Data: sessionFrom(r).mustChangePassword})
}

func (p *Pages) passwordSubmit(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	if r.PostFormValue("new_password") != r.PostFormValue("repeat_password") {
		p.render(w, r, "password", http.StatusUnprocessableEntity, view{Title: "Choose a new password", Error: "The two new passwords are not the same. Type them again.", Data: s.mustChangePassword})
		return
	}
	err := p.changePassword.Handle(r.Context(), command.ChangePassword{AccountID: s.actor.ID,
		CurrentPassword: secret.New(r.PostFormValue("current_password")), NewPassword: secret.New(r.PostFormValue("new_password")),
		KeepSession: secret.New(s.token), ClientAddress: rhttp.ClientAddress(r, p.trustedProxies)})
	if err != nil {
		p.render(w, r, "password", http.StatusUnprocessableEntity, view{Title: "Choose a new password", Error: p.message(err), Data: s.mustChangePassword})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (p *Pages) start(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	data := startView{Notice: r.URL.Query().Get("notice")}
	if s.actor.Role.CanImport() {
		var err error
		if data.Open, err = p.queries.ListImports(r.Context(), s.actor, true); err != nil {
			p.render(w, r, "start", http.StatusOK, view{Title: "Rollcall", Error: p.message(err), Data: data})
			return
		}
	}
	p.render(w, r, "start", http.StatusOK, view{Title: "Rollcall", Data: data})
}

// sameOrigin checks where a form was posted from: Origin, else Referer.
// from is the origin it came from, for the page that refuses it.
func (p *Pages) sameOrigin(r *http.Request) (from string, ok bool) {
	from = r.Header.Get("Origin")
	if from == "" {
		ref := r.Header.Get("Referer")
		if ref == "" {
			return "", true
		}
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" {
			return ref, false
		}
		from = u.Scheme + "://" + u.Host
	}
	u, err := url.Parse(from)
	if err != nil || u.Host == "" { // "null": a sandboxed or privacy-stripped origin
		return from, false
	}
	origin := strings.ToLower(u.Scheme + "://" + u.Host)
	return from, origin == p.publicOrigin || strings.EqualFold(u.Host, r.Host)
}

// signInOrigin is where the person should sign in instead.
func (p *Pages) signInOrigin(r *http.Request) string {
	if p.publicOrigin != "" {
		return p.publicOrigin
	}
	return "http://" + r.Host
}

type startView struct {
	Open   []query.Import
	Notice string
}
