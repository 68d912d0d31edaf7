package tenancy

import (
	"testing"

	"github.com/google/uuid"
)

func TestReach(t *testing.T) {
	org, other := uuid.New(), uuid.New()
	g1, g2 := uuid.New(), uuid.New()
	sys := Actor{ID: uuid.New(), OrgID: org, Role: RoleSystemAdmin}
	admin := Actor{ID: uuid.New(), OrgID: org, Role: RoleAdmin, GroupID: g1}
	groupless := Actor{ID: uuid.New(), OrgID: org, Role: RoleAdmin}
	user := Actor{ID: uuid.New(), OrgID: org, Role: RoleUser, GroupID: g1}
	target := func(role Role, group uuid.UUID) Target {
		return Target{ID: uuid.New(), OrgID: org, Role: role, GroupID: group}
	}
	tests := []struct {
		name             string
		actor            Actor
		target           Target
		canView, canEdit bool
	}{
		{"system admin, user of any group", sys, target(RoleUser, g2), true, true},
		{"system admin, administrator", sys, target(RoleAdmin, g1), true, true},
		{"system admin, another system admin", sys, target(RoleSystemAdmin, uuid.Nil), true, false},
		{"system admin, themself", sys, Target{ID: sys.ID, OrgID: org, Role: RoleSystemAdmin}, true, false},
		{"system admin, another organization", sys, Target{ID: uuid.New(), OrgID: other, Role: RoleUser}, false, false},
		{"admin, user of own group", admin, target(RoleUser, g1), true, true},
		{"admin, user of another group", admin, target(RoleUser, g2), false, false},
		{"admin, user of no group", admin, target(RoleUser, uuid.Nil), false, false},
		{"admin, administrator of own group", admin, target(RoleAdmin, g1), true, false},
		{"admin, system admin", admin, target(RoleSystemAdmin, uuid.Nil), false, false},
		{"admin, another organization's user of a group with the same id", admin, Target{ID: uuid.New(), OrgID: other, Role: RoleUser, GroupID: g1}, false, false},
		{"admin without a group, user without a group", groupless, target(RoleUser, uuid.Nil), true, true},
		{"admin without a group, user of a group", groupless, target(RoleUser, g1), false, false},
		{"user, themself", user, Target{ID: user.ID, OrgID: org, Role: RoleUser, GroupID: g1}, true, false},
		{"user, another user of the group", user, target(RoleUser, g1), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.actor.CanView(tt.target); got != tt.canView {
				t.Errorf("CanView = %v, want %v", got, tt.canView)
			}
			if got := tt.actor.CanChange(tt.target); got != tt.canEdit {
				t.Errorf("CanChange = %v, want %v", got, tt.canEdit)
			}
		})
	}
}
