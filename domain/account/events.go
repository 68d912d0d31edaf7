package account

import (
	"time"

	"github.com/google/uuid"
)

// Events of an account's stream (account-<id>). They hold no password, not
// even a hash: the hash is a secret too, and lives in the login record
// written in the same transaction as the event that sets it.

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
	PresetID           uuid.UUID
	ImportID           uuid.UUID // uuid.Nil when made from the command line
	ImportRow          int
	MustChangePassword bool
	CreatedAt          time.Time
}

// AccountUpdated: an import changed an existing account. It names exactly
// what changed, each field with its value before and after (a password
// only as "replaced"), so an auditor reads the change and an undo can put
// it back. An import row that would change nothing records no event.
type AccountUpdated struct {
	AccountID uuid.UUID
	ImportID  uuid.UUID
	ImportRow int
	FirstName *TextChange
	LastName  *TextChange
	Group     *GroupChange
	// TagsAdded are the tags the import added; tags are never removed by
	// an import.
	TagsAdded []uuid.UUID
	// PasswordReplaced: the import set a new password (the hash is in the
	// login record).
	PasswordReplaced   bool
	MustChangePassword bool
	// Reactivated: the account had been deactivated and is active again.
	Reactivated bool
	UpdatedAt   time.Time
}

// SchemaVersion 2 names each change with its old value; version 1 (until
// November 2026) held only flags and the new group.
func (AccountUpdated) SchemaVersion() int { return 2 }

// TextChange is a text field's value before and after.
type TextChange struct{ From, To string }

// GroupChange is the group before and after (uuid.Nil: no group).
type GroupChange struct{ From, To uuid.UUID }

// PasswordChanged: the person set a new password themself.
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

// AccountDeactivated: the account can no longer sign in. UndoOf is the
// import whose undo deactivated it (it had created the account).
type AccountDeactivated struct {
	AccountID     uuid.UUID
	UndoOf        uuid.UUID
	DeactivatedAt time.Time
}

// AccountRestored: the undo of an import put back what that import had
// changed, field by field, except the fields changed again since, which it
// kept (Kept names them: "first_name", "group", "tags", "password", …).
type AccountRestored struct {
	AccountID        uuid.UUID
	UndoOf           uuid.UUID
	FirstName        *TextChange
	LastName         *TextChange
	Group            *GroupChange
	TagsRemoved      []uuid.UUID
	PasswordRestored bool
	// MustChangePassword is the flag restored with the password.
	MustChangePassword bool
	// Deactivated: the import had reactivated the account.
	Deactivated bool
	Kept        []string
	RestoredAt  time.Time
}

func (AccountCreated) EventType() string     { return "AccountCreated" }
func (AccountUpdated) EventType() string     { return "AccountUpdated" }
func (PasswordChanged) EventType() string    { return "PasswordChanged" }
func (WelcomeEmailQueued) EventType() string { return "WelcomeEmailQueued" }
func (AccountDeactivated) EventType() string { return "AccountDeactivated" }
func (AccountRestored) EventType() string    { return "AccountRestored" }

// Events lists a sample of every account event, for the codec registry.
func Events() []interface{ EventType() string } {
	return []interface{ EventType() string }{AccountCreated{}, AccountUpdated{}, PasswordChanged{}, WelcomeEmailQueued{},
		AccountDeactivated{}, AccountRestored{}}
}

// StreamPrefix starts every account stream's id.
const StreamPrefix = "account-"

// StreamID is the account's event stream.
func StreamID(id uuid.UUID) string { return StreamPrefix + id.String() }
