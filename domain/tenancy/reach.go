package tenancy

import "github.com/google/uuid"

// Target is an account as far as reach is concerned: where it lives and
// what it may do.
type Target struct {
	ID      uuid.UUID
	OrgID   uuid.UUID
	Role    Role
	GroupID uuid.UUID // uuid.Nil when the account has no group
}

// CanView reports whether the actor may see the account, its details and
// its audit trail. A system administrator sees every account of the
// organization; a group-scoped administrator the accounts of their own
// group (an administrator without a group: the accounts without one), as
// they import into it only; anyone sees their own account.
func (a Actor) CanView(t Target) bool {
	if t.OrgID != a.OrgID {
		return false
	}
	switch {
	case t.ID == a.ID:
		return true
	case a.Role.IsSystemAdmin():
		return true
	case a.Role == RoleAdmin:
		return t.GroupID == a.GroupID
	}
	return false
}

// CanChange reports whether an action of the actor on someone else's
// behalf (an import, an administrator changing an email) may change the
// account: only an account the actor could have created. A system
// administrator creates users and administrators, never another system
// administrator; a group-scoped administrator creates users of their own
// group. An account outside that reach cannot be taken over by naming it
// in a file.
func (a Actor) CanChange(t Target) bool {
	if t.OrgID != a.OrgID {
		return false
	}
	switch {
	case a.Role.IsSystemAdmin():
		return t.Role == RoleUser || t.Role == RoleAdmin
	case a.Role == RoleAdmin:
		return t.Role == RoleUser && t.GroupID == a.GroupID
	}
	return false
}
