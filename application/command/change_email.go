package command

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Mail is an email a command queues in the outbox, in the command's own
// transaction. It never holds a password.
type Mail struct {
	OrgID          uuid.UUID
	IdempotencyKey string
	To             string
	Subject        string
	Text           string
}

// AccountStates reads accounts as the write side stores them, in any
// organization: the caller checks reach.
type AccountStates interface {
	ByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*account.Account, error)
	// Holders are the accounts holding these email keys, anywhere.
	Holders(ctx context.Context, keys []string) (map[string]*account.Account, error)
}

// EmailChanges keeps the email changes waiting for their link and carries
// out the confirmed ones.
type EmailChanges interface {
	// Request appends the account's pending EmailChangeRequested at the
	// version it was read at, stores the request under the hash of its
	// link's token and queues the mail holding the link, in one
	// transaction; the account's earlier requests still unused end there.
	Request(ctx context.Context, acc *account.Account, req account.EmailChangeRequest, tokenHash []byte, mail Mail, meta Metadata) error
	// Pending is the request of a token's hash (used or not); ErrNotFound
	// when there is none.
	Pending(ctx context.Context, tokenHash []byte) (account.EmailChangeRequest, error)
	// Confirm does in one transaction: mark the request used (an
	// *account.LinkError when it was used meanwhile), append the account's
	// pending EmailChanged at the version it was read at, move the email's
	// claim to the new address (an *account.EmailUnavailableError when it
	// was taken meanwhile), end the account's other requests and every
	// session of the account but keepSession's, and queue the notice.
	Confirm(ctx context.Context, acc *account.Account, tokenHash []byte, keepSession string, notice Mail, meta Metadata) error
}

// RequestEmailChange asks to move an account to a new email: the person
// themself (who must give their current password) or an administrator
// whose reach includes the account. A link goes to the new address; until
// it is followed, nothing changes.
type RequestEmailChange struct {
	Actor         tenancy.Actor
	AccountID     uuid.UUID
	NewEmail      string
	CorrelationID string
	// CurrentPassword is the actor's, asked when they change their own
	// email: a session left open on a shared computer does not suffice to
	// take the account over.
	CurrentPassword secret.Secret
	// ClientAddress is who is asking, for the sign-in throttle that
	// guards the current password.
	ClientAddress netip.Addr
}

// RequestEmailChangeHandler handles RequestEmailChange.
type RequestEmailChangeHandler struct {
	accounts  AccountStates
	changes   EmailChanges
	logins    Logins
	hasher    PasswordHasher
	gate      *SignInGate
	publicURL string
	now       func() time.Time
}

// NewRequestEmailChangeHandler refuses missing dependencies. publicURL
// starts the link in the mail.
func NewRequestEmailChangeHandler(accounts AccountStates, changes EmailChanges, logins Logins, hasher PasswordHasher, gate *SignInGate, publicURL string, now func() time.Time) (*RequestEmailChangeHandler, error) {
	if accounts == nil || changes == nil || logins == nil || hasher == nil || gate == nil || publicURL == "" || now == nil {
		return nil, errors.New("command: NewRequestEmailChangeHandler needs every dependency and the public URL")
	}
	return &RequestEmailChangeHandler{accounts: accounts, changes: changes, logins: logins, hasher: hasher, gate: gate,
		publicURL: strings.TrimSuffix(publicURL, "/"), now: now}, nil
}

// NoSuchAccount is the answer for an account that does not exist or that
// the actor may not see: the same, so ids of others' accounts reveal nothing.
func NoSuchAccount() error {
	return failure.New(failure.NotFound, "not_found", "There is no such account among the accounts you can see.")
}

func (h *RequestEmailChangeHandler) Handle(ctx context.Context, cmd RequestEmailChange) error {
	found, err := h.accounts.ByID(ctx, []uuid.UUID{cmd.AccountID})
	if err != nil {
		return err
	}
	acc := found[cmd.AccountID]
	if acc == nil || !cmd.Actor.CanView(acc.Target()) {
		return NoSuchAccount()
	}
	if cmd.Actor.ID == acc.ID() {
		// Before anything about the new address is said: without the
		// password, nobody learns whether an address is taken.
		if err := h.checkPassword(ctx, cmd.Actor.ID, cmd.CurrentPassword, cmd.ClientAddress); err != nil {
			return err
		}
	}
	to, err := account.NewEmail(cmd.NewEmail)
	if err != nil {
		return err
	}
	holders, err := h.accounts.Holders(ctx, []string{to.Key()})
	if err != nil {
		return err
	}
	req, err := acc.RequestEmailChange(cmd.Actor, to, holders[to.Key()], h.now())
	if err != nil {
		return err
	}
	token, err := newLinkToken()
	if err != nil {
		return err
	}
	return h.changes.Request(ctx, acc, req, EmailChangeTokenHash(token), h.confirmationMail(cmd.Actor, acc, req, token),
		Metadata{ActorID: cmd.Actor.ID, OrgID: acc.OrgID(), CorrelationID: cmd.CorrelationID})
}

func (h *RequestEmailChangeHandler) checkPassword(ctx context.Context, accountID uuid.UUID, pw secret.Secret, addr netip.Addr) error {
	login, err := h.logins.LoginByID(ctx, accountID)
	if err != nil {
		return err
	}
	ok, err := h.gate.VerifyCurrentPassword(ctx, h.hasher, login, pw, addr)
	if err != nil {
		return err
	}
	if !ok {
		return failure.New(failure.Unprocessable, "wrong_password", "The current password is wrong. Type the password you sign in with.")
	}
	return nil
}

// EmailConfirmPath is the page the link opens; the token follows in
// ?token=.
const EmailConfirmPath = "/account/email/confirm"

func (h *RequestEmailChangeHandler) confirmationMail(actor tenancy.Actor, acc *account.Account, req account.EmailChangeRequest, token string) Mail {
	who := "You asked"
	if actor.ID != acc.ID() {
		who = "Your administrator (" + actor.Email + ") asked"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\n%s to change the email of your Rollcall account from %s to this address, %s.\n\n", acc.FirstName(), who, req.From, req.To)
	fmt.Fprintf(&b, "To confirm, open this link within 24 hours (it works once):\n%s%s?token=%s\n\n", h.publicURL, EmailConfirmPath, token)
	fmt.Fprintf(&b, "Until you do, you sign in with %s as before.\nIf you did not expect this email, ignore it: nothing changes.\n", req.From)
	sum := EmailChangeTokenHash(token)
	return Mail{OrgID: acc.OrgID(), IdempotencyKey: fmt.Sprintf("email-change:%x", sum[:16]), To: req.To.String(),
		Subject: "Confirm your new email address for Rollcall", Text: b.String()}
}

// EmailChangeTokenHash is how a link's token is stored: only its SHA-256,
// so the table cannot change anyone's email. The token is 32 random bytes:
// no need for a slow hash.
func EmailChangeTokenHash(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

func newLinkToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// ConfirmEmailChange follows the link of an email change.
type ConfirmEmailChange struct {
	Token secret.Secret
	// KeepSession is the token of the session confirming, if any: it stays
	// when it is the account's own; every other session of the account ends.
	KeepSession   secret.Secret
	CorrelationID string
}

// ConfirmEmailChangeHandler handles ConfirmEmailChange.
type ConfirmEmailChangeHandler struct {
	accounts AccountStates
	changes  EmailChanges
	now      func() time.Time
}

// NewConfirmEmailChangeHandler refuses nil dependencies.
func NewConfirmEmailChangeHandler(accounts AccountStates, changes EmailChanges, now func() time.Time) (*ConfirmEmailChangeHandler, error) {
	if accounts == nil || changes == nil || now == nil {
		return nil, errors.New("command: NewConfirmEmailChangeHandler needs every dependency")
	}
	return &ConfirmEmailChangeHandler{accounts: accounts, changes: changes, now: now}, nil
}

// ErrLinkUnknown is the answer for a token that was never sent, or whose
// request a newer one replaced.
func ErrLinkUnknown() error {
	return failure.New(failure.NotFound, "link_unknown",
		"This link is not valid: it may be cut short, or a newer request replaced it. Open the link of the latest email, or ask for a new one from Your account.")
}

func (h *ConfirmEmailChangeHandler) Handle(ctx context.Context, cmd ConfirmEmailChange) error {
	hash := EmailChangeTokenHash(cmd.Token.Reveal())
	for attempt := 0; ; attempt++ {
		req, err := h.changes.Pending(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return ErrLinkUnknown()
		}
		if err != nil {
			return err
		}
		now := h.now()
		if err := req.Usable(now); err != nil {
			return err
		}
		found, err := h.accounts.ByID(ctx, []uuid.UUID{req.AccountID})
		if err != nil {
			return err
		}
		acc := found[req.AccountID]
		if acc == nil {
			return ErrLinkUnknown()
		}
		holders, err := h.accounts.Holders(ctx, []string{req.To.Key()})
		if err != nil {
			return err
		}
		if err := acc.ConfirmEmailChange(req, holders[req.To.Key()], now); err != nil {
			return err
		}
		err = h.changes.Confirm(ctx, acc, hash, cmd.KeepSession.Reveal(), changedNotice(acc, req, now),
			Metadata{ActorID: req.RequestedBy, OrgID: req.OrgID, CorrelationID: cmd.CorrelationID})
		var conflict *eventstore.ConcurrencyError
		if errors.As(err, &conflict) && attempt < 5 {
			continue
		}
		return err
	}
}

// changedNotice tells the old address, which may be the only one the real
// owner reads when someone else changed it.
func changedNotice(acc *account.Account, req account.EmailChangeRequest, now time.Time) Mail {
	var b strings.Builder
	fmt.Fprintf(&b, "Hello %s,\n\nyour Rollcall email was changed to %s on %s UTC.\nFrom now on you sign in with %s; this address no longer works for signing in.\n\n",
		acc.FirstName(), req.To, now.UTC().Format("2 January 2006 at 15:04"), req.To)
	b.WriteString("If this was not you, contact your administrator.\n")
	return Mail{OrgID: acc.OrgID(), IdempotencyKey: fmt.Sprintf("email-changed:%s:%d", acc.ID(), acc.Snapshot().Version), To: req.From.String(),
		Subject: "Your Rollcall email was changed", Text: b.String()}
}
