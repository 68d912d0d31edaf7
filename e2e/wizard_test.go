package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// upload posts a file from testdata with form fields.
func (c *client) upload(file string, fields map[string]string) (int, map[string]any) {
	c.t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		c.t.Fatal(err)
	}
	return c.uploadBytes(file, data, fields)
}

func (c *client) uploadBytes(name string, data []byte, fields map[string]string) (int, map[string]any) {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", name)
	_, _ = fw.Write(data)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", c.base+"/api/v1/imports", &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (c *client) raw(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// must fails the test unless the call answered want.
func (c *client) must(want int, method, path string, body any) map[string]any {
	c.t.Helper()
	status, out := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: %d %v, want %d", method, path, status, out, want)
	}
	return out
}

func (c *client) waitForState(id, state string) map[string]any {
	c.t.Helper()
	var imp map[string]any
	waitUntil(c.t, "import "+id+" to be "+state, 60*time.Second, func() bool {
		imp = c.must(200, "GET", "/api/v1/imports/"+id, nil)
		return imp["state"] == state
	})
	return imp
}

type world struct {
	env        []string
	srv        *server
	db         string
	smtp       *mailtest.Server
	orgA, orgB string
	root       *client
	other      *client
}

// newWorld starts a server with two organizations: A (Lincoln High, with an
// existing user, a group 7B and a tag Robotics) and B (another district).
func newWorld(t *testing.T, extraEnv ...string) *world {
	w := &world{db: pgtest.NewDatabase(t), smtp: mailtest.Start(t)}
	w.env = append([]string{"DATABASE_URL=" + w.db, "SMTP_URL=" + w.smtp.URL(), "MAIL_FROM=rollcall@lincoln.edu", "IMPORT_BATCH_ROWS=3"}, extraEnv...)
	env := w.env
	rollcall(t, env, "migrate")
	out, _ := rollcall(t, env, "org", "create", "--name", "Lincoln High")
	w.orgA = strings.TrimSpace(out)
	out, _ = rollcall(t, env, "org", "create", "--name", "Other District")
	w.orgB = strings.TrimSpace(out)
	rollcall(t, env, "account", "create", "--org", w.orgA, "--email", "root@lincoln.edu", "--first", "Ria", "--last", "Root", "--role", "system_admin", "--password", "root-password-1")
	rollcall(t, env, "account", "create", "--org", w.orgA, "--email", "Kim.Existing@lincoln.edu", "--first", "Kim", "--last", "Existing", "--role", "user", "--password", "kims-password-1")
	rollcall(t, env, "account", "create", "--org", w.orgB, "--email", "taken@other.org", "--first", "Tia", "--last", "Taken", "--role", "system_admin", "--password", "other-password-1")
	w.srv = startServer(t, env)
	w.root = &client{t: t, base: w.srv.URL}
	w.root.signIn("root@lincoln.edu", "root-password-1")
	w.other = &client{t: t, base: w.srv.URL}
	w.other.signIn("taken@other.org", "other-password-1")
	return w
}

func TestFullWizardOverHTTP(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	group := root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})["id"].(string)
	tag := root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Robotics"})["id"].(string)
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})

	status, imp := root.upload("messy.csv", map[string]string{"send_welcome_email": "true"})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	file := imp["file"].(map[string]any)
	if imp["state"] != "uploaded" || imp["step"] != "mapping" || file["rows"] != 9.0 || file["encoding"] != "utf-8" || file["delimiter"] != "," {
		t.Fatalf("uploaded import: %v", imp)
	}
	suggested := imp["suggested_mapping"].(map[string]any)
	want := map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Password": "password", "Class": "group", "Tag": "tag"}
	for h, f := range want {
		if suggested[h] != f {
			t.Fatalf("suggested %q → %v, want %s (%v)", h, suggested[h], f, suggested)
		}
	}

	// Wrong step: validation before mapping and defaults.
	if status, body := root.do("POST", "/api/v1/imports/"+id+"/validation", nil); status != 409 || errorCode(body) != "wrong_wizard_step" {
		t.Fatalf("validation too early: %d %v", status, body)
	}
	// A mapping without email is refused with the reason.
	if status, body := root.do("PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name"}}); status != 422 || errorCode(body) != "invalid_mapping" {
		t.Fatalf("mapping without email: %d %v", status, body)
	}
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": suggested})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true, "tag_ids": []string{tag}})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	imp = root.waitForState(id, "validated")
	counts := imp["counts"].(map[string]any)
	if counts["new"] != 2.0 || counts["existing"] != 1.0 || counts["changed"] != 0.0 || counts["unchanged"] != 1.0 || counts["invalid"] != 6.0 || counts["total"] != 9.0 {
		t.Fatalf("counts: %v", counts)
	}

	// The invalid rows and why.
	page := root.must(200, "GET", "/api/v1/imports/"+id+"/rows?status=invalid&page=1", nil)
	got := map[float64]string{}
	for _, r := range page["rows"].([]any) {
		row := r.(map[string]any)
		var codes []string
		for _, p := range row["problems"].([]any) {
			codes = append(codes, p.(map[string]any)["code"].(string))
		}
		got[row["row"].(float64)] = strings.Join(codes, ",")
	}
	wantProblems := map[float64]string{
		2: "password_policy", 4: "email_invalid", 6: "email_duplicate_in_file", 8: "email_unavailable",
		9: "group_unknown", 10: "email_missing",
	}
	if fmt.Sprint(got) != fmt.Sprint(wantProblems) {
		t.Fatalf("problems: %v\nwant      %v", got, wantProblems)
	}
	all := root.must(200, "GET", "/api/v1/imports/"+id+"/rows?page=1", nil)
	if all["total"] != 9.0 || all["page_size"] != 100.0 || len(all["rows"].([]any)) != 9 {
		t.Fatalf("all rows: %v", all)
	}
	if strings.Contains(fmt.Sprint(all), "Dee-Own-Pass-42") || strings.Contains(fmt.Sprint(all), "Zq7") {
		t.Fatal("a password appears in the verification rows")
	}

	// Rejected rows: as uploaded, passwords blanked, formulas neutralised.
	status, rejected := root.raw("/api/v1/imports/" + id + "/rejected.csv")
	if status != 200 {
		t.Fatalf("rejected.csv: %d %s", status, rejected)
	}
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rejected, "\uFEFF"))).ReadAll()
	if err != nil || len(records) != 7 || records[0][6] != "problems" {
		t.Fatalf("rejected.csv: %v %q", err, rejected)
	}
	if records[1][3] != "" || !strings.Contains(records[1][6], "password") {
		t.Fatalf("rejected row 2: %q", records[1])
	}
	if records[6][0] != `'=HYPERLINK("x")` {
		t.Fatalf("formula not neutralised: %q", records[6][0])
	}

	// Existing accounts get the group: the review shows Kim's row changed,
	// from no group to 7B; then verify the one page and commit.
	imp = root.must(200, "PUT", "/api/v1/imports/"+id+"/existing-accounts", map[string]bool{"update_group": true})
	if c := imp["counts"].(map[string]any); c["changed"] != 1.0 || c["unchanged"] != 0.0 {
		t.Fatalf("counts once the group is to change: %v", c)
	}
	changed := root.must(200, "GET", "/api/v1/imports/"+id+"/rows?status=changed", nil)
	if rows := changed["rows"].([]any); changed["total"] != 1.0 || len(rows) != 1 ||
		fmt.Sprint(rows[0].(map[string]any)["changes"]) != "[map[field:group from:no group to:7B]]" {
		t.Fatalf("changed rows: %v", changed)
	}
	if status, body := root.do("POST", "/api/v1/imports/"+id+"/commit", nil); status != 409 || errorCode(body) != "verification_incomplete" {
		t.Fatalf("commit before verification: %d %v", status, body)
	}
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]int{"page": 1})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	imp = root.waitForState(id, "completed")
	progress := imp["progress"].(map[string]any)
	summary := imp["summary"].(map[string]any)
	if progress["done"] != 3.0 || progress["total"] != 3.0 || summary["created"] != 2.0 || summary["updated"] != 1.0 || summary["failed"] != 0.0 {
		t.Fatalf("completed: progress %v summary %v", progress, summary)
	}
	if status, body := root.do("DELETE", "/api/v1/imports/"+id, nil); status != 409 {
		t.Fatalf("cancel after completion: %d %v", status, body)
	}

	// The accounts, as the read model shows them.
	var accounts map[string]any
	waitUntil(t, "the accounts read model", 30*time.Second, func() bool {
		accounts = root.must(200, "GET", "/api/v1/accounts?import_id="+id, nil)
		return accounts["total"] == 2.0
	})
	for _, a := range accounts["accounts"].([]any) {
		acc := a.(map[string]any)
		if acc["group_id"] != group || len(acc["tag_ids"].([]any)) != 1 || acc["role"] != "user" {
			t.Fatalf("account %v", acc)
		}
	}
	waitUntil(t, "kim's group to change", 30*time.Second, func() bool {
		kim := root.must(200, "GET", "/api/v1/accounts?email=KIM.existing@lincoln.edu", nil)["accounts"].([]any)
		return len(kim) == 1 && kim[0].(map[string]any)["group_id"] == group
	})

	// New people sign in with the default or their own password and must change it.
	ana := &client{t: t, base: w.srv.URL}
	if acc := ana.signIn("ana.lima@lincoln.edu", "Welcome-2026!"); acc["must_change_password"] != true {
		t.Fatalf("ana: %v", acc)
	}
	dee := &client{t: t, base: w.srv.URL}
	dee.signIn("dup@lincoln.edu", "Dee-Own-Pass-42")
	// Kim's password was not to be changed.
	(&client{t: t, base: w.srv.URL}).signIn("kim.existing@lincoln.edu", "kims-password-1")

	// Two welcome emails and one summary, no password in any. Nothing more
	// can come once the outbox holds exactly these three, all sent: a
	// fourth email would need a fourth row, or a row not marked sent.
	w.smtp.WaitFor(t, 3, 30*time.Second)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		outbox := outboxStates(t, w.db)
		if outbox == "sent:3" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox holds %s, want exactly 3 emails, sent", outbox)
		}
	}
	msgs := w.smtp.Messages()
	var welcomes, summaries int
	for _, m := range msgs {
		switch {
		case strings.HasPrefix(m.Subject, "Your new account"):
			welcomes++
		case strings.HasPrefix(m.Subject, "Import complete"):
			summaries++
			if m.To[0] != "root@lincoln.edu" || !strings.Contains(m.Body, "Accounts created: 2") {
				t.Fatalf("summary: %v %s", m.To, m.Body)
			}
		}
	}
	if welcomes != 2 || summaries != 1 || len(msgs) != 3 {
		t.Fatalf("emails: %d welcome, %d summary, %d in all", welcomes, summaries, len(msgs))
	}

	// The audit trail answers who, from which file, with which settings.
	var events []any
	waitUntil(t, "the audit trail", 30*time.Second, func() bool {
		events = root.must(200, "GET", "/api/v1/imports/"+id+"/events", nil)["events"].([]any)
		return len(events) > 0 && events[len(events)-1].(map[string]any)["type"] == "ImportCompleted"
	})
	first := events[0].(map[string]any)
	data := first["data"].(map[string]any)
	if first["type"] != "FileUploaded" || first["actor"].(map[string]any)["email"] != "root@lincoln.edu" || data["FileName"] != "messy.csv" || len(data["FileSHA256"].(string)) != 64 {
		t.Fatalf("first audit event: %v", first)
	}
	audit, _ := rollcall(t, []string{"DATABASE_URL=" + w.db}, "audit", "import", id)
	if !strings.Contains(audit, "FileUploaded") || !strings.Contains(audit, "root@lincoln.edu") || !strings.Contains(audit, "DefaultsChosen") {
		t.Fatalf("rollcall audit import: %s", audit)
	}
	accountAudit, _ := rollcall(t, []string{"DATABASE_URL=" + w.db}, "audit", "account", "ANA.LIMA@lincoln.edu")
	if !strings.Contains(accountAudit, "AccountCreated") || !strings.Contains(accountAudit, "WelcomeEmailQueued") || !strings.Contains(accountAudit, id) {
		t.Fatalf("rollcall audit account: %s", accountAudit)
	}

	// Another organization sees none of it.
	for _, path := range []string{"/api/v1/imports/" + id, "/api/v1/imports/" + id + "/rows", "/api/v1/imports/" + id + "/events", "/api/v1/imports/" + id + "/rejected.csv"} {
		if status, body := w.other.do("GET", path, nil); status != 404 {
			t.Errorf("org B GET %s: %d %v", path, status, body)
		}
	}
	if status, body := w.other.do("DELETE", "/api/v1/imports/"+id, nil); status != 404 {
		t.Errorf("org B cancels org A's import: %d %v", status, body)
	}
	if b := w.other.must(200, "GET", "/api/v1/accounts?import_id="+id, nil); b["total"] != 0.0 {
		t.Errorf("org B sees org A's accounts: %v", b)
	}

	assertNoPlaintextPasswords(t, w, []string{"Welcome-2026!", "Dee-Own-Pass-42", "Zq7"})

	// Every read model rebuilt from the events ends with the same rows,
	// while the live server keeps running. The read models are damaged
	// first, so a rebuild that does nothing cannot pass.
	before := readModelSnapshot(t, w.db)
	damageReadModels(t, w.db)
	if damaged := readModelSnapshot(t, w.db); damaged == before {
		t.Fatal("damaging the read models changed nothing")
	}
	out, _ := rollcall(t, []string{"DATABASE_URL=" + w.db}, "projections", "rebuild", "all")
	for _, name := range []string{"audit_trail", "imports", "accounts"} {
		if !strings.Contains(out, "rebuilt "+name) {
			t.Fatalf("rebuild output: %s", out)
		}
	}
	if after := readModelSnapshot(t, w.db); after != before {
		t.Fatalf("rebuilt read models differ from the live ones before the damage; first difference:\n%s", firstDifference(before, after))
	}
}

// readModelSnapshot renders every read-model table in a stable order.
func readModelSnapshot(t *testing.T, db string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var b strings.Builder
	for _, q := range []string{
		`SELECT string_agg(t::text, E'\n' ORDER BY position) FROM audit_trail t`,
		`SELECT string_agg(t::text, E'\n' ORDER BY id) FROM imports_view t`,
		`SELECT string_agg(t::text, E'\n' ORDER BY id) FROM accounts_view t`,
	} {
		var s *string
		if err := conn.QueryRow(ctx, q).Scan(&s); err != nil {
			t.Fatal(err)
		}
		if s == nil || *s == "" {
			t.Fatalf("empty read model: %s", q)
		}
		b.WriteString(*s + "\n---\n")
	}
	return b.String()
}

// firstDifference shows the first line where two snapshots differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d\nwant %.400s\ngot  %.400s", i+1, wl, gl)
		}
	}
	return "none"
}

// damageReadModels deletes and changes rows of every read model, leaving
// each non-empty.
func damageReadModels(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`DELETE FROM audit_trail WHERE position % 2 = 0`,
		`UPDATE accounts_view SET first_name = 'Damaged', tag_ids = '{}'`,
		`DELETE FROM accounts_view WHERE id = (SELECT id FROM accounts_view ORDER BY email_key LIMIT 1)`,
		`UPDATE imports_view SET state = 'cancelled', rows_new = 0, snapshot = '{}'`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// outboxStates counts the outbox's emails by state: "sent:3" or
// "pending:1,sent:2".
func outboxStates(t *testing.T, db string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var states string
	if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(state || ':' || n, ',' ORDER BY state), '')
		FROM (SELECT state, count(*) AS n FROM mail_outbox GROUP BY state) s`).Scan(&states); err != nil {
		t.Fatal(err)
	}
	return states
}

// assertNoPlaintextPasswords greps every table, the server log and the emails.
func assertNoPlaintextPasswords(t *testing.T, w *world, passwords []string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
	if err != nil {
		t.Fatal(err)
	}
	tables, _ := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, table := range tables {
		var dump string
		if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(t::text, E'\n'), '') FROM `+pgx.Identifier{table}.Sanitize()+` t`).Scan(&dump); err != nil {
			t.Fatal(err)
		}
		for _, pw := range passwords {
			if strings.Contains(dump, pw) {
				t.Errorf("table %s holds the plaintext password %q", table, pw)
			}
		}
	}
	for _, pw := range passwords {
		if strings.Contains(w.srv.stderr.String(), pw) {
			t.Errorf("the server log holds %q", pw)
		}
		for _, m := range w.smtp.Messages() {
			if bytes.Contains(m.Data, []byte(pw)) {
				t.Errorf("an email holds %q", pw)
			}
		}
	}
}
