// Package command holds the application's command handlers, one use case a
// file: each loads what it needs, asks the domain, and saves the outcome.
// The ports they need are declared here and implemented in infrastructure.
package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/secret"
)

// ErrNotFound is what ports return for a missing row of the caller's
// organization.
var ErrNotFound = errors.New("not found")

// ErrDuplicate is what ports return for a name or email already taken.
var ErrDuplicate = errors.New("already exists")

// Login is an account's sign-in record.
type Login struct {
	AccountID          uuid.UUID
	OrgID              uuid.UUID
	Email              string
	Role               string
	GroupID            uuid.UUID
	PasswordHash       string
	MustChangePassword bool
	// Active is false for a deactivated account (an undone import's): it
	// cannot sign in.
	Active bool
	// SignInMethod is how the session was made (SessionLogin only).
	SignInMethod string
}

// PasswordChangeDue says whether the session must choose a new password
// before anything else (a Google session need not).
func (l Login) PasswordChangeDue() bool {
	return account.PasswordChangeDue(l.MustChangePassword, l.SignInMethod)
}

// Logins reads and writes sign-in records and sessions.
type Logins interface {
	LoginByEmail(ctx context.Context, email string) (Login, error)
	LoginByID(ctx context.Context, accountID uuid.UUID) (Login, error)
	SessionLogin(ctx context.Context, token string) (Login, error)
	CreateSession(ctx context.Context, accountID uuid.UUID, token string, ttl time.Duration) error
}

// PasswordHasher hashes and verifies passwords. Hashing is bounded (a few
// at a time, each costing tens of MiB): both wait for their turn until ctx
// ends, and then return ctx's error without having hashed anything.
type PasswordHasher interface {
	HashContext(ctx context.Context, pw secret.Secret) (string, error)
	VerifyContext(ctx context.Context, pw secret.Secret, encoded string) (ok, needsRehash bool, err error)
}

// Sessions are the bearer tokens of signed-in accounts.
type Sessions interface {
	CreateSession(ctx context.Context, accountID uuid.UUID, token string, ttl time.Duration) error
	// EndSession makes the token refused from now on.
	EndSession(ctx context.Context, token string) error
	// EndOtherSessions ends every session of the account but keepToken's.
	EndOtherSessions(ctx context.Context, accountID uuid.UUID, keepToken string) error
}

// PasswordPolicy returns the rules a new password breaks.
type PasswordPolicy func(pw secret.Secret) []PolicyProblem

// PolicyProblem is one broken password rule.
type PolicyProblem struct {
	Code    string
	Message string
}

// NewAccount is an account to create, its AccountCreated pending, with its
// password hash.
type NewAccount struct {
	Account      *account.Account
	PasswordHash string
}

// AccountWriter records new accounts: the AccountCreated event, the email
// claim and the password hash in one transaction. An email already claimed is
// reported in taken, and nothing is written for it.
type AccountWriter interface {
	CreateAccounts(ctx context.Context, accounts []NewAccount, meta Metadata) (taken []string, err error)
	ChangePassword(ctx context.Context, ev account.PasswordChanged, hash string, meta Metadata) error
}

// Metadata says who acts and why, for every event.
type Metadata struct {
	ActorID       uuid.UUID
	OrgID         uuid.UUID
	CorrelationID string
}
