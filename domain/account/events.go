package account

import (
	"time"

	"github.com/google/uuid"
)

// Events of an account's stream (account-<id>). They hold no password, not
// even a hash: the hash is a secret too, and lives in the login record written
// in the same transaction as AccountCreated.

// AccountCreated: a person can now sign in.
type AccountCreated struct {
	AccountID          uuid.UUID
	OrgID              uuid.UUID
	Email              string
	FirstName          string
	LastName           string
	Role               string
	GroupID            uuid.UUID
	TagIDs             []uuid.UUID
	ImportID           uuid.UUID // uuid.Nil when made from the command line
	ImportRow          int
	MustChangePassword bool
	CreatedAt          time.Time
}

// AccountUpdated: an import changed an existing account, as its
// existing-accounts policy allowed.
type AccountUpdated struct {
	AccountID       uuid.UUID
	ImportID        uuid.UUID
	ImportRow       int
	PasswordChanged bool
	GroupChanged    bool
	GroupID         uuid.UUID
	TagIDsAdded     []uuid.UUID
	UpdatedAt       time.Time
}

// PasswordChanged: the person (or an import) set a new password.
type PasswordChanged struct {
	AccountID          uuid.UUID
	ByActor            uuid.UUID
	MustChangePassword bool
	ChangedAt          time.Time
}

// WelcomeEmailQueued: the welcome email was put in the outbox.
type WelcomeEmailQueued struct {
	AccountID uuid.UUID
	ImportID  uuid.UUID
}

func (AccountCreated) EventType() string     { return "AccountCreated" }
func (AccountUpdated) EventType() string     { return "AccountUpdated" }
func (PasswordChanged) EventType() string    { return "PasswordChanged" }
func (WelcomeEmailQueued) EventType() string { return "WelcomeEmailQueued" }

// Events lists a sample of every account event, for the codec registry.
func Events() []interface{ EventType() string } {
	return []interface{ EventType() string }{AccountCreated{}, AccountUpdated{}, PasswordChanged{}, WelcomeEmailQueued{}}
}

// StreamID is the account's event stream.
func StreamID(id uuid.UUID) string { return "account-" + id.String() }
