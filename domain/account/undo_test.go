package account

import (
	"reflect"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// Given what happened to an account, when an import is undone, then these
// fields come back and those are kept.
func TestUndoChange(t *testing.T) {
	x, y := imp, uuid.MustParse("00000000-0000-0000-0000-0000000000e2")
	created := AccountCreated{AccountID: uuid.MustParse("00000000-0000-0000-0000-00000000aaaa"), OrgID: org, Email: "kim@school.org",
		FirstName: "Kim", LastName: "Lee", Role: string(tenancy.RoleUser), GroupID: g1, TagIDs: []uuid.UUID{t1}, CreatedAt: when}
	byX := AccountUpdated{AccountID: created.AccountID, ImportID: x, FirstName: &TextChange{"Kim", "Kimberly"}, Group: &GroupChange{g1, g2},
		TagsAdded: []uuid.UUID{t2}, PasswordReplaced: true, MustChangePassword: true, UpdatedAt: when}
	change := Diff{FirstName: byX.FirstName, Group: byX.Group, TagsAdded: byX.TagsAdded, Password: true}
	tests := []struct {
		name     string
		given    []any
		change   Diff
		want     *AccountRestored // nil: nothing recorded
		password bool
	}{
		{"nothing changed since: everything comes back", []any{created, byX}, change,
			&AccountRestored{AccountID: created.AccountID, UndoOf: x, FirstName: &TextChange{"Kimberly", "Kim"}, Group: &GroupChange{g2, g1},
				TagsRemoved: []uuid.UUID{t2}, PasswordRestored: true, RestoredAt: when}, true},
		{"a later import moved the account: the group is kept", []any{created, byX,
			AccountUpdated{AccountID: created.AccountID, ImportID: y, Group: &GroupChange{g2, g1}}}, change,
			&AccountRestored{AccountID: created.AccountID, UndoOf: x, FirstName: &TextChange{"Kimberly", "Kim"}, TagsRemoved: []uuid.UUID{t2},
				PasswordRestored: true, Kept: []string{"group"}, RestoredAt: when}, true},
		{"the owner chose a password since: it is kept", []any{created, byX, PasswordChanged{AccountID: created.AccountID}}, change,
			&AccountRestored{AccountID: created.AccountID, UndoOf: x, FirstName: &TextChange{"Kimberly", "Kim"}, Group: &GroupChange{g2, g1},
				TagsRemoved: []uuid.UUID{t2}, Kept: []string{"password"}, RestoredAt: when}, false},
		{"a later import added tags: all tags are kept", []any{created, byX,
			AccountUpdated{AccountID: created.AccountID, ImportID: y, TagsAdded: []uuid.UUID{uuid.New()}}}, Diff{TagsAdded: []uuid.UUID{t2}},
			&AccountRestored{AccountID: created.AccountID, UndoOf: x, Kept: []string{"tags"}, RestoredAt: when}, false},
		{"an import that reactivated the account: it is deactivated again", []any{created, AccountDeactivated{AccountID: created.AccountID},
			AccountUpdated{AccountID: created.AccountID, ImportID: x, Reactivated: true}}, Diff{Reactivate: true},
			&AccountRestored{AccountID: created.AccountID, UndoOf: x, Deactivated: true, RestoredAt: when}, false},
		{"a change undone already records nothing", []any{created, byX, AccountRestored{AccountID: created.AccountID, UndoOf: x,
			FirstName: &TextChange{"Kimberly", "Kim"}, Group: &GroupChange{g2, g1}, TagsRemoved: []uuid.UUID{t2}, PasswordRestored: true}},
			Diff{FirstName: byX.FirstName}, &AccountRestored{AccountID: created.AccountID, UndoOf: x, Kept: []string{"names"}, RestoredAt: when}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := Rehydrate(tt.given)
			got := a.UndoChange(x, tt.change, false, when)
			if got.PasswordRestored != tt.password {
				t.Errorf("password restored = %v, want %v", got.PasswordRestored, tt.password)
			}
			var recorded *AccountRestored
			if ev := a.PendingEvents(); len(ev) == 1 {
				r := ev[0].(AccountRestored)
				recorded = &r
			} else if len(ev) > 1 {
				t.Fatalf("recorded %v", ev)
			}
			if !reflect.DeepEqual(recorded, tt.want) {
				t.Fatalf("recorded %+v\nwant     %+v", recorded, tt.want)
			}
		})
	}
}

func TestUndoDeactivatesWhatTheImportCreated(t *testing.T) {
	a := Rehydrate([]any{AccountCreated{AccountID: uuid.New(), OrgID: org, Email: "new@school.org", ImportID: imp, Role: "user"}})
	if !a.UndoDeactivate(imp, when) || a.Snapshot().Active {
		t.Fatal("the account the import created is not deactivated")
	}
	if a.UndoDeactivate(imp, when) {
		t.Fatal("an inactive account is deactivated twice")
	}
	// Importing the person again reactivates them.
	d := Decide(terms(sysAdmin), row(1, "new@school.org"), a)
	if d.Outcome != OutcomeExisting || !d.Diff.Reactivate {
		t.Fatalf("a deactivated account imported again: %+v", d)
	}
}
