package web

import (
	"encoding/json"
	"html/template"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

var (
	group7B  = uuid.MustParse("00000000-0000-0000-0000-0000000000b7")
	robotics = uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	science  = uuid.MustParse("00000000-0000-0000-0000-00000000005c")
	importID = uuid.MustParse("11111111-2222-3333-4444-555555555555")
	stranger = uuid.MustParse("99999999-8888-7777-6666-555555555555")
)

func testNames() referenceNames {
	return referenceNames{
		groups:  map[uuid.UUID]string{group7B: "7B"},
		tags:    map[uuid.UUID]string{robotics: "Robotics", science: "Science"},
		presets: map[uuid.UUID]string{},
		imports: map[uuid.UUID]string{importID: "people.csv"},
	}
}

func event(t *testing.T, v interface{ EventType() string }) query.AuditEvent {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return query.AuditEvent{Type: v.EventType(), Data: data}
}

// The audit trail reads as sentences for an auditor, with names instead of
// ids, and never a secret.
func TestNarrateEvents(t *testing.T) {
	upload := importsession.FileUploaded{FileName: "people.csv", FileSize: 12 * 1024, Rows: 40, FileSHA256: strings.Repeat("ab12", 16),
		Headers: []string{"First Name", "Last Name", "Email", "Notes"}, AccountType: "users", SendWelcomeEmail: true}
	tests := []struct {
		name  string
		event interface{ EventType() string }
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
		{"committed", importsession.ImportCommitted{ExpectedNew: 30, ExpectedExisting: 5}, "Committed: 30 accounts to create, 5 existing to update", ""},
		{"completed", importsession.ImportCompleted{Created: 30, Updated: 5, Failed: 1, FailedRows: []importsession.FailedRow{{Row: 7, Email: "a@b.c", Code: "email_taken"}}},
			"Completed: 30 created, 5 updated, 0 skipped, 1 failed. Failed rows: row 7 (a@b.c, email taken)", ""},
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
		{"account updated by another's import", account.AccountUpdated{ImportID: stranger, ImportRow: 5, PasswordChanged: true, GroupChanged: true, GroupID: group7B},
			"Row 5 of an import set the password (not shown) and moved to group 7B", "/imports/" + stranger.String() + "/audit"},
		{"password", account.PasswordChanged{}, "Password changed (not shown)", ""},
		{"welcome", account.WelcomeEmailQueued{}, "Welcome email queued for sending", ""},
		{"welcome undelivered", account.WelcomeEmailUndelivered{Reason: "550 5.1.1 no such mailbox"},
			"Welcome email could not be delivered; the mail server answered: 550 5.1.1 no such mailbox", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := narrator{names: testNames(), headers: upload.Headers}
			got := n.entry(event(t, tt.event))
			if got.Sentence != tt.want {
				t.Errorf("sentence\n got %q\nwant %q", got.Sentence, tt.want)
			}
			if got.LinkURL != tt.link {
				t.Errorf("link %q, want %q", got.LinkURL, tt.link)
			}
			if got.Who != "Rollcall (automatic)" || !strings.Contains(got.Raw, "\n") && got.Raw != "{}" {
				t.Errorf("who %q, raw %q", got.Who, got.Raw)
			}
		})
	}
}

// The upload's column order carries over to the mapping later in the trail,
// and an unknown or unreadable event is still listed.
func TestNarrateTrail(t *testing.T) {
	upload := event(t, importsession.FileUploaded{FileName: "a.csv", Headers: []string{"Mail", "Name"}})
	upload.Actor.Email = "root@lincoln.edu"
	entries := narrate([]query.AuditEvent{
		upload,
		event(t, importsession.ColumnsMapped{Mapping: map[string]string{"Name": "full_name", "Mail": "email"}}),
		{Type: "SomethingNew", Data: json.RawMessage(`{"A":1}`)},
		{Type: "ColumnsMapped", Data: json.RawMessage(`[1]`)},
	}, testNames())
	want := []string{
		"Uploaded a.csv (0 bytes, 0 rows, SHA-256 ) to create users, without a welcome email",
		"Matched the columns: Mail → Email, Name → Full name",
		"Recorded SomethingNew (see the details)",
		"Recorded ColumnsMapped (see the details).",
	}
	for i, w := range want {
		if entries[i].Sentence != w {
			t.Errorf("entry %d: %q, want %q", i, entries[i].Sentence, w)
		}
	}
	if entries[0].Who != "root@lincoln.edu" {
		t.Errorf("who: %q", entries[0].Who)
	}
}

func TestParseAccountFilter(t *testing.T) {
	tests := []struct {
		query   string
		want    query.AccountFilter
		problem string
	}{
		{"", query.AccountFilter{Page: 1}, ""},
		{"email=+Ana@x.org+&page=3&group_id=" + group7B.String(), query.AccountFilter{Email: "Ana@x.org", GroupID: group7B, Page: 3}, ""},
		{"tag_id=" + robotics.String() + "&import_id=" + importID.String(), query.AccountFilter{TagID: robotics, ImportID: importID, Page: 1}, ""},
		{"group_id=7B", query.AccountFilter{}, "The group in this address"},
		{"tag_id=x", query.AccountFilter{}, "The tag in this address"},
		{"import_id=1", query.AccountFilter{}, "The import in this address"},
		{"page=0", query.AccountFilter{}, "page number"},
		{"page=two", query.AccountFilter{}, "page number"},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		got, problem := parseAccountFilter(q)
		if tt.problem != "" {
			if !strings.Contains(problem, tt.problem) {
				t.Errorf("%q: problem %q, want one with %q", tt.query, problem, tt.problem)
			}
			continue
		}
		if problem != "" || got != tt.want {
			t.Errorf("%q: %+v %q, want %+v", tt.query, got, problem, tt.want)
		}
	}
}

func TestPagination(t *testing.T) {
	tests := []struct{ total, size, pages int }{{0, 100, 1}, {1, 100, 1}, {100, 100, 1}, {101, 100, 2}, {250, 100, 3}}
	for _, tt := range tests {
		if got := pageCount(tt.total, tt.size); got != tt.pages {
			t.Errorf("pageCount(%d, %d) = %d, want %d", tt.total, tt.size, got, tt.pages)
		}
	}
	q, _ := url.ParseQuery("email=a%2Bb@x.org&group_id=g&page=1&junk=1")
	if got := pageURL(q, 2); got != "/accounts?email=a%2Bb%40x.org&group_id=g&page=2" {
		t.Errorf("pageURL: %s", got)
	}
}

func TestWordings(t *testing.T) {
	tests := []struct{ got, want string }{
		{fileSize(0), "0 bytes"}, {fileSize(1), "1 byte"}, {fileSize(1023), "1023 bytes"}, {fileSize(1024), "1 KB"},
		{fileSize(12*1024 + 1), "13 KB"}, {fileSize(3 * 1024 * 1024 / 2), "1.5 MB"},
		{joinAnd(nil), "none"}, {joinAnd([]string{"a"}), "a"}, {joinAnd([]string{"a", "b"}), "a and b"}, {joinAnd([]string{"a", "b", "c"}), "a, b and c"},
		{roleWithArticle("admin"), "an administrator"}, {roleWithArticle("user"), "a user"}, {roleWithArticle("x"), "the role x"},
		{shortDigest("abc"), "abc"}, {roleLabel("admin"), "Administrator"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%q, want %q", tt.got, tt.want)
		}
	}
}

// The pages render with realistic data: a field renamed in Go and not in a
// template fails here rather than in a browser.
func TestAdminTemplatesRender(t *testing.T) {
	actor := &tenancy.Actor{Email: "root@lincoln.edu", Role: tenancy.RoleSystemAdmin}
	admin := &tenancy.Actor{Email: "ada@lincoln.edu", Role: tenancy.RoleAdmin}
	at := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	groups := []command.Named{{ID: group7B, Name: "7B"}}
	tests := []struct {
		page  string
		v     view
		wants []string
	}{
		{"accounts", view{Actor: actor, Data: accountsData{GroupID: group7B.String(), Groups: groups, Listed: true, Filtered: true, Total: 101, Page: 2, Pages: 2,
			Previous: "/accounts?page=1", FirstShown: 101, LastShown: 101,
			Accounts: []accountRow{{Email: "a+b@x.org", Name: "A B", Role: "User", Group: "7B", Tags: []string{"R", "S"}, CreatedAt: at, ImportID: importID.String(), ImportName: "people.csv"}}}},
			[]string{`<option value="` + group7B.String() + `" selected>7B</option>`, "Page 2 of 2", `/accounts/audit?email=a%2bb%40x.org`, "R, S", "people.csv", "101 to 101 shown"}},
		{"accounts", view{Actor: actor, Error: "The group in this address is not one we know.", Data: accountsData{GroupID: "nope"}},
			[]string{"not one we know"}},
		{"imports", view{Actor: admin, Data: []query.Import{
			{ID: importID, Source: "csv", State: "validated", File: query.File{Name: "people.csv", Rows: 3}, Counts: query.Counts{Total: 3, New: 2, Invalid: 1}, CreatedByEmail: "ada@lincoln.edu", CreatedAt: at},
			{ID: stranger, Source: "google_classroom", State: "completed", File: query.File{Name: "Google Classroom"}, Summary: &query.Summary{Created: 4}, CreatedAt: at},
		}}, []string{"that you started", "Continue", "Checked, waiting for review", "Google Classroom", "4 created, 0 updated", "/accounts?import_id=" + stranger.String()}},
		{"audit", view{Actor: actor, Data: auditData{Subject: "people.csv", ImportID: importID.String(), Entries: []auditEntry{
			{Position: 7, At: at, Who: "root@lincoln.edu", Type: "FileUploaded", Sentence: "Uploaded people.csv", LinkURL: "/imports/x/audit", LinkText: "The import's audit trail", Raw: "{\n  \"A\": 1\n}"}}}},
			[]string{"Audit trail of people.csv", "<details>", "Uploaded people.csv", `datetime="2026-01-02T03:04:00Z"`, "The import&#39;s audit trail"}},
		{"settings", view{Actor: actor, CSRF: "tok", Data: settingsData{Organization: command.Organization{Name: "Lincoln High", WelcomeEmailEnabled: true}, CanChange: true, Saved: "The group is added.",
			Sections: []settingsSection{{Kind: "groups", Heading: "Groups", Singular: "group", Items: groups, Typed: "7C"}}}},
			[]string{"Settings of Lincoln High", `id="new-groups"`, `value="7C"`, `name="csrf" value="tok"`, "checked", "<li>7B</li>", "The group is added."}},
		{"settings", view{Actor: admin, Data: settingsData{Organization: command.Organization{Name: "Lincoln High"}, Sections: []settingsSection{{Kind: "tags", Heading: "Tags", Singular: "tag"}}}},
			[]string{"Only a system administrator can change", "No tag yet.", "<strong id=\"welcome-email-state\">Off</strong>"}},
	}
	for _, tt := range tests {
		t.Run(tt.page, func(t *testing.T) {
			tpl, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+tt.page+".html")
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := tpl.Execute(&b, tt.v); err != nil {
				t.Fatal(err)
			}
			html := b.String()
			for _, want := range tt.wants {
				if !strings.Contains(html, want) {
					t.Errorf("%s page lacks %q", tt.page, want)
				}
			}
			if strings.Contains(html, "style=") || strings.Contains(html, "<script>") {
				t.Errorf("%s page has inline style or script", tt.page)
			}
			if tt.v.Actor == admin && strings.Contains(html, `action="/settings/`) {
				t.Errorf("an administrator gets a settings form")
			}
		})
	}
}
