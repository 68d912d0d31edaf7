package command

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
)

// OpenID is what Sign in with Google needs of Google (OpenID Connect, with
// the Classroom import's OAuth client).
type OpenID interface {
	NewVerifier() string
	// AuthURL is Google's sign-in page for this state, nonce and PKCE
	// verifier.
	AuthURL(ctx context.Context, state, nonce, verifier string) (string, error)
	// Identity exchanges the code and verifies the ID token (signature by
	// the issuer's published keys, issuer, audience, expiry, nonce) before
	// reading its claims. A token or code Google's rules refuse is an error
	// wrapping ErrGoogleTokenRefused; anything else is Google out of reach.
	Identity(ctx context.Context, code, verifier, nonce string) (account.GoogleIdentity, error)
}

// ErrGoogleTokenRefused wraps every refused code or ID token.
var ErrGoogleTokenRefused = errors.New("the Google sign-in could not be verified")

// PendingGoogleSignIn is a sign-in on its way through Google: kept by the
// browser that started it (sealed, so it can be neither read nor forged),
// which binds the callback to that browser.
type PendingGoogleSignIn struct {
	State, Nonce, Verifier string
	Expires                time.Time
}

// GoogleSignInStates seals and opens pending sign-ins.
type GoogleSignInStates interface {
	Seal(p PendingGoogleSignIn) (string, error)
	Open(sealed string) (PendingGoogleSignIn, error)
}

// OrganizationReader reads an organization's settings.
type OrganizationReader interface {
	Organization(ctx context.Context, id uuid.UUID) (Organization, error)
}

// GoogleSignInHandler signs in the account whose email equals a verified
// Google email. It never creates one.
type GoogleSignInHandler struct {
	openID   OpenID
	states   GoogleSignInStates
	logins   Logins
	orgs     OrganizationReader
	gate     *SignInGate
	logger   *slog.Logger
	now      func() time.Time
	stateTTL time.Duration
}

// NewGoogleSignInHandler refuses missing dependencies.
func NewGoogleSignInHandler(openID OpenID, states GoogleSignInStates, logins Logins, orgs OrganizationReader, gate *SignInGate, logger *slog.Logger, now func() time.Time) (*GoogleSignInHandler, error) {
	if openID == nil || states == nil || logins == nil || orgs == nil || gate == nil || logger == nil || now == nil {
		return nil, errors.New("command: NewGoogleSignInHandler needs every dependency")
	}
	return &GoogleSignInHandler{openID: openID, states: states, logins: logins, orgs: orgs, gate: gate, logger: logger, now: now, stateTTL: 10 * time.Minute}, nil
}

// Start returns Google's sign-in page and the sealed pending sign-in for
// the browser to keep until it comes back (ten minutes at most).
func (h *GoogleSignInHandler) Start(ctx context.Context) (redirect, sealed string, err error) {
	p := PendingGoogleSignIn{State: randomString(), Nonce: randomString(), Verifier: h.openID.NewVerifier(), Expires: h.now().Add(h.stateTTL)}
	if sealed, err = h.states.Seal(p); err != nil {
		return "", "", err
	}
	if redirect, err = h.openID.AuthURL(ctx, p.State, p.Nonce, p.Verifier); err != nil {
		return "", "", googleUnavailable(err)
	}
	return redirect, sealed, nil
}

func googleUnavailable(err error) error {
	e := failure.New(failure.Unavailable, "google_unavailable", "Rollcall could not reach Google for the sign-in. Try again in a minute, or sign in with your email and password.")
	e.Err, e.RetryAfter = err, time.Minute
	return e
}

func randomString() string {
	raw := make([]byte, 24)
	_, _ = rand.Read(raw) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// FinishGoogleSignIn is Google's redirect back, with what the browser kept.
type FinishGoogleSignIn struct {
	Query         url.Values
	Sealed        string
	ClientAddress netip.Addr
}

// Finish verifies what Google sent, asks the domain whether that Google
// account may sign in, and starts the same session as a password sign-in,
// through the same gate (throttle, session, SignedIn audit).
func (h *GoogleSignInHandler) Finish(ctx context.Context, cmd FinishGoogleSignIn) (Session, error) {
	p, err := h.states.Open(cmd.Sealed)
	state := cmd.Query.Get("state")
	if err != nil || p.State == "" || subtle.ConstantTimeCompare([]byte(p.State), []byte(state)) != 1 || h.now().After(p.Expires) {
		return Session{}, failure.New(failure.Unauthorized, "google_state_invalid",
			"This Google sign-in has expired or was started in another browser. Click \"Sign in with Google\" again.")
	}
	switch code := cmd.Query.Get("error"); code {
	case "":
	case "access_denied":
		return Session{}, failure.New(failure.Unauthorized, "google_sign_in_cancelled",
			"You cancelled Sign in with Google. Try again, or sign in with your email and password.")
	default:
		return Session{}, failure.New(failure.Unauthorized, "google_sign_in_failed",
			"Google refused the sign-in (%s). Try again, or sign in with your email and password.", code)
	}
	id, err := h.openID.Identity(ctx, cmd.Query.Get("code"), p.Verifier, p.Nonce)
	if errors.Is(err, ErrGoogleTokenRefused) {
		h.logger.WarnContext(ctx, "Google sign-in refused: the code or ID token did not verify", "err", err)
		return Session{}, failure.New(failure.Unauthorized, "google_sign_in_failed",
			"Google sign-in failed: Rollcall could not verify what Google sent. Try again, or sign in with your email and password.")
	}
	if err != nil {
		return Session{}, googleUnavailable(err)
	}
	attempt, err := h.gate.Begin(ctx, id.Email, cmd.ClientAddress)
	if err != nil {
		return Session{}, err
	}
	login, candidate, err := h.candidate(ctx, id.Email)
	if err != nil {
		attempt.Abandon(ctx)
		return Session{}, err
	}
	if err := account.DecideGoogleSignIn(id, candidate); err != nil {
		if f, ok := failure.As(err); ok {
			h.logger.InfoContext(ctx, "Google sign-in refused", "code", f.Code, "account_id", login.AccountID)
		}
		return Session{}, err
	}
	return attempt.Succeed(ctx, login, account.SignInGoogle)
}

// candidate is the account holding the email, anywhere (emails are unique
// across organizations), and its organization's policy.
func (h *GoogleSignInHandler) candidate(ctx context.Context, email string) (Login, account.GoogleSignInCandidate, error) {
	login, err := h.logins.LoginByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) || email == "" {
		return Login{}, account.GoogleSignInCandidate{}, nil
	}
	if err != nil {
		return Login{}, account.GoogleSignInCandidate{}, err
	}
	org, err := h.orgs.Organization(ctx, login.OrgID)
	if err != nil {
		return Login{}, account.GoogleSignInCandidate{}, err
	}
	return login, account.GoogleSignInCandidate{Found: true, Active: login.Active, Policy: org.GoogleSignInPolicy()}, nil
}
