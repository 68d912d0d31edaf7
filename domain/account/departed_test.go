package account

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// Given an account a re-sync found gone from its class, when the re-sync
// deactivates it, then only an active account within the importer's reach
// is deactivated, and an account outside it is refused.
func TestDeactivateDeparted(t *testing.T) {
	otherAdmin := tenancy.Actor{ID: uuid.MustParse("00000000-0000-0000-0000-000000000003"), OrgID: otherOrg, Role: tenancy.RoleSystemAdmin}
	tests := []struct {
		name        string
		importer    tenancy.Actor
		account     *Account
		deactivated bool
		refused     string
	}{
		{"a user, by a system administrator", sysAdmin, holder("kim@school.org", tenancy.RoleUser, g1, nil, true), true, ""},
		{"an administrator, by a system administrator", sysAdmin, holder("kim@school.org", tenancy.RoleAdmin, g1, nil, true), true, ""},
		{"a system administrator, never", sysAdmin, holder("kim@school.org", tenancy.RoleSystemAdmin, uuid.Nil, nil, true), false, "not_allowed_to_change"},
		{"a user of the group administrator's group", groupAdm, holder("kim@school.org", tenancy.RoleUser, g1, nil, true), true, ""},
		{"a user of another group, not by a group administrator", groupAdm, holder("kim@school.org", tenancy.RoleUser, g2, nil, true), false, "not_allowed_to_change"},
		{"an account of another organization", otherAdmin, holder("kim@school.org", tenancy.RoleUser, g1, nil, true), false, "not_allowed_to_change"},
		{"an account inactive already: nothing recorded", sysAdmin, holder("kim@school.org", tenancy.RoleUser, g1, nil, false), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The review lists what the commit will deactivate: the two agree.
			departable := tt.account.Departable(tt.importer)
			ok, refusal := tt.account.DeactivateDeparted(terms(tt.importer), when)
			code := ""
			if refusal != nil {
				code = refusal.Code
			}
			if ok != tt.deactivated || code != tt.refused {
				t.Fatalf("deactivated %v refused %q, want %v %q", ok, code, tt.deactivated, tt.refused)
			}
			if departable != tt.deactivated {
				t.Fatalf("listed as departable: %v, deactivated: %v", departable, ok)
			}
			events := tt.account.PendingEvents()
			if !tt.deactivated {
				if len(events) != 0 {
					t.Fatalf("recorded %v", events)
				}
				return
			}
			ev, isDeactivated := events[0].(AccountDeactivated)
			if len(events) != 1 || !isDeactivated || ev.DepartedFrom != imp || ev.UndoOf != uuid.Nil || tt.account.Active() {
				t.Fatalf("recorded %+v, active %v", events, tt.account.Active())
			}
		})
	}
}

// Given what happened to an account, when the re-sync X that deactivated it
// as departed is undone, then it is reactivated only if nothing changed
// its state since.
func TestUndoDeparture(t *testing.T) {
	x, y := imp, uuid.MustParse("00000000-0000-0000-0000-0000000000e2")
	id := uuid.MustParse("00000000-0000-0000-0000-00000000bbbb")
	created := AccountCreated{AccountID: id, OrgID: org, Email: "bo@school.org", FirstName: "Bo", LastName: "Ek", Role: "user", ImportID: y}
	departed := AccountDeactivated{AccountID: id, DepartedFrom: x}
	tests := []struct {
		name        string
		given       []any
		reactivated bool
	}{
		{"deactivated by the re-sync: reactivated", []any{created, departed}, true},
		{"imported again since (reactivated): left as it is", []any{created, departed, AccountUpdated{AccountID: id, ImportID: y, Reactivated: true}}, false},
		{"imported again, then that import undone: not X's to reactivate", []any{created, departed,
			AccountUpdated{AccountID: id, ImportID: y, Reactivated: true}, AccountRestored{AccountID: id, UndoOf: y, Deactivated: true}}, false},
		{"deactivated by another re-sync", []any{created, AccountDeactivated{AccountID: id, DepartedFrom: y}}, false},
		{"deactivated by the undo of the import that created it", []any{created, AccountDeactivated{AccountID: id, UndoOf: y}}, false},
		{"never deactivated", []any{created}, false},
		{"reactivated once already", []any{created, departed, AccountReactivated{AccountID: id, UndoOf: x}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Rehydrate(tt.given)
			before := a.Active()
			got := a.UndoDeparture(x, when)
			if got != tt.reactivated {
				t.Fatalf("reactivated %v, want %v", got, tt.reactivated)
			}
			if got && (!a.Active() || len(a.PendingEvents()) != 1 || a.PendingEvents()[0] != (AccountReactivated{AccountID: id, UndoOf: x, ReactivatedAt: when})) {
				t.Fatalf("active %v, recorded %v", a.Active(), a.PendingEvents())
			}
			if !got && (a.Active() != before || len(a.PendingEvents()) != 0) {
				t.Fatalf("left alone, yet active %v → %v, recorded %v", before, a.Active(), a.PendingEvents())
			}
		})
	}
}
