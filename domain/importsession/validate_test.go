package importsession

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
)

func TestValidateRow(t *testing.T) {
	group7B, tagRobotics := uuid.New(), uuid.New()
	newContext := func() RowContext {
		seen := map[string]int{"dup@school.org": 2}
		holders := map[string]*account.Account{
			"known@school.org": account.FromSnapshot(account.Snapshot{ID: uuid.New(), OrgID: org, Email: "known@school.org", FirstName: "Kim", LastName: "Ode",
				Role: tenancy.RoleUser, Active: true, Version: 1}),
			"root@school.org": account.FromSnapshot(account.Snapshot{ID: uuid.New(), OrgID: org, Email: "root@school.org", FirstName: "Ria", LastName: "Root",
				Role: tenancy.RoleSystemAdmin, Active: true, Version: 1}),
			"elsewhere@other.org": account.FromSnapshot(account.Snapshot{ID: uuid.New(), OrgID: uuid.New(), Email: "elsewhere@other.org", Role: tenancy.RoleUser, Active: true}),
		}
		return RowContext{
			Terms:       account.ImportTerms{ImportID: importID, Importer: sysAdmin, Role: tenancy.RoleUser},
			GroupColumn: true,
			GroupID: func(name string) (uuid.UUID, bool) {
				return group7B, strings.EqualFold(name, "7b")
			},
			TagID: func(name string) (uuid.UUID, bool) {
				return tagRobotics, strings.EqualFold(name, "robotics")
			},
			Holder: func(key string) *account.Account { return holders[key] },
			FirstRowWith: func(key string, row int) int {
				if first, ok := seen[key]; ok {
					return first
				}
				seen[key] = row
				return row
			},
		}
	}
	tests := []struct {
		name   string
		in     RowInput
		full   bool
		status string
		codes  []string
	}{
		{"new", RowInput{Number: 1, FirstName: "Ana", LastName: "Lima", Email: "ana@school.org", HasPassword: true, Group: "7B", Tags: []string{"Robotics"}}, false, RowNew, nil},
		{"existing needs no password", RowInput{Number: 1, FirstName: "Kim", LastName: "Ode", Email: "Known@School.org"}, false, RowExisting, nil},
		{"blank", RowInput{Number: 1, Blank: true}, false, RowBlank, nil},
		{"everything wrong", RowInput{Number: 1, Email: "nope@", Group: "9Z", Tags: []string{"Chess"}}, false, RowInvalid,
			[]string{"first_name_missing", "last_name_missing", "group_unknown", "tag_unknown", "email_invalid", "password_missing"}},
		{"missing email", RowInput{Number: 1, FirstName: "A", LastName: "B", HasPassword: true}, false, RowInvalid, []string{"email_missing"}},
		{"duplicate in file by case", RowInput{Number: 9, FirstName: "A", LastName: "B", Email: "DUP@school.org", HasPassword: true}, false, RowInvalid, []string{"email_duplicate_in_file"}},
		{"other organization, worded without saying so", RowInput{Number: 1, FirstName: "A", LastName: "B", Email: "elsewhere@other.org", HasPassword: true}, false, RowInvalid, []string{"email_unavailable"}},
		{"a system administrator is out of any import's reach", RowInput{Number: 1, FirstName: "Ria", LastName: "Root", Email: "root@school.org", HasPassword: true}, false, RowInvalid, []string{"not_allowed_to_change"}},
		{"a NUL byte in a name is a problem, not a crash", RowInput{Number: 1, FirstName: "A\x00na", LastName: "B", Email: "nul@school.org", HasPassword: true}, false, RowInvalid, []string{"invisible_character"}},
		{"a control character in an email", RowInput{Number: 1, FirstName: "A", LastName: "B", Email: "a\x01b@school.org", HasPassword: true}, false, RowInvalid, []string{"invisible_character"}},
		{"weak password", RowInput{Number: 1, FirstName: "A", LastName: "B", Email: "a@school.org", HasPassword: true, PasswordProblems: []Problem{{Code: "password_too_short", Message: "too short"}}}, false, RowInvalid, []string{"password_policy"}},
		{"full name split", RowInput{Number: 1, FullName: "Lima, Ana", Email: "ana2@school.org", HasPassword: true}, true, RowNew, nil},
		{"full name one word", RowInput{Number: 1, FullName: "Madonna", Email: "m@school.org", HasPassword: true}, true, RowInvalid, []string{"full_name_unsplittable"}},
		{"full name missing", RowInput{Number: 1, Email: "m2@school.org", HasPassword: true}, true, RowInvalid, []string{"full_name_missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := newContext()
			ctx.FullNameColumn = tt.full
			out := ValidateRow(tt.in, ctx)
			var codes []string
			for _, p := range out.Problems {
				codes = append(codes, p.Code)
				if p.Message == "" || p.Field == "" {
					t.Errorf("problem without field or message: %+v", p)
				}
			}
			if out.Status != tt.status || strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Fatalf("status %s problems %v, want %s %v", out.Status, codes, tt.status, tt.codes)
			}
		})
	}
	out := ValidateRow(RowInput{Number: 1, FullName: "Lima, Ana", Email: "ana3@school.org", HasPassword: true, Group: "7b", Tags: []string{"robotics"}}, func() RowContext {
		c := newContext()
		c.FullNameColumn = true
		return c
	}())
	if out.FirstName != "Ana" || out.LastName != "Lima" || out.GroupID != group7B || len(out.TagIDs) != 1 {
		t.Fatalf("outcome %+v", out)
	}
}
