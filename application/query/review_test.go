package query

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
)

// The rejected rows' file goes back into a spreadsheet program: a cell it
// would run as a formula is prefixed with an apostrophe (CSV injection),
// and nothing else is changed.
func TestNeutraliseCell(t *testing.T) {
	tests := []struct{ cell, want string }{
		{"=HYPERLINK(\"http://evil\")", "'=HYPERLINK(\"http://evil\")"},
		{"+1+1", "'+1+1"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"", ""},
		{"Ana", "Ana"},
		{"ana=1@lincoln.test", "ana=1@lincoln.test"},
		{"'already", "'already"},
	}
	for _, tt := range tests {
		if got := neutraliseCell(tt.cell); got != tt.want {
			t.Errorf("neutraliseCell(%q) = %q, want %q", tt.cell, got, tt.want)
		}
	}
}

// The review shows each change field by field, by name, and a password
// change without either password.
func TestChangesShowEachFieldAndNoPassword(t *testing.T) {
	staff, science, chess := uuid.New(), uuid.New(), uuid.New()
	n := names{groups: map[uuid.UUID]string{staff: "Staff", science: "Science"}, tags: map[uuid.UUID]string{chess: "Chess"}}
	tests := []struct {
		name string
		diff account.Diff
		want []Change
	}{
		{"nothing", account.Diff{}, []Change{}},
		{"a password", account.Diff{Password: true}, []Change{{Field: "password"}}},
		{"names", account.Diff{FirstName: &account.TextChange{From: "Ana", To: "Anna"}, LastName: &account.TextChange{From: "Lima", To: "Lim"}},
			[]Change{{Field: "first_name", From: "Ana", To: "Anna"}, {Field: "last_name", From: "Lima", To: "Lim"}}},
		{"a group, by name", account.Diff{Group: &account.GroupChange{From: staff, To: science}}, []Change{{Field: "group", From: "Staff", To: "Science"}}},
		{"out of a group", account.Diff{Group: &account.GroupChange{From: staff}}, []Change{{Field: "group", From: "Staff", To: "no group"}}},
		{"tags added", account.Diff{TagsAdded: []uuid.UUID{chess}}, []Change{{Field: "tags", To: "+ Chess"}}},
		{"reactivated", account.Diff{Reactivate: true}, []Change{{Field: "active", From: "false", To: "true"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := n.changes(tt.diff)
			if len(got) != len(tt.want) {
				t.Fatalf("changes = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("changes = %+v, want %+v", got, tt.want)
				}
			}
		})
	}
}
