package account

import (
	"slices"
	"time"

	"github.com/google/uuid"
)

// Undoing an import: the accounts it created are deactivated, and the
// accounts it changed get back what they had before it, field by field,
// except the fields changed again since (by a later import or by their
// owner), which are kept. Both are decided here, from the account's state
// and what the import did to it.

// UndoDeactivate deactivates an account the undone import created; an
// account already inactive records nothing.
func (a *Account) UndoDeactivate(undone uuid.UUID, now time.Time) bool {
	return a.deactivate(AccountDeactivated{AccountID: a.id, UndoOf: undone, DeactivatedAt: now.UTC()})
}

// deactivate is the one way an account stops being able to sign in, for an
// undo as for a departure: an account already inactive records nothing.
func (a *Account) deactivate(e AccountDeactivated) bool {
	if !a.active {
		return false
	}
	a.record(e)
	return true
}

// Restored is what an undo did to a changed account.
type Restored struct {
	// PasswordRestored: the hash the account had before the import is to
	// be put back (the caller holds it).
	PasswordRestored bool
	// Kept names the fields changed again since, left as they are.
	Kept []string
}

// UndoChange puts back what the undone import changed (change is what it
// applied, as its AccountUpdated said), keeping the fields changed since.
// previousMustChange is the must-change flag the account had before, put
// back with the password. It records AccountRestored when it restores or
// keeps anything.
func (a *Account) UndoChange(undone uuid.UUID, change Diff, previousMustChange bool, now time.Time) Restored {
	ev := AccountRestored{AccountID: a.id, UndoOf: undone, RestoredAt: now.UTC()}
	var out Restored
	keep := func(field string) { ev.Kept = append(ev.Kept, field) }
	if change.FirstName != nil || change.LastName != nil {
		if a.changedBy.Names == undone {
			if change.FirstName != nil && a.firstName != change.FirstName.From {
				ev.FirstName = &TextChange{From: a.firstName, To: change.FirstName.From}
			}
			if change.LastName != nil && a.lastName != change.LastName.From {
				ev.LastName = &TextChange{From: a.lastName, To: change.LastName.From}
			}
		} else {
			keep("names")
		}
	}
	if change.Group != nil {
		if a.changedBy.Group == undone {
			if a.groupID != change.Group.From {
				ev.Group = &GroupChange{From: a.groupID, To: change.Group.From}
			}
		} else {
			keep("group")
		}
	}
	if len(change.TagsAdded) > 0 {
		if a.changedBy.Tags == undone {
			for _, id := range change.TagsAdded {
				if slices.Contains(a.tagIDs, id) {
					ev.TagsRemoved = append(ev.TagsRemoved, id)
				}
			}
		} else {
			keep("tags")
		}
	}
	if change.Password {
		if a.changedBy.Password == undone {
			ev.PasswordRestored, ev.MustChangePassword = true, previousMustChange
			out.PasswordRestored = true
		} else {
			keep("password")
		}
	}
	if change.Reactivate {
		if a.changedBy.Active == undone && a.active {
			ev.Deactivated = true
		} else if a.changedBy.Active != undone {
			keep("active")
		}
	}
	out.Kept = ev.Kept
	if ev.FirstName == nil && ev.LastName == nil && ev.Group == nil && len(ev.TagsRemoved) == 0 && !ev.PasswordRestored && !ev.Deactivated && len(ev.Kept) == 0 {
		return out
	}
	a.record(ev)
	return out
}

// ChangedBy is, per field, the import that set it last.
func (a *Account) ChangedBy() Provenance { return a.changedBy }
