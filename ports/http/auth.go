package http

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

type actorKey struct{}

// principal is the signed-in account behind a request.
type principal struct {
	actor              tenancy.Actor
	mustChangePassword bool
	token              secret.Secret
}

func actorFrom(ctx context.Context) tenancy.Actor {
	p, _ := ctx.Value(actorKey{}).(principal)
	return p.actor
}

func principalFrom(ctx context.Context) principal {
	p, _ := ctx.Value(actorKey{}).(principal)
	return p
}

// allowedWhilePasswordChangeIsDue are the routes an account that must
// change its password may call: the change itself, and signing out.
var allowedWhilePasswordChangeIsDue = map[string]string{
	"/api/v1/me/password":      http.MethodPost,
	"/api/v1/sessions/current": http.MethodDelete,
}

// authenticate turns a bearer token into the request's actor. While the
// account must change its password, only the password change (and signing
// out) is allowed. Every answer to a signed-in request carries personal
// data or a secret, so none may be stored by a browser or a proxy.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		token, ok := bearerToken(r)
		if !ok {
			a.fail(w, r, failure.New(failure.Unauthorized, "unauthorized", "Sign in first: send the token from POST /api/v1/sessions as \"Authorization: Bearer <token>\"."))
			return
		}
		login, err := a.logins.SessionLogin(r.Context(), token.Reveal())
		if errors.Is(err, command.ErrNotFound) {
			a.fail(w, r, failure.New(failure.Unauthorized, "unauthorized", "Your session has expired or is not valid. Sign in again."))
			return
		}
		if err != nil {
			a.fail(w, r, err)
			return
		}
		role, err := tenancy.ParseRole(login.Role)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		p := principal{
			actor:              tenancy.Actor{ID: login.AccountID, OrgID: login.OrgID, Email: login.Email, Role: role, GroupID: login.GroupID},
			mustChangePassword: login.PasswordChangeDue(),
			token:              token,
		}
		if p.mustChangePassword && allowedWhilePasswordChangeIsDue[r.URL.Path] != r.Method {
			a.fail(w, r, failure.New(failure.Forbidden, "password_change_required", "Choose a new password first (POST /api/v1/me/password); everything else is locked until you do."))
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), actorKey{}, p)))
	})
}

func bearerToken(r *http.Request) (secret.Secret, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return secret.Secret{}, false
	}
	return secret.New(strings.TrimSpace(token)), true
}

type signInRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type sessionAccount struct {
	ID                 uuid.UUID `json:"id"`
	OrgID              uuid.UUID `json:"org_id"`
	Role               string    `json:"role"`
	Email              string    `json:"email"`
	MustChangePassword bool      `json:"must_change_password"`
}

func (a *API) signIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var req signInRequest
	if !a.decode(w, r, &req) {
		return
	}
	session, err := a.signInHandler.Handle(r.Context(), command.SignIn{Email: req.Email, Password: secret.New(req.Password),
		ClientAddress: ClientAddress(r, a.trustedProxies)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	l := session.Login
	writeJSON(w, http.StatusOK, map[string]any{
		"token":   session.Token.Reveal(),
		"account": sessionAccount{ID: l.AccountID, OrgID: l.OrgID, Role: l.Role, Email: l.Email, MustChangePassword: l.MustChangePassword},
	})
}

type changePasswordRequest struct {
	CurrentPassword string `json:"current_password"`
	NewPassword     string `json:"new_password"`
}

func (a *API) changePassword(w http.ResponseWriter, r *http.Request) {
	var req changePasswordRequest
	if !a.decode(w, r, &req) {
		return
	}
	p := principalFrom(r.Context())
	err := a.changePasswordHandler.Handle(r.Context(), command.ChangePassword{
		AccountID:       p.actor.ID,
		CorrelationID:   correlationID(r),
		CurrentPassword: secret.New(req.CurrentPassword),
		NewPassword:     secret.New(req.NewPassword),
		KeepSession:     p.token,
		ClientAddress:   ClientAddress(r, a.trustedProxies),
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// signOut ends the session of the request's token.
func (a *API) signOut(w http.ResponseWriter, r *http.Request) {
	if err := a.signOutHandler.Handle(r.Context(), command.SignOut{Token: principalFrom(r.Context()).token}); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
