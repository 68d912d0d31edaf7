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

	"github.com/rollcall/rollcall/domain/account"
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

// SignInGate is what every way of signing in goes through: the throttle
// before the credentials are checked, and the session once they are good.
// Password sign-in uses it; Sign in with Google is to use the same, so both
// share one throttle and one set of session rules.
type SignInGate struct {
	counters SignInCounters
	sessions Sessions
	log      SignInLog
	rules    throttle.Rules
	ttl      time.Duration
	logger   *slog.Logger
}

// SignInLog records each sign-in, with how it was made (account.SignedIn),
// for the person's "last sign-ins" and the audit trail.
type SignInLog interface {
	RecordSignIn(ctx context.Context, login Login, method string, at time.Time) error
}

// NewSignInGate refuses missing dependencies.
func NewSignInGate(counters SignInCounters, sessions Sessions, log SignInLog, rules throttle.Rules, ttl time.Duration, logger *slog.Logger) (*SignInGate, error) {
	if counters == nil || sessions == nil || log == nil || logger == nil || ttl <= 0 || rules.Account.Free < 1 || rules.Address.Free < 1 {
		return nil, errors.New("command: NewSignInGate needs counters, sessions, a sign-in log, throttle rules, a positive session lifetime and a logger")
	}
	return &SignInGate{counters: counters, sessions: sessions, log: log, rules: rules, ttl: ttl, logger: logger}, nil
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

// Succeed is SucceedWith for a password sign-in.
func (a *SignInAttempt) Succeed(ctx context.Context, login Login) (Session, error) {
	return a.SucceedWith(ctx, login, account.SignInPassword)
}

// SucceedWith clears the account's failures, records the sign-in made by
// method (account.SignInPassword, account.SignInGoogle) and starts a
// session for login.
func (a *SignInAttempt) SucceedWith(ctx context.Context, login Login, method string) (Session, error) {
	g := a.gate
	if err := g.counters.Update(ctx, a.account, a.address, func(_ time.Time, c *throttle.Counters) error {
		*c = g.rules.Succeeded(*c)
		return nil
	}); err != nil {
		return Session{}, err
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	// Recorded before the session exists: no session goes unrecorded.
	if err := g.log.RecordSignIn(ctx, login, method, time.Now()); err != nil {
		return Session{}, err
	}
	if err := g.sessions.CreateSession(ctx, login.AccountID, token, g.ttl); err != nil {
		return Session{}, err
	}
	g.logger.InfoContext(ctx, "signed in", "account_id", login.AccountID, "org_id", login.OrgID)
	return Session{Token: secret.New(token), Login: login}, nil
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
