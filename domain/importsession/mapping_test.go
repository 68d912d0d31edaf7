package importsession

import (
	"errors"
	"testing"
)

func TestNewMapping(t *testing.T) {
	hs := []string{"First", "Last", "Full", "Mail", "Pw", "Group", "Tag A", "Tag B"}
	tests := []struct {
		name    string
		columns map[string]string
		codes   []string
	}{
		{"first and last", map[string]string{"First": "first_name", "Last": "last_name", "Mail": "email"}, nil},
		{"full name, two tag columns", map[string]string{"Full": "full_name", "Mail": "email", "Tag A": "tag", "Tag B": "tag", "Group": "group"}, nil},
		{"no email", map[string]string{"First": "first_name", "Last": "last_name"}, []string{"email_required"}},
		{"only a first name", map[string]string{"First": "first_name", "Mail": "email"}, []string{"names_required"}},
		{"full and first", map[string]string{"First": "first_name", "Last": "last_name", "Full": "full_name", "Mail": "email"}, []string{"names_mapped_twice"}},
		{"email twice", map[string]string{"Full": "full_name", "Mail": "email", "Pw": "email"}, []string{"mapped_twice"}},
		{"unknown column", map[string]string{"Full": "full_name", "Mail": "email", "Phone": "ignore"}, []string{"unknown_column"}},
		{"unknown field", map[string]string{"Full": "full_name", "Mail": "email", "Pw": "secret"}, []string{"unknown_field"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMapping(hs, tt.columns, sysAdmin)
			var invalid *InvalidMappingError
			var codes []string
			if errors.As(err, &invalid) {
				for _, p := range invalid.Problems {
					codes = append(codes, p.Code)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(codes) != len(tt.codes) || (len(codes) > 0 && codes[0] != tt.codes[0]) {
				t.Fatalf("problems %v, want %v", codes, tt.codes)
			}
			if err == nil && m.Columns()["Pw"] != "ignore" && tt.columns["Pw"] == "" {
				t.Fatalf("an unmapped header is not ignored: %v", m.Columns())
			}
		})
	}
}

func TestSuggestMapping(t *testing.T) {
	tests := []struct {
		template string
		headers  []string
		want     map[string]string
	}{
		{"Google Workspace", []string{"First Name [Required]", "Last Name [Required]", "Email Address [Required]", "Password [Required]", "Org Unit Path [Required]", "Recovery Phone [MUST BE IN THE E.164 FORMAT]"},
			map[string]string{"First Name [Required]": "first_name", "Last Name [Required]": "last_name", "Email Address [Required]": "email", "Password [Required]": "password", "Org Unit Path [Required]": "group", "Recovery Phone [MUST BE IN THE E.164 FORMAT]": "ignore"}},
		{"Microsoft Entra", []string{"Name [displayName] Required", "User name [userPrincipalName] Required", "Initial password [passwordProfile] Required", "Block sign in (Yes/No) [accountEnabled] Required", "First name [givenName]", "Last name [surname]"},
			map[string]string{"Name [displayName] Required": "ignore", "User name [userPrincipalName] Required": "email", "Initial password [passwordProfile] Required": "password", "Block sign in (Yes/No) [accountEnabled] Required": "ignore", "First name [givenName]": "first_name", "Last name [surname]": "last_name"}},
		{"Moodle", []string{"username", "firstname", "lastname", "email", "password", "cohort1"},
			map[string]string{"username": "ignore", "firstname": "first_name", "lastname": "last_name", "email": "email", "password": "password", "cohort1": "group"}},
		{"SIS export", []string{"Student_ID", "Student First Name", "Last_Name", "Student_Email", "Homeroom", "Tags"},
			map[string]string{"Student_ID": "ignore", "Student First Name": "first_name", "Last_Name": "last_name", "Student_Email": "email", "Homeroom": "group", "Tags": "tag"}},
		{"full name", []string{"Full Name", "E-mail", "Prénom"},
			map[string]string{"Full Name": "full_name", "E-mail": "email", "Prénom": "first_name"}},
		{"Entra display name only", []string{"Name [displayName] Required", "User name [userPrincipalName] Required"},
			map[string]string{"Name [displayName] Required": "full_name", "User name [userPrincipalName] Required": "email"}},
	}
	for _, tt := range tests {
		t.Run(tt.template, func(t *testing.T) {
			got := SuggestMapping(tt.headers, true)
			for h, want := range tt.want {
				if got[h] != want {
					t.Errorf("%q → %q, want %q", h, got[h], want)
				}
			}
		})
	}
	if got := SuggestMapping([]string{"Email", "Class"}, false)["Class"]; got != "ignore" {
		t.Errorf("a group column was suggested to an administrator: %q", got)
	}
}
