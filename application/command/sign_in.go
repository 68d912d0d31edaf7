package command

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"log/slog"
	"time"

	"github.com/rollcall/rollcall/application/apperror"
	"github.com/rollcall/rollcall/domain/secret"
)

// SignIn exchanges an email and password for a bearer token.
type SignIn struct {
	Email    string
	Password secret.Secret
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
	ttl    time.Duration
	logger *slog.Logger
}

// NewSignInHandler refuses nil dependencies.
func NewSignInHandler(logins Logins, hasher PasswordHasher, ttl time.Duration, logger *slog.Logger) (*SignInHandler, error) {
	if logins == nil || hasher == nil || logger == nil || ttl <= 0 {
		return nil, errors.New("command: NewSignInHandler needs logins, a hasher, a logger and a positive session lifetime")
	}
	return &SignInHandler{logins: logins, hasher: hasher, ttl: ttl, logger: logger}, nil
}

// dummyHash is verified against when the email is unknown, so the answer
// takes as long as for a known email and does not reveal which emails exist.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$4ZtX8hcvMiIOf8vbpUX8T6mfyqT2Gx/fsq5bKfV5fzM"

// Handle answers invalid_credentials for an unknown email and a wrong
// password alike.
func (h *SignInHandler) Handle(ctx context.Context, cmd SignIn) (Session, error) {
	invalid := apperror.New(apperror.Unauthorized, "invalid-credentials", "The email or the password is wrong.")
	login, err := h.logins.LoginByEmail(ctx, cmd.Email)
	if errors.Is(err, ErrNotFound) {
		_, _, _ = h.hasher.Verify(cmd.Password, dummyHash)
		return Session{}, invalid
	}
	if err != nil {
		return Session{}, err
	}
	ok, _, err := h.hasher.Verify(cmd.Password, login.PasswordHash)
	if err != nil {
		return Session{}, err
	}
	if !ok {
		h.logger.InfoContext(ctx, "sign-in refused", "account_id", login.AccountID)
		return Session{}, invalid
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return Session{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := h.logins.CreateSession(ctx, login.AccountID, token, h.ttl); err != nil {
		return Session{}, err
	}
	h.logger.InfoContext(ctx, "signed in", "account_id", login.AccountID, "org_id", login.OrgID)
	return Session{Token: secret.New(token), Login: login}, nil
}
