package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/ledongthuc/pdf"
)

// getBytes GETs path as c and returns the status, the content type and the
// body as it came.
func (c *client) getBytes(path string) (int, string, []byte) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

func dbExec(t *testing.T, db, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatal(err)
	}
}

// cardPasswords reads the PDF as a reader would: its pages, and the text
// of each.
func readCards(t *testing.T, doc []byte) (pages int, text string) {
	t.Helper()
	if !bytes.HasPrefix(doc, []byte("%PDF-")) {
		t.Fatalf("the login cards are not a PDF: %q…", doc[:min(len(doc), 40)])
	}
	r, err := pdf.NewReader(bytes.NewReader(doc), int64(len(doc)))
	if err != nil {
		t.Fatalf("the PDF does not open: %v", err)
	}
	var b strings.Builder
	for i := 1; i <= r.NumPage(); i++ {
		rows, err := r.Page(i).GetTextByRow()
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for _, w := range row.Content {
				b.WriteString(w.S)
			}
			b.WriteString("\n")
		}
	}
	return r.NumPage(), b.String()
}

// generatedPassword is a password as a card prints it, after its label
// (the text reader joins the label and the value).
var generatedPassword = regexp.MustCompile(`Password([a-z]{3,9}-[a-z]{3,9}-[a-z]{3,9}-[a-z]{3,9}-[0-9]{3})`)

func passwordsIn(text string) []string {
	var out []string
	for _, m := range generatedPassword.FindAllStringSubmatch(text, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestLoginCards: an import that generates its passwords commits; its
// importer, and only they, downloads one card per new account (9 on two
// pages, accents and all); a card's password signs in once and must be
// changed; the download is in the audit trail; no password is in the
// database, the server's log or the emails; after the window, 410 gone,
// and the sweep destroys the sealed passwords.
func TestLoginCards(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "SWEEP_INTERVAL=1s", "PUBLIC_URL=https://rollcall.lincoln.test")
	root := w.root
	g1 := root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "4C"})["id"].(string)
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "ada@lincoln.edu", "--first", "Ada", "--last", "Teacher", "--role", "admin", "--group", g1, "--password", "adas-password-1")
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "bo@lincoln.edu", "--first", "Bo", "--last", "Teacher", "--role", "admin", "--group", g1, "--password", "bos-password-1")
	ada := &client{t: t, base: w.srv.URL}
	ada.signIn("ada@lincoln.edu", "adas-password-1")
	bo := &client{t: t, base: w.srv.URL}
	bo.signIn("bo@lincoln.edu", "bos-password-1")

	students := [][3]string{
		{"Zoë", "Ødegård", "zoe@lincoln.edu"}, {"Thaïs", "Da Silva", "thais@lincoln.edu"}, {"Mathéo", "Van der Berg", "matheo@lincoln.edu"},
		{"Çelik", "Müller", "celik@lincoln.edu"}, {"Inès", "Núñez", "ines@lincoln.edu"}, {"Björn", "Ångström", "bjorn@lincoln.edu"},
		{"José", "García", "jose@lincoln.edu"}, {"Noémie", "Lefèvre", "noemie@lincoln.edu"}, {"Élodie", "Châtelet", "elodie@lincoln.edu"},
	}
	file := "First Name,Last Name,Email\n"
	for _, s := range students {
		file += s[0] + "," + s[1] + "," + s[2] + "\n"
	}
	mapping := map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"}

	// Generated passwords are an alternative to a default password.
	status, up := ada.uploadBytes("4c.csv", []byte(file), map[string]string{"send_welcome_email": "true"})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, up)
	}
	id := up["id"].(string)
	ada.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": mapping})
	if status, body := ada.do("PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Shared-2026!", "generate_passwords": true}); status != 422 || errorCode(body) != "invalid_value" {
		t.Fatalf("a default password and generated ones: %d %v", status, body)
	}
	imp := ada.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"generate_passwords": true, "force_password_change": false})
	if d := imp["defaults"].(map[string]any); d["generate_passwords"] != true || d["force_password_change"] != true || d["password_set"] != false {
		t.Fatalf("defaults: %v", d)
	}
	// Not committed yet: no cards.
	if status, _, _ := ada.getBytes("/api/v1/imports/" + id + "/login-cards.pdf"); status != 404 {
		t.Fatalf("cards before the commit: %d", status)
	}
	ada.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	if counts := ada.waitForState(id, "validated")["counts"].(map[string]any); counts["new"] != 9.0 || counts["invalid"] != 0.0 {
		t.Fatalf("rows without a password must be valid when passwords are generated: %v", counts)
	}
	ada.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	ada.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	done := ada.waitForState(id, "completed")
	if done["summary"].(map[string]any)["created"] != 9.0 || done["login_cards"] == nil {
		t.Fatalf("completed: %v", done)
	}

	// Only the importer: a system administrator of the organization is
	// told no, another administrator of the same group and another
	// organization find nothing.
	for _, tc := range []struct {
		who    string
		c      *client
		status int
	}{{"the system administrator", root, 403}, {"another group administrator", bo, 404}, {"another organization", w.other, 404}} {
		if status, _, body := tc.c.getBytes("/api/v1/imports/" + id + "/login-cards.pdf"); status != tc.status || bytes.HasPrefix(body, []byte("%PDF")) {
			t.Fatalf("%s downloads the cards: %d, want %d", tc.who, status, tc.status)
		}
	}

	status, contentType, doc := ada.getBytes("/api/v1/imports/" + id + "/login-cards.pdf")
	if status != 200 || contentType != "application/pdf" {
		t.Fatalf("download: %d %s %s", status, contentType, doc[:min(len(doc), 200)])
	}
	pages, text := readCards(t, doc)
	if pages != 2 {
		t.Fatalf("9 cards on %d pages, want 2 (8 a page)", pages)
	}
	for _, s := range students {
		if !strings.Contains(text, s[0]+" "+s[1]) || !strings.Contains(text, s[2]) {
			t.Errorf("no card reads %s %s <%s>", s[0], s[1], s[2])
		}
	}
	if got := strings.Count(text, "https://rollcall.lincoln.test/sign-in"); got != 9 {
		t.Errorf("the sign-in address is on %d cards, want 9", got)
	}
	passwords := passwordsIn(text)
	if len(passwords) != 9 || len(slices.Compact(slices.Sorted(slices.Values(passwords)))) != 9 {
		t.Fatalf("passwords on the cards: %v, want 9 distinct", passwords)
	}
	// Card i is student i (file order); its password signs in once, must be
	// changed, and then no longer works.
	cardOf := map[string]string{}
	for _, block := range strings.Split(text, "You will choose a new password when you first sign in.") {
		if pws := passwordsIn(block); len(pws) == 1 {
			for _, s := range students {
				if strings.Contains(block, s[2]) {
					cardOf[s[2]] = pws[0]
				}
			}
		}
	}
	zoe := cardOf["zoe@lincoln.edu"]
	if zoe == "" {
		t.Fatalf("no card for zoe@lincoln.edu in %q", text)
	}
	student := &client{t: t, base: w.srv.URL}
	if acc := student.signIn("zoe@lincoln.edu", zoe); acc["must_change_password"] != true {
		t.Fatalf("a card's password does not have to be changed: %v", acc)
	}
	student.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": zoe, "new_password": "zoes-own-choice-9"})
	if status, _ := signInStatus(w.srv.URL, "zoe@lincoln.edu", zoe); status != 401 {
		t.Fatalf("the card's password still signs in after the change: %d", status)
	}
	if status, _ := signInStatus(w.srv.URL, "thais@lincoln.edu", cardOf["zoe@lincoln.edu"]); status != 401 {
		t.Fatal("one card's password signs another account in")
	}

	// The download is audited: who, when.
	var downloaded map[string]any
	waitUntil(t, "the download in the audit trail", 30*time.Second, func() bool {
		for _, e := range ada.must(200, "GET", "/api/v1/imports/"+id+"/events", nil)["events"].([]any) {
			if ev := e.(map[string]any); ev["type"] == "LoginCardsDownloaded" {
				downloaded = ev
			}
		}
		return downloaded != nil
	})
	if actor := downloaded["actor"].(map[string]any); actor["email"] != "ada@lincoln.edu" || downloaded["at"] == nil {
		t.Fatalf("audited download: %v", downloaded)
	}

	// No password anywhere but on the cards: not in the database (sealed
	// while the cards are kept), not in the server's log, not in the mail.
	mails := w.smtp.WaitFor(t, 10, 60*time.Second) // 9 welcome emails and the summary
	dump, err := exec.Command("pg_dump", "--no-owner", w.db).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	if !bytes.Contains(dump, []byte("zoe@lincoln.edu")) || !bytes.Contains(dump, []byte("login_cards")) {
		t.Fatal("the dump does not hold the imported accounts: the search below would prove nothing")
	}
	welcomes := 0
	for _, m := range mails {
		if strings.HasPrefix(m.Subject, "Your new account") && strings.Contains(m.Text, "login card") {
			welcomes++
		}
	}
	if welcomes != 9 {
		t.Errorf("%d welcome emails say the password comes on a login card, want 9", welcomes)
	}
	for _, pw := range passwords {
		if bytes.Contains(dump, []byte(pw)) {
			t.Errorf("a generated password is in pg_dump")
		}
		if strings.Contains(w.srv.stderr.String(), pw) {
			t.Errorf("a generated password is in the server's log")
		}
		for _, m := range mails {
			if bytes.Contains(m.Data, []byte(pw)) {
				t.Errorf("a generated password is in the email %q to %v", m.Subject, m.To)
			}
		}
	}

	// The pages: the importer's summary links to the cards, which download
	// from the browser too; the system administrator's does not; a file
	// without a password column offers to generate them.
	adaPages, rootPages := newPageClient(t, w.srv.URL), newPageClient(t, w.srv.URL)
	for who, pc := range map[string]*pageClient{"ada@lincoln.edu": adaPages, "root@lincoln.edu": rootPages} {
		pw := map[string]string{"ada@lincoln.edu": "adas-password-1", "root@lincoln.edu": "root-password-1"}[who]
		if resp, _ := pc.post("/sign-in", url.Values{"email": {who}, "password": {pw}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s signs in on the page: %d", who, resp.StatusCode)
		}
	}
	if _, page := adaPages.get("/imports/" + id + "/progress"); !strings.Contains(page, `id="download-login-cards"`) {
		t.Fatalf("the importer's summary has no link to the cards:\n%s", page)
	}
	if _, page := rootPages.get("/imports/" + id + "/progress"); strings.Contains(page, `id="download-login-cards"`) || !strings.Contains(page, `id="login-cards-gone"`) {
		t.Fatalf("the system administrator's summary offers the cards:\n%s", page)
	}
	if resp, page := adaPages.get("/imports/" + id + "/login-cards.pdf"); resp.StatusCode != 200 || !strings.HasPrefix(page, "%PDF-") {
		t.Fatalf("the cards from the page: %d", resp.StatusCode)
	}
	_, next := ada.uploadBytes("4d.csv", []byte("First Name,Last Name,Email\nAna,Lima,ana.lima@lincoln.edu\n"), nil)
	ada.must(200, "PUT", "/api/v1/imports/"+next["id"].(string)+"/mapping", map[string]any{"columns": mapping})
	if _, page := adaPages.get("/imports/" + next["id"].(string) + "/defaults"); !strings.Contains(page, `id="generate_passwords"`) {
		t.Fatalf("the defaults page does not offer to generate passwords:\n%s", page)
	}

	// Undoing an import destroys its cards at once.
	nextID := next["id"].(string)
	ada.must(200, "PUT", "/api/v1/imports/"+nextID+"/defaults", map[string]any{"generate_passwords": true})
	ada.must(202, "POST", "/api/v1/imports/"+nextID+"/validation", nil)
	ada.waitForState(nextID, "validated")
	ada.must(200, "POST", "/api/v1/imports/"+nextID+"/verification", map[string]bool{"skip": true})
	ada.must(202, "POST", "/api/v1/imports/"+nextID+"/commit", nil)
	ada.waitForState(nextID, "completed")
	if n := dbQueryInt(t, w.db, `SELECT count(*) FROM login_cards WHERE import_id = $1`, nextID); n != 1 {
		t.Fatalf("%d cards kept for the second import, want 1", n)
	}
	ada.must(202, "POST", "/api/v1/imports/"+nextID+"/undo", nil)
	ada.waitForState(nextID, "undone")
	waitUntil(t, "the undo to destroy the cards", 30*time.Second, func() bool {
		return dbQueryInt(t, w.db, `SELECT count(*) FROM login_cards WHERE import_id = $1`, nextID) == 0
	})
	if status, gone := ada.do("GET", "/api/v1/imports/"+nextID+"/login-cards.pdf", nil); status != 410 || errorCode(gone) != "gone" {
		t.Fatalf("cards of an undone import: %d %v", status, gone)
	}

	// After the window: 410, said plainly, and the sweep destroys them.
	dbExec(t, w.db, `UPDATE login_card_windows SET expires_at = now() - interval '1 second' WHERE import_id = $1`, id)
	status, gone := ada.do("GET", "/api/v1/imports/"+id+"/login-cards.pdf", nil)
	if status != 410 || errorCode(gone) != "gone" || !strings.Contains(gone["error"].(map[string]any)["message"].(string), "expired") {
		t.Fatalf("after the window: %d %v", status, gone)
	}
	if _, page := adaPages.get("/imports/" + id + "/progress"); strings.Contains(page, `id="download-login-cards"`) {
		t.Fatal("the summary still links to expired cards")
	}
	waitUntil(t, "the sweep to destroy the expired cards", 60*time.Second, func() bool {
		return dbQueryInt(t, w.db, `SELECT count(*) FROM login_cards WHERE import_id = $1`, id) == 0
	})
	if status, gone := ada.do("GET", "/api/v1/imports/"+id+"/login-cards.pdf", nil); status != 410 || errorCode(gone) != "gone" {
		t.Fatalf("after the sweep: %d %v", status, gone)
	}
}
