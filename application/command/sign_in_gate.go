package command

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"math"
	"net/netip"
	"time"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/throttle"
)

// SignInCounters stores the sign-in throttle's counters for every process.
// Update runs fn on the counters of the two keys inside one transaction that
// holds them, with the clock every process shares, and stores what fn left.
type SignInCounters interface {
	Update(ctx context.Context, account, address throttle.Key, fn func(now time.Time, c *throttle.Counters) error) error
}

// SessionStarter starts a session and records the SignedIn that audits it,
// in one transaction: no session without its audit entry.
type SessionStarter interface {
	StartSession(ctx context.Context, s NewSession) error
}

// NewSession is a session to start.
type NewSession struct {
	Login  Login
	Token  string
	TTL    time.Duration
	Method string // account.SignInPassword or account.SignInGoogle
	At     time.Time
}

// SignInGate is what every way of signing in goes through: the throttle
// before the credentials are checked, and the session once they are good.
// Password sign-in and Sign in with Google both use it, so they share one
// throttle and one set of session rules.
type SignInGate struct {
	counters SignInCounters
	sessions SessionStarter
	rules    throttle.Rules
	ttl      time.Duration
	logger   *slog.Logger
}

// NewSignInGate refuses missing dependencies.
func NewSignInGate(counters SignInCounters, sessions SessionStarter, rules throttle.Rules, ttl time.Duration, logger *slog.Logger) (*SignInGate, error) {
	if counters == nil || sessions == nil || logger == nil || ttl <= 0 || rules.Account.Free < 1 || rules.Address.Free < 1 {
		return nil, errors.New("command: NewSignInGate needs counters, sessions, throttle rules, a positive session lifetime and a logger")
	}
	return &SignInGate{counters: counters, sessions: sessions, rules: rules, ttl: ttl, logger: logger}, nil
}

// SignInAttempt is one attempt let through the throttle. It counts as a
// failure until Succeed or Abandon says otherwise, so a wrong password
// needs nothing more.
type SignInAttempt struct {
	gate             *SignInGate
	account, address throttle.Key
}

// Begin lets an attempt for email from addr through, or answers 429
// too_many_attempts with how long to wait.
func (g *SignInGate) Begin(ctx context.Context, email string, addr netip.Addr) (*SignInAttempt, error) {
	a := &SignInAttempt{gate: g, account: throttle.AccountKey(email), address: throttle.AddressKey(addr)}
	var wait time.Duration
	err := g.counters.Update(ctx, a.account, a.address, func(now time.Time, c *throttle.Counters) error {
		*c, wait = g.rules.Begin(*c, now)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		g.logger.WarnContext(ctx, "sign-in throttled", "retry_after", wait.Round(time.Millisecond))
		return nil, TooManyAttempts(wait)
	}
	return a, nil
}

// TooManyAttempts is the answer to a throttled attempt.
func TooManyAttempts(wait time.Duration) error {
	seconds := int(math.Ceil(wait.Seconds()))
	e := failure.New(failure.TooManyRequests, "too_many_attempts",
		"Too many failed sign-ins for this account or from this network. Wait %d seconds, then try again; if you forgot your password, ask your administrator.", seconds)
	e.RetryAfter = time.Duration(seconds) * time.Second
	return e
}

// Succeed clears the account's failures and starts a session for login,
// made by method.
func (a *SignInAttempt) Succeed(ctx context.Context, login Login, method string) (Session, error) {
	g := a.gate
	if err := a.clear(ctx); err != nil {
		return Session{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := g.sessions.StartSession(ctx, NewSession{Login: login, Token: token, TTL: g.ttl, Method: method, At: time.Now()}); err != nil {
		return Session{}, err
	}
	g.logger.InfoContext(ctx, "signed in", "account_id", login.AccountID, "org_id", login.OrgID, "method", method)
	return Session{Token: secret.New(token), Login: login}, nil
}

// clear forgets the account's failures: the password was right.
func (a *SignInAttempt) clear(ctx context.Context) error {
	return a.gate.counters.Update(ctx, a.account, a.address, func(_ time.Time, c *throttle.Counters) error {
		*c = a.gate.rules.Succeeded(*c)
		return nil
	})
}

// VerifyCurrentPassword checks the password a signed-in person types to
// change their password or their email, through the throttle of signing in
// to their account from their address: a session left open on a shared
// computer, or stolen, cannot guess the password faster than the sign-in
// page lets anyone, and a wrong one counts as a failed sign-in. ok is false
// for a wrong password; a throttled attempt is 429 too_many_attempts.
func (g *SignInGate) VerifyCurrentPassword(ctx context.Context, hasher PasswordHasher, login Login, password secret.Secret, addr netip.Addr) (ok bool, err error) {
	attempt, err := g.Begin(ctx, login.Email, addr)
	if err != nil {
		return false, err
	}
	ok, _, err = hasher.VerifyContext(ctx, password, login.PasswordHash)
	if err != nil {
		attempt.Abandon(ctx)
		return false, err
	}
	if !ok {
		g.logger.InfoContext(ctx, "current password refused", "account_id", login.AccountID)
		return false, nil
	}
	return true, attempt.clear(ctx)
}

// Abandon takes back an attempt whose credentials were never checked (the
// server was too busy): it costs the caller nothing.
func (a *SignInAttempt) Abandon(ctx context.Context) {
	g := a.gate
	err := g.counters.Update(context.WithoutCancel(ctx), a.account, a.address, func(_ time.Time, c *throttle.Counters) error {
		*c = g.rules.Abandoned(*c)
		return nil
	})
	if err != nil {
		g.logger.WarnContext(ctx, "could not take back an abandoned sign-in attempt", "err", err)
	}
}
