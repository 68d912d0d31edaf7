package web

import (
	"html/template"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/tenancy"
)

var (
	group7B  = uuid.MustParse("00000000-0000-0000-0000-0000000000b7")
	robotics = uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	importID = uuid.MustParse("11111111-2222-3333-4444-555555555555")
	stranger = uuid.MustParse("99999999-8888-7777-6666-555555555555")
)

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

func TestRoleLabel(t *testing.T) {
	if got := roleLabel("admin"); got != "Administrator" {
		t.Errorf("roleLabel(admin) = %q", got)
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
		}}, []string{"that you started", "Continue", "Checked, waiting for review", "Google Classroom", "4 created, 0 changed", "/accounts?import_id=" + stranger.String()}},
		{"audit", view{Actor: actor, Data: auditData{Subject: "people.csv", ImportID: importID.String(), Entries: []auditEntry{
			{AuditEntry: query.AuditEntry{Position: 7, At: at, Who: "root@lincoln.edu", Type: "FileUploaded", Sentence: "Uploaded people.csv",
				Link: &query.AuditLink{URL: "/imports/x/audit", Text: "The import's audit trail"}}, Raw: "{\n  \"A\": 1\n}"}}}},
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
