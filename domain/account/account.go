package account

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Account is the aggregate: a person who can sign in. Its fields change
// only in apply, by events; commands check, then record.
type Account struct {
	id, orgID          uuid.UUID
	email              Email
	firstName          string
	lastName           string
	role               tenancy.Role
	groupID            uuid.UUID
	tagIDs             []uuid.UUID
	presetID           uuid.UUID
	importID           uuid.UUID
	active             bool
	mustChangePassword bool
	// changedBy says, per field, which import set it last (uuid.Nil: not an
	// import, such as the person's own password change): an undo puts back
	// only what its import set and nobody changed since.
	changedBy Provenance

	version int64
	pending []any
}

// Provenance is, per field, the import that set it last (uuid.Nil: none).
type Provenance struct {
	Names, Group, Tags, Password, Active uuid.UUID
}

// New is what it takes to create an account.
type New struct {
	ID                 uuid.UUID
	OrgID              uuid.UUID
	Email              Email
	FirstName          string
	LastName           string
	Role               tenancy.Role
	GroupID            uuid.UUID
	TagIDs             []uuid.UUID
	PresetID           uuid.UUID
	ImportID           uuid.UUID
	ImportRow          int
	MustChangePassword bool
}

// InvalidError says which field of a new account is wrong.
type InvalidError struct {
	Field   string
	Message string
}

func (e *InvalidError) Error() string { return e.Message }

// Failure says it in the common vocabulary.
func (e *InvalidError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Unprocessable, Code: "invalid_value", Message: e.Error()}
}

// Create checks a new account and records AccountCreated.
func Create(n New, now time.Time) (*Account, error) {
	if n.ID == uuid.Nil || n.OrgID == uuid.Nil {
		return nil, errors.New("account: an account needs an id and an organization")
	}
	if n.Email.IsZero() {
		return nil, &InvalidError{"email", "The email address is missing."}
	}
	first, last := strings.TrimSpace(n.FirstName), strings.TrimSpace(n.LastName)
	if first == "" {
		return nil, &InvalidError{"first_name", "The first name is missing."}
	}
	if last == "" {
		return nil, &InvalidError{"last_name", "The last name is missing."}
	}
	if _, err := tenancy.ParseRole(string(n.Role)); err != nil {
		return nil, &InvalidError{"role", fmt.Sprint(err)}
	}
	a := &Account{}
	a.record(AccountCreated{
		AccountID: n.ID, OrgID: n.OrgID, Email: n.Email.String(), FirstName: first, LastName: last,
		Role: string(n.Role), GroupID: n.GroupID, TagIDs: orEmpty(n.TagIDs), PresetID: n.PresetID, ImportID: n.ImportID,
		ImportRow: n.ImportRow, MustChangePassword: n.MustChangePassword, CreatedAt: now.UTC(),
	})
	return a, nil
}

// Rehydrate rebuilds an account from its stored events.
func Rehydrate(events []any) *Account {
	a := &Account{}
	for _, e := range events {
		a.apply(e)
		a.version++
	}
	return a
}

// Snapshot is the account's state as the write side stores it beside its
// events (in the same transaction), so a batch of ten thousand rows is
// decided without replaying ten thousand streams. Version is the stream
// version the state reflects; appending with it as the expected version
// makes a concurrent change a conflict, not a lost update.
type Snapshot struct {
	ID                 uuid.UUID
	OrgID              uuid.UUID
	Email              string
	FirstName          string
	LastName           string
	Role               tenancy.Role
	GroupID            uuid.UUID
	TagIDs             []uuid.UUID
	PresetID           uuid.UUID
	ImportID           uuid.UUID
	Active             bool
	MustChangePassword bool
	ChangedBy          Provenance
	Version            int64
}

// FromSnapshot rebuilds an account from its stored state without checking
// it again.
func FromSnapshot(s Snapshot) *Account {
	return &Account{
		id: s.ID, orgID: s.OrgID, email: EmailFromStorage(s.Email), firstName: s.FirstName, lastName: s.LastName,
		role: s.Role, groupID: s.GroupID, tagIDs: slices.Clone(s.TagIDs), presetID: s.PresetID, importID: s.ImportID,
		active: s.Active, mustChangePassword: s.MustChangePassword, changedBy: s.ChangedBy, version: s.Version,
	}
}

// Snapshot is the state after the pending events.
func (a *Account) Snapshot() Snapshot {
	return Snapshot{
		ID: a.id, OrgID: a.orgID, Email: a.email.String(), FirstName: a.firstName, LastName: a.lastName,
		Role: a.role, GroupID: a.groupID, TagIDs: orEmpty(slices.Clone(a.tagIDs)), PresetID: a.presetID, ImportID: a.importID,
		Active: a.active, MustChangePassword: a.mustChangePassword, ChangedBy: a.changedBy, Version: a.version + int64(len(a.pending)),
	}
}

func (a *Account) record(e any) {
	a.apply(e)
	a.pending = append(a.pending, e)
}

// PendingEvents are the events recorded since loading.
func (a *Account) PendingEvents() []any { return a.pending }

// Version is the stream version the account was loaded at.
func (a *Account) Version() int64 { return a.version }

// apply changes state without checking anything: it replays what happened.
func (a *Account) apply(e any) {
	switch e := e.(type) {
	case AccountCreated:
		a.id, a.orgID, a.email = e.AccountID, e.OrgID, EmailFromStorage(e.Email)
		a.firstName, a.lastName, a.role = e.FirstName, e.LastName, tenancy.Role(e.Role)
		a.groupID, a.tagIDs, a.presetID, a.importID = e.GroupID, slices.Clone(e.TagIDs), e.PresetID, e.ImportID
		a.active, a.mustChangePassword = true, e.MustChangePassword
		by := e.ImportID
		a.changedBy = Provenance{Names: by, Group: by, Tags: by, Password: by, Active: by}
	case AccountUpdated:
		by := e.ImportID
		if e.FirstName != nil {
			a.firstName, a.changedBy.Names = e.FirstName.To, by
		}
		if e.LastName != nil {
			a.lastName, a.changedBy.Names = e.LastName.To, by
		}
		if e.Group != nil {
			a.groupID, a.changedBy.Group = e.Group.To, by
		}
		if len(e.TagsAdded) > 0 {
			a.tagIDs, a.changedBy.Tags = union(a.tagIDs, e.TagsAdded), by
		}
		if e.PasswordReplaced {
			a.mustChangePassword, a.changedBy.Password = e.MustChangePassword, by
		}
		if e.Reactivated {
			a.active, a.changedBy.Active = true, by
		}
	case PasswordChanged:
		a.mustChangePassword, a.changedBy.Password = e.MustChangePassword, uuid.Nil
	case AccountDeactivated:
		// A re-sync's deactivation is that import's to undo; an undo's is
		// nobody's.
		a.active, a.changedBy.Active = false, e.DepartedFrom
	case AccountReactivated:
		a.active, a.changedBy.Active = true, uuid.Nil
	case EmailChanged:
		a.email = EmailFromStorage(e.To)
	case AccountRestored:
		// What the undo put back is nobody's import's any more: a later undo
		// of an older import keeps it.
		if e.FirstName != nil {
			a.firstName, a.changedBy.Names = e.FirstName.To, uuid.Nil
		}
		if e.LastName != nil {
			a.lastName, a.changedBy.Names = e.LastName.To, uuid.Nil
		}
		if e.Group != nil {
			a.groupID, a.changedBy.Group = e.Group.To, uuid.Nil
		}
		if len(e.TagsRemoved) > 0 {
			a.tagIDs = slices.DeleteFunc(a.tagIDs, func(id uuid.UUID) bool { return slices.Contains(e.TagsRemoved, id) })
			a.changedBy.Tags = uuid.Nil
		}
		if e.PasswordRestored {
			a.mustChangePassword, a.changedBy.Password = e.MustChangePassword, uuid.Nil
		}
		if e.Deactivated {
			a.active, a.changedBy.Active = false, uuid.Nil
		}
	}
}

// ChangePassword records that the person chose a new password.
func (a *Account) ChangePassword(now time.Time) {
	a.record(PasswordChanged{AccountID: a.id, ByActor: a.id, MustChangePassword: false, ChangedAt: now.UTC()})
}

// QueueWelcomeEmail records that the import queued the welcome email.
func (a *Account) QueueWelcomeEmail(importID uuid.UUID) {
	a.record(WelcomeEmailQueued{AccountID: a.id, ImportID: importID})
}

// Read access for the application layer.

func (a *Account) ID() uuid.UUID            { return a.id }
func (a *Account) OrgID() uuid.UUID         { return a.orgID }
func (a *Account) Email() Email             { return a.email }
func (a *Account) FirstName() string        { return a.firstName }
func (a *Account) LastName() string         { return a.lastName }
func (a *Account) Role() tenancy.Role       { return a.role }
func (a *Account) GroupID() uuid.UUID       { return a.groupID }
func (a *Account) TagIDs() []uuid.UUID      { return slices.Clone(a.tagIDs) }
func (a *Account) Active() bool             { return a.active }
func (a *Account) MustChangePassword() bool { return a.mustChangePassword }

// Target is the account as reach rules see it.
func (a *Account) Target() tenancy.Target {
	return tenancy.Target{ID: a.id, OrgID: a.orgID, Role: a.role, GroupID: a.groupID}
}

// union is a followed by the ids of b it lacks, in order.
func union(a, b []uuid.UUID) []uuid.UUID {
	out := slices.Clone(a)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func orEmpty(ids []uuid.UUID) []uuid.UUID {
	if ids == nil {
		return []uuid.UUID{}
	}
	return ids
}
