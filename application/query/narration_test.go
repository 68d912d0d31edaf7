package query

import (
	"strings"
	"testing"
	"time"

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
		{"defaults generating passwords", importsession.DefaultsChosen{GeneratePasswords: true, ForcePasswordChange: true},
			"Chose the defaults: a password generated for each new account (for its login card, not shown), must change password at first sign-in, no default group, no tags", ""},
		{"login cards downloaded", importsession.LoginCardsDownloaded{ByEmail: "ada@school.org", Cards: 9},
			"Downloaded the login cards (9 cards with their generated passwords) as ada@school.org", ""},
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
		{"row corrected", importsession.RowCorrected{Row: 4, Changes: []importsession.FieldChange{{Field: "email", From: "ana@lincoln", To: "ana@lincoln.edu"},
			{Field: "last_name", From: "Van", To: "Van der Berg"}}, StatusBefore: "invalid", StatusAfter: "new"},
			`Corrected row 4 on the review: email from "ana@lincoln" to "ana@lincoln.edu" and last name from "Van" to "Van der Berg"; checked again, it is now new (was invalid)`, ""},
		{"undo started", importsession.UndoStarted{ByEmail: "root@lincoln.edu", Chunks: 2}, "Started undoing the import (root@lincoln.edu)", ""},
		{"undone", importsession.ImportUndone{Deactivated: 30, Restored: 4, Kept: 1, KeptAccounts: []importsession.KeptAccount{{Email: "kim@lincoln.edu", Fields: []string{"password"}}}},
			"Undone: 30 accounts it created deactivated, 4 accounts it changed put back as they were; on 1 account, fields changed again since were kept: kim@lincoln.edu (password)", ""},
		{"deactivated by an undo", account.AccountDeactivated{UndoOf: importID},
			"Deactivated: the import that created it, people.csv, was undone", "/imports/" + importID.String() + "/audit"},
		{"restored by an undo, a field kept", account.AccountRestored{UndoOf: importID, Group: &account.GroupChange{From: group7B}, PasswordRestored: true, Kept: []string{"tags"}},
			"The undo of people.csv put back the group (no group) and the password (not shown); kept tags, changed again since", "/imports/" + importID.String() + "/audit"},
		{"reactivated by a later import", account.AccountUpdated{ImportID: importID, ImportRow: 2, Reactivated: true},
			"Row 2 of people.csv reactivated the account", "/imports/" + importID.String() + "/audit"},
		{"password", account.PasswordChanged{}, "Password changed (not shown)", ""},
		{"signed in with Google", account.SignedIn{Method: "google"}, "Signed in with Google", ""},
		{"signed in with the password", account.SignedIn{Method: "password"}, "Signed in with the password", ""},
		{"departed found", importsession.DepartedFound{Departed: []importsession.DepartedPerson{{Email: "bo@lincoln.edu", Name: "Bo Ek"}}, Total: 1},
			"Found 1 student imported from the class before who is no longer in it: bo@lincoln.edu", ""},
		{"deactivate departed chosen", importsession.DeactivateDepartedChosen{Deactivate: true}, "Chose to deactivate the students who left the class", ""},
		{"departed kept active", importsession.DeactivateDepartedChosen{}, "Chose to keep the accounts of the students who left the class active", ""},
		{"departures deactivated", importsession.DeparturesDeactivated{Deactivated: 2, NotAllowed: 1},
			"Deactivated 2 accounts of students who left the class; 1 account no longer within the importer's reach left active", ""},
		{"completed with departures", importsession.ImportCompleted{Unchanged: 3, Deactivated: 1},
			"Completed: 0 created, 0 changed, 3 unchanged, 0 skipped, 0 failed, 1 departed deactivated", ""},
		{"account deactivated as departed", account.AccountDeactivated{DepartedFrom: importID},
			"Deactivated: no longer in the Google Classroom class that people.csv re-synced", "/imports/" + importID.String() + "/audit"},
		{"departures undone", importsession.DeparturesUndone{Reactivated: 1, Kept: 1},
			"Reactivated 1 account of students who had left the class; 1 account reactivated or deactivated again since left as it was", ""},
		{"undone with departures", importsession.ImportUndone{Reactivated: 2},
			"Undone: 0 accounts it created deactivated, 0 accounts it changed put back as they were, 2 accounts of departed students reactivated", ""},
		{"account reactivated by an undo", account.AccountReactivated{UndoOf: importID},
			"Reactivated: people.csv, which had deactivated it as no longer in the class, was undone", "/imports/" + importID.String() + "/audit"},
		{"welcome", account.WelcomeEmailQueued{}, "Welcome email queued for sending", ""},
		{"email change asked for by the person", account.EmailChangeRequested{AccountID: self, From: "ana@lincoln.edu", To: "ana.lima@lincoln.edu", RequestedBy: self,
			ExpiresAt: time.Date(2026, 11, 30, 9, 5, 0, 0, time.UTC)},
			"Asked by the person themself to change the email from ana@lincoln.edu to ana.lima@lincoln.edu; a link valid until 30 November 2026 09:05 UTC went to the new address, and nothing changes until it is followed", ""},
		{"email change asked for by an administrator", account.EmailChangeRequested{AccountID: self, From: "ana@lincoln.edu", To: "ana.lima@lincoln.edu", RequestedBy: stranger,
			ExpiresAt: time.Date(2026, 11, 30, 9, 5, 0, 0, time.UTC)},
			"Asked by an administrator to change the email from ana@lincoln.edu to ana.lima@lincoln.edu; a link valid until 30 November 2026 09:05 UTC went to the new address, and nothing changes until it is followed", ""},
		{"email changed by the person", account.EmailChanged{AccountID: self, From: "ana@lincoln.edu", To: "ana.lima@lincoln.edu", RequestedBy: self},
			"Email changed from ana@lincoln.edu to ana.lima@lincoln.edu, asked for by the person themself and confirmed from the new address; the other sessions were ended and the old address was told", ""},
		{"email changed by an administrator", account.EmailChanged{AccountID: self, From: "ana@lincoln.edu", To: "ana.lima@lincoln.edu", RequestedBy: stranger},
			"Email changed from ana@lincoln.edu to ana.lima@lincoln.edu, asked for by an administrator and confirmed from the new address; the other sessions were ended and the old address was told", ""},
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
