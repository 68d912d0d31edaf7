package account

import (
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// A Google Classroom re-sync finds students imported from a class before
// who are no longer in it. Whether the import may deactivate such an
// account is the same question as whether it may change it: the importer's
// reach (tenancy.Actor.CanChange), so a group administrator's re-sync never
// deactivates an account of another group or a system administrator.

// Departable reports whether an import by importer may deactivate the
// account as departed: an active account it could change.
func (a *Account) Departable(importer tenancy.Actor) bool {
	return a.active && a.orgID == importer.OrgID && importer.CanChange(a.Target())
}

// DeactivateDeparted deactivates an account whose student left the class
// the re-sync t imports, and reports whether it recorded anything. An
// account outside the importer's reach is refused (not_allowed_to_change),
// whatever the review showed, since reach is decided now; an account
// already inactive is left alone.
func (a *Account) DeactivateDeparted(t ImportTerms, now time.Time) (bool, *Refusal) {
	if a.orgID != t.Importer.OrgID || !t.Importer.CanChange(a.Target()) {
		r := notAllowed(t.Importer, a, a.email)
		return false, &r
	}
	return a.deactivate(AccountDeactivated{AccountID: a.id, DepartedFrom: t.ImportID, DeactivatedAt: now.UTC()}), nil
}

// UndoDeparture reactivates an account that the undone re-sync deactivated
// as departed, and reports whether it did. An account reactivated since, or
// deactivated again by something else, is left as it is (kept).
func (a *Account) UndoDeparture(undone uuid.UUID, now time.Time) bool {
	if a.active || a.changedBy.Active != undone || undone == uuid.Nil {
		return false
	}
	a.record(AccountReactivated{AccountID: a.id, UndoOf: undone, ReactivatedAt: now.UTC()})
	return true
}
