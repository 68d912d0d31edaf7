package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// Your account: every signed-in person's own page, where they change their
// email (and find the password change); the page the emailed link opens;
// and an administrator's form to change the email of an account in reach.

func (p *Pages) registerYourAccount(r *mux.Router) {
	r.HandleFunc("/account", p.withSession(p.yourAccountPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/account/email", p.withSession(p.yourEmailSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc(command.EmailConfirmPath, p.emailConfirmPage).Methods(http.MethodGet)
	r.HandleFunc(command.EmailConfirmPath, p.emailConfirmSubmit).Methods(http.MethodPost)
	r.HandleFunc("/accounts/email", p.withSession(p.accountEmailSubmit, false)).Methods(http.MethodPost)
}

type yourAccountView struct {
	Account query.YourAccount
	// Sent is the address a link was just sent to.
	Sent     string
	NewEmail string
}

const yourAccountTitle = "Your account"

func (p *Pages) yourAccountPage(w http.ResponseWriter, r *http.Request) {
	p.renderYourAccount(w, r, http.StatusOK, "", yourAccountView{Sent: r.URL.Query().Get("sent")})
}

func (p *Pages) renderYourAccount(w http.ResponseWriter, r *http.Request, status int, problem string, v yourAccountView) {
	acc, err := p.yourAccount.Query.Handle(r.Context(), sessionFrom(r).actor)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v.Account = acc
	p.render(w, r, "your-account", status, view{Title: yourAccountTitle, Error: problem, Data: v})
}

func (p *Pages) yourEmailSubmit(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	newEmail := strings.TrimSpace(r.PostFormValue("new_email"))
	err := p.yourAccount.RequestEmail.Handle(r.Context(), command.RequestEmailChange{Actor: actor, AccountID: actor.ID, NewEmail: newEmail,
		CurrentPassword: secret.New(r.PostFormValue("current_password")), ClientAddress: rhttp.ClientAddress(r, p.trustedProxies), CorrelationID: uuid.NewString()})
	if err != nil {
		p.renderYourAccount(w, r, http.StatusUnprocessableEntity, p.message(err), yourAccountView{NewEmail: newEmail})
		return
	}
	http.Redirect(w, r, "/account?sent="+url.QueryEscape(newEmail), http.StatusSeeOther)
}

type emailConfirmView struct {
	Token, CSRF string
	Done        bool
}

// The link's page needs no session: it may be opened on another device, from
// the new mailbox. Its form carries a token derived from the link's, as the
// signed-in forms carry one derived from the session, and is refused from
// another origin. The page itself changes nothing, so a mail scanner that
// fetches links cannot confirm on the person's behalf.
func (p *Pages) emailConfirmPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// The token is in the address: no other site may see it in a Referer.
	// (Not no-referrer: the browser would then send the form's Origin as
	// "null", which sameOrigin refuses.)
	w.Header().Set("Referrer-Policy", "same-origin")
	r = p.withOptionalSession(r)
	token := r.URL.Query().Get("token")
	if token == "" {
		p.fail(w, r, command.ErrLinkUnknown())
		return
	}
	p.render(w, r, "email-confirm", http.StatusOK, view{Title: "Confirm your new email", Data: emailConfirmView{Token: token, CSRF: p.linkCSRF(token)}})
}

func (p *Pages) emailConfirmSubmit(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "same-origin")
	r = p.withOptionalSession(r)
	token := r.PostFormValue("token")
	if _, ok := p.sameOrigin(r); !ok || token == "" || !hmac.Equal([]byte(r.PostFormValue("csrf")), []byte(p.linkCSRF(token))) {
		p.expired(w)
		return
	}
	// The browser's own session stays, if it is the account's.
	keep := sessionFrom(r).token
	err := p.yourAccount.ConfirmEmail.Handle(r.Context(), command.ConfirmEmailChange{Token: secret.New(token), KeepSession: secret.New(keep)})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "email-confirm", http.StatusOK, view{Title: "Your email has changed", Data: emailConfirmView{Done: true}})
}

// withOptionalSession is r with the browser's session, when it has a valid
// one, so a page open to anyone shows who is signed in.
func (p *Pages) withOptionalSession(r *http.Request) *http.Request {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return r
	}
	login, err := p.logins.SessionLogin(r.Context(), c.Value)
	if err != nil {
		return r
	}
	role, err := tenancy.ParseRole(login.Role)
	if err != nil {
		return r
	}
	s := session{actor: tenancy.Actor{ID: login.AccountID, OrgID: login.OrgID, Email: login.Email, Role: role, GroupID: login.GroupID},
		mustChangePassword: login.MustChangePassword, token: c.Value}
	return r.WithContext(context.WithValue(r.Context(), sessionKey{}, s))
}

func (p *Pages) linkCSRF(token string) string {
	m := hmac.New(sha256.New, p.csrfKey)
	m.Write([]byte("email-confirm:" + token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// accountEmailSubmit is an administrator's change of another account's
// email, from the account's audit trail page.
func (p *Pages) accountEmailSubmit(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	id, err := uuid.Parse(r.PostFormValue("account_id"))
	if err != nil {
		p.fail(w, r, command.NoSuchAccount())
		return
	}
	current := r.PostFormValue("email")
	newEmail := strings.TrimSpace(r.PostFormValue("new_email"))
	err = p.yourAccount.RequestEmail.Handle(r.Context(), command.RequestEmailChange{Actor: actor, AccountID: id, NewEmail: newEmail, CorrelationID: uuid.NewString()})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/accounts/audit?email="+url.QueryEscape(current)+"&sent="+url.QueryEscape(newEmail), http.StatusSeeOther)
}

// accountInReach is the id of the account of email, for the form that
// changes its email ("" when the actor may not change it: no form).
func (p *Pages) accountInReach(r *http.Request, email string) string {
	actor := sessionFrom(r).actor
	page, err := p.queries.Accounts(r.Context(), actor, query.AccountFilter{Email: email})
	if err != nil || len(page.Accounts) != 1 {
		return ""
	}
	a := page.Accounts[0]
	target := tenancy.Target{ID: a.ID, OrgID: actor.OrgID, Role: tenancy.Role(a.Role)}
	if a.GroupID != nil {
		target.GroupID = *a.GroupID
	}
	if a.ID == actor.ID || !actor.CanChange(target) {
		return ""
	}
	return a.ID.String()
}
