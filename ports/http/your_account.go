package http

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/secret"
)

// YourAccount are the handlers of Your account, for the API and the pages.
type YourAccount struct {
	Query        *query.YourAccountQuery
	RequestEmail *command.RequestEmailChangeHandler
	ConfirmEmail *command.ConfirmEmailChangeHandler
}

// Complete reports whether every handler is there.
func (y YourAccount) Complete() bool {
	return y.Query != nil && y.RequestEmail != nil && y.ConfirmEmail != nil
}

// registerEmailConfirm adds the confirmation, which needs no session: the
// link's token is the credential, whoever's mailbox it was opened from.
func (a *API) registerEmailConfirm(r *mux.Router) {
	r.HandleFunc("/me/email/confirm", a.confirmEmail).Methods(http.MethodPost)
}

func (a *API) registerYourAccount(r *mux.Router) {
	r.HandleFunc("/me", a.me).Methods(http.MethodGet)
	r.HandleFunc("/me/email", a.requestMyEmail).Methods(http.MethodPost)
	r.HandleFunc("/accounts/{id}/email", a.requestAccountEmail).Methods(http.MethodPost)
}

type meAccount struct {
	ID                 uuid.UUID  `json:"id"`
	OrgID              uuid.UUID  `json:"org_id"`
	Email              string     `json:"email"`
	FirstName          string     `json:"first_name"`
	LastName           string     `json:"last_name"`
	Role               string     `json:"role"`
	GroupID            *uuid.UUID `json:"group_id"`
	GroupName          string     `json:"group_name,omitempty"`
	MustChangePassword bool       `json:"must_change_password"`
}

type meSignIn struct {
	At     time.Time `json:"at"`
	Method string    `json:"method"`
}

type mePendingEmail struct {
	Email     string    `json:"email"`
	ExpiresAt time.Time `json:"expires_at"`
}

// meAnswer is GET /api/v1/me.
type meAnswer struct {
	Account            meAccount       `json:"account"`
	RecentSignIns      []meSignIn      `json:"recent_sign_ins"`
	PendingEmailChange *mePendingEmail `json:"pending_email_change,omitempty"`
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	acc, err := a.yourAccount.Query.Handle(r.Context(), actorFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body := meAnswer{Account: meAccount{ID: acc.ID, OrgID: acc.OrgID, Email: acc.Email, FirstName: acc.FirstName, LastName: acc.LastName,
		Role: string(acc.Role), GroupID: optionalUUID(acc.GroupID), GroupName: acc.GroupName, MustChangePassword: acc.MustChangePassword},
		RecentSignIns: make([]meSignIn, len(acc.RecentSignIns))}
	for i, s := range acc.RecentSignIns {
		body.RecentSignIns[i] = meSignIn{At: s.At, Method: s.Method}
	}
	if acc.PendingEmail != "" {
		body.PendingEmailChange = &mePendingEmail{Email: acc.PendingEmail, ExpiresAt: acc.PendingExpires}
	}
	writeJSON(w, http.StatusOK, body)
}

func optionalUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

type myEmailRequest struct {
	NewEmail        string `json:"new_email"`
	CurrentPassword string `json:"current_password"`
}

func (a *API) requestMyEmail(w http.ResponseWriter, r *http.Request) {
	var req myEmailRequest
	if !a.decode(w, r, &req) {
		return
	}
	actor := actorFrom(r.Context())
	a.emailRequested(w, r, a.yourAccount.RequestEmail.Handle(r.Context(), command.RequestEmailChange{
		Actor: actor, AccountID: actor.ID, NewEmail: req.NewEmail, CurrentPassword: secret.New(req.CurrentPassword),
		ClientAddress: ClientAddress(r, a.trustedProxies), CorrelationID: correlationID(r)}))
}

type accountEmailRequest struct {
	NewEmail string `json:"new_email"`
}

func (a *API) requestAccountEmail(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		a.fail(w, r, command.NoSuchAccount())
		return
	}
	var req accountEmailRequest
	if !a.decode(w, r, &req) {
		return
	}
	actor := actorFrom(r.Context())
	if id == actor.ID {
		a.fail(w, r, InvalidParameter("Change your own email with POST /api/v1/me/email, which asks for your current password."))
		return
	}
	a.emailRequested(w, r, a.yourAccount.RequestEmail.Handle(r.Context(), command.RequestEmailChange{
		Actor: actor, AccountID: id, NewEmail: req.NewEmail, CorrelationID: correlationID(r)}))
}

func (a *API) emailRequested(w http.ResponseWriter, r *http.Request, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "A confirmation link was sent to the new address. The email changes when the link is followed, within 24 hours."})
}

type confirmEmailRequest struct {
	Token string `json:"token"`
}

// confirmEmail keeps the caller's session, if a bearer token of the
// account comes with the request; every other session of the account ends.
func (a *API) confirmEmail(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	var req confirmEmailRequest
	if !a.decode(w, r, &req) {
		return
	}
	if req.Token == "" {
		a.fail(w, r, InvalidParameter("Send the token from the confirmation link: {\"token\": \"…\"}."))
		return
	}
	keep, _ := bearerToken(r)
	err := a.yourAccount.ConfirmEmail.Handle(r.Context(), command.ConfirmEmailChange{Token: secret.New(req.Token), KeepSession: keep,
		CorrelationID: correlationID(r)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
