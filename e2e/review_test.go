package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// people writes a CSV of n people: row i is Given<i> Family<i>, email
// p<i>@lincoln.edu, with the group and tag columns given by fn (empty
// leaves them empty).
func people(n int, fn func(i int) (last, group, tag string)) []byte {
	var b strings.Builder
	b.WriteString("First Name,Last Name,Email,Group,Tag\n")
	for i := 1; i <= n; i++ {
		last, group, tag := fmt.Sprintf("Family%d", i), "", ""
		if fn != nil {
			last, group, tag = fn(i)
		}
		fmt.Fprintf(&b, "Given%d,%s,p%d@lincoln.edu,%s,%s\n", i, last, i, group, tag)
	}
	return []byte(b.String())
}

var peopleMapping = map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Group": "group", "Tag": "tag"}

// validated uploads a file as the system administrator and validates it
// with the given defaults.
func validated(t *testing.T, c *client, name string, file []byte, defaults map[string]any) string {
	t.Helper()
	status, imp := c.uploadBytes(name, file, nil)
	if status != 201 {
		t.Fatalf("upload %s: %d %v", name, status, imp)
	}
	id := imp["id"].(string)
	c.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": peopleMapping})
	c.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", defaults)
	c.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	c.waitForState(id, "validated")
	return id
}

// accountEvents counts the events recorded on account streams.
func accountEvents(t *testing.T, db string) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE stream_id LIKE 'account-%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestReviewIsADryRun: the same file twice is unchanged throughout and
// writes nothing; a file that changes 3 of 10 accounts shows exactly those
// 3 with what changes, and the commit changes exactly them; a commit past
// the organization's change threshold needs the exact number confirmed.
func TestReviewIsADryRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})
	root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "8C"})
	chess := root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Chess"})["id"].(string)
	root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Choir"})
	defaults := map[string]any{"password": "Welcome-2026!", "force_password_change": true, "tag_ids": []string{chess}}
	original := people(10, func(i int) (string, string, string) { return fmt.Sprintf("Family%d", i), "7B", "" })

	// The first import creates the ten.
	first := validated(t, root, "class.csv", original, defaults)
	root.must(200, "POST", "/api/v1/imports/"+first+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+first+"/commit", nil)
	if s := root.waitForState(first, "completed")["summary"].(map[string]any); s["created"] != 10.0 {
		t.Fatalf("first import: %v", s)
	}
	before := accountEvents(t, w.db)

	// The same file again: every row unchanged, whatever is ticked short of
	// the password, and nothing to commit.
	again := validated(t, root, "class.csv", original, defaults)
	imp := root.must(200, "PUT", "/api/v1/imports/"+again+"/existing-accounts",
		map[string]bool{"update_group": true, "update_tags": true, "update_names": true})
	if c := imp["counts"].(map[string]any); c["existing"] != 10.0 || c["unchanged"] != 10.0 || c["changed"] != 0.0 || c["new"] != 0.0 {
		t.Fatalf("the same file again: %v", c)
	}
	for _, r := range root.must(200, "GET", "/api/v1/imports/"+again+"/rows", nil)["rows"].([]any) {
		if row := r.(map[string]any); row["status"] != "unchanged" || len(row["changes"].([]any)) != 0 {
			t.Fatalf("row of the same file: %v", row)
		}
	}
	root.must(200, "POST", "/api/v1/imports/"+again+"/verification", map[string]bool{"skip": true})
	if status, body := root.do("POST", "/api/v1/imports/"+again+"/commit", nil); status != 409 || errorCode(body) != "nothing_to_import" {
		t.Fatalf("commit of an unchanged file: %d %v", status, body)
	}
	if after := accountEvents(t, w.db); after != before {
		t.Fatalf("the unchanged file recorded %d account events", after-before)
	}

	// A file that changes three of the ten: a last name, a group, a tag.
	changedFile := people(10, func(i int) (string, string, string) {
		switch i {
		case 3:
			return "Renamed", "7B", ""
		case 5:
			return "Family5", "8C", ""
		case 8:
			return "Family8", "7B", "Choir"
		}
		return fmt.Sprintf("Family%d", i), "7B", ""
	})
	three := validated(t, root, "class-fixed.csv", changedFile, defaults)
	imp = root.must(200, "PUT", "/api/v1/imports/"+three+"/existing-accounts",
		map[string]bool{"update_group": true, "update_tags": true, "update_names": true})
	if c := imp["counts"].(map[string]any); c["changed"] != 3.0 || c["unchanged"] != 7.0 {
		t.Fatalf("three changed: %v", c)
	}
	page := root.must(200, "GET", "/api/v1/imports/"+three+"/rows?status=changed", nil)
	var got []string
	for _, r := range page["rows"].([]any) {
		row := r.(map[string]any)
		var changes []string
		for _, c := range row["changes"].([]any) {
			ch := c.(map[string]any)
			changes = append(changes, fmt.Sprintf("%v:%v→%v", ch["field"], ch["from"], ch["to"]))
		}
		got = append(got, fmt.Sprintf("%v %v %s", row["row"], row["status"], strings.Join(changes, ";")))
	}
	sort.Strings(got)
	want := []string{"3 changed last_name:Family3→Renamed", "5 changed group:7B→8C", "8 changed tags:<nil>→+ Choir"}
	if strings.Join(got, "|") != strings.Join(want, "|") || page["total"] != 3.0 {
		t.Fatalf("changed rows:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	root.must(200, "POST", "/api/v1/imports/"+three+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+three+"/commit", nil)
	if s := root.waitForState(three, "completed")["summary"].(map[string]any); s["updated"] != 3.0 || s["unchanged"] != 7.0 || s["created"] != 0.0 {
		t.Fatalf("three changed, summary: %v", s)
	}
	if after := accountEvents(t, w.db); after != before+3 {
		t.Fatalf("changing three accounts recorded %d events", after-before)
	}

	// The mass-change guard: 25 of the organization's 32 accounts is over
	// its 10 %; the commit waits for the exact number.
	root.must(200, "PATCH", "/api/v1/organization", map[string]int{"change_threshold_percent": 10})
	more := validated(t, root, "thirty.csv", people(30, nil), map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	root.must(200, "POST", "/api/v1/imports/"+more+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+more+"/commit", nil)
	root.waitForState(more, "completed")
	renamed := people(25, func(i int) (string, string, string) { return fmt.Sprintf("Moved%d", i), "", "" })
	guarded := validated(t, root, "rename.csv", renamed, map[string]any{"force_password_change": true})
	root.must(200, "PUT", "/api/v1/imports/"+guarded+"/existing-accounts", map[string]bool{"update_names": true})
	root.must(200, "POST", "/api/v1/imports/"+guarded+"/verification", map[string]bool{"skip": true})
	status, body := root.do("POST", "/api/v1/imports/"+guarded+"/commit", nil)
	details, _ := body["error"].(map[string]any)["details"].(map[string]any)
	if status != 409 || errorCode(body) != "change_threshold_exceeded" || details["changed"] != 25.0 || details["existing"] != 32.0 || details["percent"] != 78.0 {
		t.Fatalf("over the threshold: %d %v", status, body)
	}
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "This will change 25 existing accounts (78%") || !strings.Contains(msg, "Type 25 to confirm") {
		t.Fatalf("message: %s", msg)
	}
	if status, body := root.do("POST", "/api/v1/imports/"+guarded+"/commit", map[string]int{"confirm_changed": 24}); status != 409 || errorCode(body) != "change_threshold_exceeded" {
		t.Fatalf("a wrong confirmation: %d %v", status, body)
	}
	root.must(202, "POST", "/api/v1/imports/"+guarded+"/commit", map[string]int{"confirm_changed": 25})
	if s := root.waitForState(guarded, "completed")["summary"].(map[string]any); s["updated"] != 25.0 {
		t.Fatalf("confirmed: %v", s)
	}
	var committed map[string]any
	for _, e := range root.must(200, "GET", "/api/v1/imports/"+guarded+"/events", nil)["events"].([]any) {
		if ev := e.(map[string]any); ev["type"] == "ImportCommitted" {
			committed = ev["data"].(map[string]any)
		}
	}
	if committed == nil || committed["ConfirmedChanged"] != 25.0 {
		t.Fatalf("the confirmation is audited: %v", committed)
	}
}
