package importsession

import (
	"strings"
	"testing"
)

func TestTraps(t *testing.T) {
	withPasswordColumn := ColumnsMapped{Mapping: map[string]string{"First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail, "Class": FieldPassword}, MappedAt: now}
	noPassword := DefaultsChosen{ForcePasswordChange: true, ChosenAt: now}
	roster := ClassroomRosterFetched{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, ActorRole: string(sysAdmin.Role), People: 3, FetchedAt: now}
	tests := []struct {
		name  string
		given []any
		want  string // the codes, joined; the trap's sentence must name where
		where string
	}{
		{"just uploaded: the mapping is not chosen yet", []any{uploaded}, "", ""},
		{"mapped without a password column", []any{uploaded, mapped}, TrapNoPassword, "no password column"},
		{"defaults chosen without a password", []any{uploaded, mapped, noPassword}, TrapNoPassword, "no password column"},
		{"defaults chosen with a password", []any{uploaded, mapped, defaulted}, "", ""},
		{"defaults chosen to generate passwords", []any{uploaded, mapped, DefaultsChosen{GeneratePasswords: true, ForcePasswordChange: true, ChosenAt: now}}, "", ""},
		{"a password column", []any{uploaded, withPasswordColumn}, "", ""},
		{"a password column and no default", []any{uploaded, withPasswordColumn, noPassword}, "", ""},
		{"a Classroom roster before its defaults", []any{roster}, TrapNoPassword, "Google Classroom"},
		{"checked without a password: it can still go back", []any{uploaded, mapped, noPassword, started, validated}, TrapNoPassword, "no password column"},
		{"being checked", []any{uploaded, mapped, noPassword, started}, "", ""},
		{"committed", []any{uploaded, mapped, noPassword, started, validated, VerificationSkipped{}, committed}, "", ""},
	}
	for _, tt := range tests {
		imp := Rehydrate(tt.given)
		var codes []string
		for _, trap := range imp.Traps() {
			codes = append(codes, trap.Code)
			if !strings.Contains(trap.Message, tt.where) {
				t.Errorf("%s: %q does not say %q", tt.name, trap.Message, tt.where)
			}
		}
		if got := strings.Join(codes, ","); got != tt.want {
			t.Errorf("%s: traps %q, want %q", tt.name, got, tt.want)
		}
		if imp.Traps() == nil {
			t.Errorf("%s: nil traps (the API answers a list)", tt.name)
		}
	}
}

func TestNameKey(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		same bool
	}{
		{"7B", "7b", true},
		{" 7B ", "7B", true},
		{"/Students/7B", "7B", false},
		{"Élèves", "élèves", true},
	} {
		if got := NameKey(tt.a) == NameKey(tt.b); got != tt.same {
			t.Errorf("NameKey(%q) == NameKey(%q): %v, want %v", tt.a, tt.b, got, tt.same)
		}
	}
}
