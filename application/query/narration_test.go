package query

import (
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

var (
	group7B  = uuid.MustParse("00000000-0000-0000-0000-0000000000b7")
	robotics = uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	science  = uuid.MustParse("00000000-0000-0000-0000-00000000005c")
	importID = uuid.MustParse("11111111-2222-3333-4444-555555555555")
	stranger = uuid.MustParse("99999999-8888-7777-6666-555555555555")
	self     = uuid.MustParse("aaaaaaaa-8888-7777-6666-555555555555")
)

func testNames() auditNames {
	return auditNames{
		groups:  map[uuid.UUID]string{group7B: "7B"},
		tags:    map[uuid.UUID]string{robotics: "Robotics", science: "Science"},
		presets: map[uuid.UUID]string{},
		imports: map[uuid.UUID]string{importID: "people.csv"},
	}
}

type typed interface{ EventType() string }

// The audit trail reads as sentences for an auditor, with names instead of
// ids, and never a secret.
func TestNarrateEvents(t *testing.T) {
	upload := importsession.FileUploaded{FileName: "people.csv", FileSize: 12 * 1024, Rows: 40, FileSHA256: strings.Repeat("ab12", 16),
		Headers: []string{"First Name", "Last Name", "Email", "Notes"}, AccountType: "users", SendWelcomeEmail: true}
	tests := []struct {
		name  string
		event typed
		want  string
		link  string
	}{
		{"upload", upload, "Uploaded people.csv (12 KB, 40 rows, SHA-256 ab12ab12ab12…) to create users, with a welcome email", ""},
		{"mapping in the file's order", importsession.ColumnsMapped{Mapping: map[string]string{"Notes": "ignore", "Email": "email", "Last Name": "last_name", "First Name": "first_name"}},
			"Matched the columns: First Name → First name, Last Name → Last name, Email → Email, Notes → not imported", ""},
		{"defaults", importsession.DefaultsChosen{PasswordSet: true, ForcePasswordChange: true, GroupID: group7B, TagIDs: []uuid.UUID{robotics}},
			"Chose the defaults: default password set (not shown), must change password at first sign-in, group 7B, tag Robotics", ""},
		{"defaults without anything", importsession.DefaultsChosen{},
			"Chose the defaults: no default password (each row gives its own), may keep the password, no default group, no tags", ""},
		{"defaults with an unknown group", importsession.DefaultsChosen{GroupID: stranger, TagIDs: []uuid.UUID{robotics, science}},
			"Chose the defaults: no default password (each row gives its own), may keep the password, group unknown (99999999), tags Robotics and Science", ""},
		{"validated", importsession.RowsValidated{Total: 41, New: 30, Existing: 5, Invalid: 5, Blank: 1, ProblemCounts: map[string]int{"email_invalid": 3, "email_duplicate_in_file": 2}},
			"Checked the rows: 30 new, 5 existing, 5 invalid, 1 blank row skipped. Problems: email duplicate in file (2), email invalid (3)", ""},
		{"policy", importsession.ExistingAccountsPolicyChosen{UpdateGroup: true, UpdateTags: true}, "Chose what changes on existing accounts: the group and the tags", ""},
		{"policy nothing", importsession.ExistingAccountsPolicyChosen{}, "Chose to leave existing accounts unchanged", ""},
		{"page viewed", importsession.VerificationPageViewed{Page: 2}, "Reviewed page 2 of the rows", ""},
		{"skipped", importsession.VerificationSkipped{}, "Skipped the review of the rows", ""},
		{"committed", importsession.ImportCommitted{ExpectedNew: 30, ExpectedExisting: 5, ExpectedChanged: 3}, "Committed: 30 accounts to create, 3 existing to change, 2 unchanged", ""},
		{"completed", importsession.ImportCompleted{Created: 30, Updated: 5, Failed: 1, FailedRows: []importsession.FailedRow{{Row: 7, Email: "a@b.c", Code: "email_taken"}}},
			"Completed: 30 created, 5 changed, 0 unchanged, 0 skipped, 1 failed. Failed rows: row 7 (a@b.c, email taken)", ""},
		{"cancelled", importsession.ImportCancelled{}, "Cancelled before any account was created", ""},
		{"summary", importsession.ImportSummaryEmailed{To: "root@lincoln.edu"}, "Emailed the summary to root@lincoln.edu", ""},
		{"classroom", importsession.ClassroomRosterFetched{GoogleEmail: "t@lincoln.edu", People: 25, GroupID: group7B,
			Courses: []importsession.ClassroomCourse{{Name: "Science", Section: "7B"}, {Name: "Art"}}},
			"Fetched the Google Classroom roster of Science (7B) and Art as t@lincoln.edu: 25 people, students only, group 7B, without a welcome email", ""},
		{"account created by an import", account.AccountCreated{Email: "ana@lincoln.edu", FirstName: "Ana", LastName: "Lima", Role: "user", GroupID: group7B,
			TagIDs: []uuid.UUID{robotics}, ImportID: importID, ImportRow: 3, MustChangePassword: true},
			"Created the account ana@lincoln.edu (Ana Lima) as a user, group 7B, tag Robotics, must change password at first sign-in, from row 3 of people.csv",
			"/imports/" + importID.String() + "/audit"},
		{"account created on the command line", account.AccountCreated{Email: "root@lincoln.edu", Role: "system_admin"},
			"Created the account root@lincoln.edu as a system administrator, from the command line", ""},
		{"account updated by another's import", account.AccountUpdated{ImportID: stranger, ImportRow: 5, PasswordReplaced: true, Group: &account.GroupChange{To: group7B}},
			"Row 5 of an import replaced the password (not shown) and moved from no group to group 7B", "/imports/" + stranger.String() + "/audit"},
		{"password", account.PasswordChanged{}, "Password changed (not shown)", ""},
		{"welcome", account.WelcomeEmailQueued{}, "Welcome email queued for sending", ""},
		{"email changed by the person", account.EmailChanged{AccountID: self, From: "ana@lincoln.edu", To: "ana.lima@lincoln.edu", RequestedBy: self},
			"Email changed from ana@lincoln.edu to ana.lima@lincoln.edu, asked for by the person themself and confirmed from the new address; the other sessions were ended and the old address was told", ""},
		{"email changed by an administrator", account.EmailChanged{AccountID: self, From: "ana@lincoln.edu", To: "ana.lima@lincoln.edu", RequestedBy: stranger},
			"Email changed from ana@lincoln.edu to ana.lima@lincoln.edu, asked for by an administrator and confirmed from the new address; the other sessions were ended and the old address was told", ""},
		{"signed in with a password", account.SignedIn{Method: account.SignInPassword}, "Signed in with a password", ""},
		{"signed in with Google", account.SignedIn{Method: account.SignInGoogle}, "Signed in with Google", ""},
		{"welcome undelivered", account.WelcomeEmailUndelivered{Reason: "550 5.1.1 no such mailbox"},
			"Welcome email could not be delivered; the mail server answered: 550 5.1.1 no such mailbox", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := narrator{names: testNames(), headers: upload.Headers}
			got, link := n.describe(tt.event.EventType(), tt.event)
			if got != tt.want {
				t.Errorf("sentence\n got %q\nwant %q", got, tt.want)
			}
			if link.URL != tt.link {
				t.Errorf("link %q, want %q", link.URL, tt.link)
			}
		})
	}
}

// The upload's column order carries over to the mapping later in the trail,
// and an event this build cannot read is still listed.
func TestNarrateTrail(t *testing.T) {
	n := narrator{names: testNames()}
	events := []struct {
		eventType string
		decoded   any
	}{
		{"FileUploaded", importsession.FileUploaded{FileName: "a.csv", Headers: []string{"Mail", "Name"}}},
		{"ColumnsMapped", importsession.ColumnsMapped{Mapping: map[string]string{"Name": "full_name", "Mail": "email"}}},
		{"SomethingNew", nil},
	}
	want := []string{
		"Uploaded a.csv (0 bytes, 0 rows, SHA-256 ) to create users, without a welcome email",
		"Matched the columns: Mail → Email, Name → Full name",
		"Recorded SomethingNew (see the details)",
	}
	for i, e := range events {
		if got, _ := n.describe(e.eventType, e.decoded); got != want[i] {
			t.Errorf("entry %d: %q, want %q", i, got, want[i])
		}
	}
}

func TestWordings(t *testing.T) {
	tests := []struct{ got, want string }{
		{fileSize(0), "0 bytes"}, {fileSize(1), "1 byte"}, {fileSize(1023), "1023 bytes"}, {fileSize(1024), "1 KB"},
		{fileSize(12*1024 + 1), "13 KB"}, {fileSize(3 * 1024 * 1024 / 2), "1.5 MB"},
		{joinAnd(nil), "none"}, {joinAnd([]string{"a"}), "a"}, {joinAnd([]string{"a", "b"}), "a and b"}, {joinAnd([]string{"a", "b", "c"}), "a, b and c"},
		{roleWithArticle("admin"), "an administrator"}, {roleWithArticle("user"), "a user"}, {roleWithArticle("x"), "the role x"},
		{shortDigest("abc"), "abc"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}
