package command

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
)

// SignIn exchanges an email and password for a bearer token.
type SignIn struct {
	Email    string
	Password secret.Secret
	// ClientAddress is who is asking, for the throttle (the port decides
	// whether a proxy's X-Forwarded-For is believed).
	ClientAddress netip.Addr
}

// Session is a signed-in account.
type Session struct {
	Token secret.Secret
	Login Login
}

// SignInHandler handles SignIn.
type SignInHandler struct {
	logins Logins
	hasher PasswordHasher
	gate   *SignInGate
	logger *slog.Logger
	// busyWait is how long an attempt waits for a hashing slot before the
	// answer is 503 busy: a flood queues briefly, then is turned away.
	busyWait time.Duration
	// dummyHash is verified against when the email is unknown, so the
	// answer takes as long as for a known one and does not reveal which
	// emails exist. It is made by the same hasher, with the configured cost.
	dummyHash string
}

// SignInBusyWait is how long a sign-in waits for a free hashing slot.
const SignInBusyWait = 2 * time.Second

// NewSignInHandler refuses nil dependencies. It hashes once, to make the
// stand-in hash for unknown emails with the hasher's own cost.
func NewSignInHandler(logins Logins, hasher PasswordHasher, gate *SignInGate, logger *slog.Logger) (*SignInHandler, error) {
	if logins == nil || hasher == nil || gate == nil || logger == nil {
		return nil, errors.New("command: NewSignInHandler needs logins, a hasher, the sign-in gate and a logger")
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	dummy, err := hasher.HashContext(context.Background(), secret.New(base64.RawURLEncoding.EncodeToString(raw)))
	if err != nil {
		return nil, err
	}
	return &SignInHandler{logins: logins, hasher: hasher, gate: gate, logger: logger, busyWait: SignInBusyWait, dummyHash: dummy}, nil
}

// Busy is the answer when every hashing slot stayed taken.
func Busy() error {
	e := failure.New(failure.Unavailable, "busy", "Rollcall is busy signing other people in. Try again in a moment.")
	e.RetryAfter = time.Second
	return e
}

// Handle answers invalid_credentials for an unknown email and a wrong
// password alike, 429 too_many_attempts while the throttle says wait, and
// 503 busy when no hashing slot freed up in time.
func (h *SignInHandler) Handle(ctx context.Context, cmd SignIn) (Session, error) {
	attempt, err := h.gate.Begin(ctx, cmd.Email, cmd.ClientAddress)
	if err != nil {
		return Session{}, err
	}
	login, err := h.logins.LoginByEmail(ctx, cmd.Email)
	known := err == nil
	hash := login.PasswordHash
	if errors.Is(err, ErrNotFound) {
		hash, err = h.dummyHash, nil
	}
	if err != nil {
		attempt.Abandon(ctx)
		return Session{}, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, h.busyWait)
	ok, _, err := h.hasher.VerifyContext(waitCtx, cmd.Password, hash)
	cancel()
	if err != nil {
		attempt.Abandon(ctx)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			return Session{}, Busy()
		}
		return Session{}, err
	}
	if !ok || !known {
		if known {
			h.logger.InfoContext(ctx, "sign-in refused", "account_id", login.AccountID)
		}
		return Session{}, failure.New(failure.Unauthorized, "invalid_credentials", "The email or the password is wrong.")
	}
	// Said only to whoever knows the password, so it reveals nothing.
	if !login.Active {
		attempt.Abandon(ctx)
		return Session{}, ErrDeactivated()
	}
	return attempt.Succeed(ctx, login, account.SignInPassword)
}

// ErrDeactivated is the answer to a deactivated account's sign-in.
func ErrDeactivated() error { return account.ErrDeactivated() }
