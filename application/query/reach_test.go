package query_test

import (
	"context"
	"testing"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// An account's audit trail follows reach within the organization too: a
// group's administrator reads the trails of their group only (not another
// group's, not the system administrator's), a user only their own. Out of
// reach answers as no such account.
func TestAccountTrailFollowsReachWithinTheOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	e.project(t)
	tests := []struct {
		name    string
		viewer  tenancy.Actor
		email   string
		visible bool
	}{
		{"the system administrator, a user of a group", p.root, "uma@lincoln.test", true},
		{"the system administrator, an administrator", p.root, "carla@lincoln.test", true},
		{"a group administrator, a user of their group", p.ada, "uma@lincoln.test", true},
		{"a group administrator, another administrator of their group", p.ada, "ben@lincoln.test", true},
		{"a group administrator, an administrator of another group", p.ada, "carla@lincoln.test", false},
		{"another group's administrator, a user of the group", p.carla, "uma@lincoln.test", false},
		{"a group administrator, the system administrator", p.ada, "root@lincoln.test", false},
		{"a user, their own account", p.uma, "uma@lincoln.test", true},
		{"a user, their group's administrator", p.uma, "ada@lincoln.test", false},
		{"another organization's system administrator", p.otherRoot, "uma@lincoln.test", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entries, err := e.queries.AccountTrail(ctx, tt.viewer, tt.email)
			if !tt.visible {
				requireCode(t, err, "not_found")
				return
			}
			if err != nil || len(entries) == 0 || entries[0].Type != "AccountCreated" {
				t.Fatalf("%s's trail: %v %v", tt.email, entries, err)
			}
		})
	}
}
