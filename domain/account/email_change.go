package account

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Changing an account's email, its sign-in name, takes two steps: a request
// sends a link to the new address; following it makes the change. Until
// then the old address stays, so a mistyped address locks nobody out and an
// address nobody reads never becomes anyone's sign-in name.

// EmailChangeLifetime is how long the link of a request may be followed.
const EmailChangeLifetime = 24 * time.Hour

// EmailChanged: the account's email is now To. RequestedBy asked for it (the
// person, or an administrator whose reach includes the account); whoever
// reads the mail of To followed the link.
type EmailChanged struct {
	AccountID   uuid.UUID
	From        string
	To          string
	RequestedBy uuid.UUID
	ChangedAt   time.Time
}

func (EmailChanged) EventType() string { return "EmailChanged" }

// EmailChangeRequested: a link went to To; following it before ExpiresAt
// makes To the account's email. It changes nothing yet: it is on the
// account's stream so that its audit trail says who asked for which
// address, confirmed or not.
type EmailChangeRequested struct {
	AccountID   uuid.UUID
	From        string
	To          string
	RequestedBy uuid.UUID
	ExpiresAt   time.Time
	RequestedAt time.Time
}

func (EmailChangeRequested) EventType() string { return "EmailChangeRequested" }

// EmailEvents lists a sample of every email change event of an account's
// stream, for the codec registry.
func EmailEvents() []interface{ EventType() string } {
	return []interface{ EventType() string }{EmailChangeRequested{}, EmailChanged{}}
}

// EmailChangeRequest is a change waiting for its link to be followed.
type EmailChangeRequest struct {
	AccountID   uuid.UUID
	OrgID       uuid.UUID
	From        Email
	To          Email
	RequestedBy uuid.UUID
	ExpiresAt   time.Time
	// UsedAt is when the link was followed (zero: not yet).
	UsedAt time.Time
}

// EmailUnavailableError: the address already belongs to an account, in this
// organization or another. It does not say which, nor where: that would
// tell a stranger who has an account.
type EmailUnavailableError struct {
	Email Email
}

func (e *EmailUnavailableError) Error() string {
	return fmt.Sprintf("The email %s cannot be used here: each address can belong to one account only. Use another address for this person.", e.Email)
}

// Failure says it in the common vocabulary.
func (e *EmailUnavailableError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Unprocessable, Code: "email_unavailable", Message: e.Error()}
}

// ClaimableBy is the one rule of email ownership: an address belongs to one
// account at most, whatever the organization and casing. holder is the
// account that holds the address now (nil: none).
func ClaimableBy(email Email, accountID uuid.UUID, holder *Account) error {
	if holder != nil && holder.id != accountID {
		return &EmailUnavailableError{Email: email}
	}
	return nil
}

// NotAllowedError: the actor may see the account but not change its email.
type NotAllowedError struct {
	SystemAdmin bool // the account is a system administrator's
}

func (e *NotAllowedError) Error() string {
	if e.SystemAdmin {
		return "A system administrator's email can only be changed by that person, from Your account."
	}
	return "You may not change this account's email: a group administrator changes the emails of users of their own group only. Ask a system administrator."
}

// Failure says it in the common vocabulary.
func (e *NotAllowedError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Forbidden, Code: "not_allowed_to_change", Message: e.Error()}
}

// LinkError: a confirmation link that can no longer be followed.
type LinkError struct {
	Code string // link_used, link_expired, link_outdated
}

func (e *LinkError) Error() string {
	switch e.Code {
	case "link_used":
		return "This link was used already: each confirmation link works once. If the email did not change, ask for a new link from Your account."
	case "link_expired":
		return "This link has expired: a confirmation link works for 24 hours. Ask for a new one from Your account."
	}
	return "This link is out of date: the account's email changed after it was sent. Ask for a new one from Your account."
}

// Failure says it in the common vocabulary.
func (e *LinkError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Gone, Code: e.Code, Message: e.Error()}
}

// RequestEmailChange decides whether actor may move the account to the
// address to, held now by holder (nil: nobody): the person themself, or
// someone whose reach includes the account (tenancy.Actor.CanChange, the
// reach of imports). It records EmailChangeRequested for the audit trail;
// the email changes on confirmation only.
func (a *Account) RequestEmailChange(actor tenancy.Actor, to Email, holder *Account, now time.Time) (EmailChangeRequest, error) {
	if actor.ID != a.id && !actor.CanChange(a.Target()) {
		return EmailChangeRequest{}, &NotAllowedError{SystemAdmin: a.role.IsSystemAdmin()}
	}
	if !a.active {
		return EmailChangeRequest{}, errDeactivated()
	}
	if to.IsZero() {
		return EmailChangeRequest{}, &EmailError{Code: "email_missing"}
	}
	if to.Key() == a.email.Key() {
		return EmailChangeRequest{}, failure.New(failure.Unprocessable, "email_unchanged",
			"%s is already this account's email. Type the new address.", a.email)
	}
	if err := ClaimableBy(to, a.id, holder); err != nil {
		return EmailChangeRequest{}, err
	}
	req := EmailChangeRequest{AccountID: a.id, OrgID: a.orgID, From: a.email, To: to, RequestedBy: actor.ID,
		ExpiresAt: now.UTC().Add(EmailChangeLifetime)}
	a.record(EmailChangeRequested{AccountID: a.id, From: a.email.String(), To: to.String(), RequestedBy: actor.ID,
		ExpiresAt: req.ExpiresAt, RequestedAt: now.UTC()})
	return req, nil
}

func errDeactivated() error {
	return failure.New(failure.Unprocessable, "account_deactivated",
		"This account is deactivated; its email cannot change until it is active again.")
}

// Usable says whether the request's link may still be followed.
func (r EmailChangeRequest) Usable(now time.Time) error {
	switch {
	case !r.UsedAt.IsZero():
		return &LinkError{Code: "link_used"}
	case !now.Before(r.ExpiresAt):
		return &LinkError{Code: "link_expired"}
	}
	return nil
}

// ConfirmEmailChange follows a request's link: the account's email becomes
// the requested one, unless the link is used or expired, the email changed
// meanwhile (a newer request won), or the address was taken since it was
// asked for (holder holds it now; nil: nobody), or the account was
// deactivated meanwhile.
func (a *Account) ConfirmEmailChange(r EmailChangeRequest, holder *Account, now time.Time) error {
	if r.AccountID != a.id {
		return errors.New("account: a request of another account")
	}
	if err := r.Usable(now); err != nil {
		return err
	}
	if !a.active {
		return errDeactivated()
	}
	if r.From.Key() != a.email.Key() {
		return &LinkError{Code: "link_outdated"}
	}
	if err := ClaimableBy(r.To, a.id, holder); err != nil {
		return err
	}
	a.record(EmailChanged{AccountID: a.id, From: a.email.String(), To: r.To.String(), RequestedBy: r.RequestedBy, ChangedAt: now.UTC()})
	return nil
}
