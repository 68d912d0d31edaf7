package command

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
)

// ChangePassword sets the signed-in account's new password; it is the one
// thing an account that must change its password may do. It ends every other
// session of the account: whoever signed in with the old password is signed
// out. The session that made the change stays.
type ChangePassword struct {
	AccountID       uuid.UUID
	CorrelationID   string
	CurrentPassword secret.Secret
	NewPassword     secret.Secret
	// KeepSession is the token of the session making the change.
	KeepSession secret.Secret
	// ClientAddress is who is asking, for the sign-in throttle that
	// guards the current password (the port decides it, TRUSTED_PROXIES).
	ClientAddress netip.Addr
}

// ChangePasswordHandler handles ChangePassword.
type ChangePasswordHandler struct {
	logins   Logins
	accounts AccountWriter
	hasher   PasswordHasher
	gate     *SignInGate
	policy   PasswordPolicy
	sessions Sessions
	now      func() time.Time
}

// NewChangePasswordHandler refuses nil dependencies.
func NewChangePasswordHandler(logins Logins, accounts AccountWriter, hasher PasswordHasher, gate *SignInGate, policy PasswordPolicy, sessions Sessions, now func() time.Time) (*ChangePasswordHandler, error) {
	if logins == nil || accounts == nil || hasher == nil || gate == nil || policy == nil || sessions == nil || now == nil {
		return nil, errors.New("command: NewChangePasswordHandler needs every dependency")
	}
	return &ChangePasswordHandler{logins: logins, accounts: accounts, hasher: hasher, gate: gate, policy: policy, sessions: sessions, now: now}, nil
}

func (h *ChangePasswordHandler) Handle(ctx context.Context, cmd ChangePassword) error {
	login, err := h.logins.LoginByID(ctx, cmd.AccountID)
	if err != nil {
		return err
	}
	ok, err := h.gate.VerifyCurrentPassword(ctx, h.hasher, login, cmd.CurrentPassword, cmd.ClientAddress)
	if err != nil {
		return err
	}
	if !ok {
		return failure.New(failure.Unauthorized, "invalid_credentials", "The current password is wrong.")
	}
	if problems := h.policy(cmd.NewPassword); len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Message
		}
		e := failure.New(failure.Unprocessable, "password_policy", "%s", strings.Join(msgs, " "))
		e.Details = map[string]any{"codes": problems[0].Code}
		return e
	}
	if cmd.NewPassword.Equal(cmd.CurrentPassword) {
		return failure.New(failure.Unprocessable, "password_unchanged", "The new password is the same as the current one. Choose a different one.")
	}
	hash, err := h.hasher.HashContext(ctx, cmd.NewPassword)
	if err != nil {
		return err
	}
	if err := h.accounts.ChangePassword(ctx, account.PasswordChanged{
		AccountID: login.AccountID, ByActor: login.AccountID, MustChangePassword: false, ChangedAt: h.now().UTC(),
	}, hash, Metadata{ActorID: login.AccountID, OrgID: login.OrgID, CorrelationID: cmd.CorrelationID}); err != nil {
		return err
	}
	// After the new hash is stored, not before: a session opened with the
	// old password in between is ended too. Not inside the same transaction
	// as the change, so a failure here leaves the password changed; the
	// error then says so, and signing out elsewhere is what is left to do.
	if err := h.sessions.EndOtherSessions(context.WithoutCancel(ctx), login.AccountID, cmd.KeepSession.Reveal()); err != nil {
		return fmt.Errorf("the password was changed, but other sessions could not be ended: %w", err)
	}
	return nil
}
