package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// commitFile runs a CSV through the wizard as c and waits for want
// ("completed"); policy is the existing-accounts choice.
func commitFile(t *testing.T, c *client, name, file string, mapping map[string]string, defaults map[string]any, policy map[string]bool) string {
	t.Helper()
	status, imp := c.uploadBytes(name, []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload %s: %d %v", name, status, imp)
	}
	id := imp["id"].(string)
	c.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": mapping})
	c.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", defaults)
	c.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	c.waitForState(id, "validated")
	if policy != nil {
		c.must(200, "PUT", "/api/v1/imports/"+id+"/existing-accounts", policy)
	}
	c.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	c.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	c.waitForState(id, "completed")
	return id
}

// signInStatus tries a password sign-in: the status and the error code.
func signInStatus(base, email, password string) (int, string) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password})
	resp, err := http.Post(base+"/api/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, errorCode(out)
}

// TestUndoAnImport: the accounts an import created are deactivated (refused
// at sign-in, listed inactive), the ones it changed get back their group,
// tags and password, except the fields changed again since, which are kept
// and listed; importing a deactivated account again reactivates it.
func TestUndoAnImport(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	g1 := root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G1"})["id"].(string)
	root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G2"})
	root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Chess"})
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "lee@lincoln.edu", "--first", "Lee", "--last", "Park", "--role", "user", "--password", "lees-password-1")
	mapping := map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Password": "password", "Group": "group", "Tag": "tag"}
	file := "First Name,Last Name,Email,Password,Group,Tag\n" +
		"Ana,Lima,ana@lincoln.edu,,G1,Chess\n" +
		"Bo,Ek,bo@lincoln.edu,,G1,\n" +
		"Kim,Existing,kim.existing@lincoln.edu,Kim-Import-Pass-1,G1,Chess\n" +
		"Lee,Park,lee@lincoln.edu,Lee-Import-Pass-1,G1,\n"
	id := commitFile(t, root, "term.csv", file, mapping, map[string]any{"password": "Welcome-2026!", "force_password_change": false},
		map[string]bool{"update_password": true, "update_group": true, "update_tags": true})
	imp := root.must(200, "GET", "/api/v1/imports/"+id, nil)
	if s := imp["summary"].(map[string]any); s["created"] != 2.0 || s["updated"] != 2.0 {
		t.Fatalf("summary: %v", s)
	}

	// Since the import: Kim chose a password of her own, and a later import
	// moved Lee to G2.
	kim := &client{t: t, base: w.srv.URL}
	kim.signIn("kim.existing@lincoln.edu", "Kim-Import-Pass-1")
	kim.must(204, "POST", "/api/v1/me/password", map[string]string{"current_password": "Kim-Import-Pass-1", "new_password": "Kims-Own-Choice-7"})
	commitFile(t, root, "move.csv", "First Name,Last Name,Email,Group\nLee,Park,lee@lincoln.edu,G2\n",
		map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Group": "group"},
		map[string]any{"force_password_change": false}, map[string]bool{"update_group": true})

	// A user cannot undo; another organization cannot see it.
	if status, body := w.other.do("POST", "/api/v1/imports/"+id+"/undo", nil); status != 404 {
		t.Fatalf("another organization undoes: %d %v", status, body)
	}
	undo := root.must(202, "POST", "/api/v1/imports/"+id+"/undo", nil)
	if undo["state"] != "undoing" {
		t.Fatalf("undo: %v", undo)
	}
	done := root.waitForState(id, "undone")["undo"].(map[string]any)
	if done["deactivated"] != 2.0 || done["restored"] != 2.0 || done["kept"] != 2.0 || done["by"] != "root@lincoln.edu" {
		t.Fatalf("undo outcome: %v", done)
	}
	kept := map[string]string{}
	for _, k := range done["kept_accounts"].([]any) {
		acc := k.(map[string]any)
		kept[acc["email"].(string)] = fmt.Sprint(acc["fields"])
	}
	if kept["Kim.Existing@lincoln.edu"] != "[password]" || kept["lee@lincoln.edu"] != "[group]" {
		t.Fatalf("kept: %v", kept)
	}
	if status, body := root.do("POST", "/api/v1/imports/"+id+"/undo", nil); status != 409 {
		t.Fatalf("undo twice: %d %v", status, body)
	}

	// Created: deactivated, refused at sign-in with their own reason, listed inactive.
	if status, code := signInStatus(w.srv.URL, "ana@lincoln.edu", "Welcome-2026!"); status != 401 || code != "account_deactivated" {
		t.Fatalf("Ana signs in after the undo: %d %s", status, code)
	}
	inactive := root.must(200, "GET", "/api/v1/accounts?active=false", nil)
	if inactive["total"] != 2.0 {
		t.Fatalf("inactive accounts: %v", inactive)
	}
	for _, a := range inactive["accounts"].([]any) {
		if a.(map[string]any)["active"] != false {
			t.Fatalf("listed inactive: %v", a)
		}
	}
	// Changed: Kim's group and tag are back to none, her own password kept;
	// Lee's import password is replaced by his own again, his later group kept.
	kimNow := root.must(200, "GET", "/api/v1/accounts?email=kim.existing@lincoln.edu", nil)["accounts"].([]any)[0].(map[string]any)
	if kimNow["group_id"] != nil || len(kimNow["tag_ids"].([]any)) != 0 || kimNow["active"] != true {
		t.Fatalf("Kim after the undo: %v", kimNow)
	}
	if status, _ := signInStatus(w.srv.URL, "kim.existing@lincoln.edu", "Kims-Own-Choice-7"); status != 200 {
		t.Fatal("Kim's own password, chosen after the import, was not kept")
	}
	if status, _ := signInStatus(w.srv.URL, "lee@lincoln.edu", "lees-password-1"); status != 200 {
		t.Fatal("Lee's password from before the import was not restored")
	}
	if status, _ := signInStatus(w.srv.URL, "lee@lincoln.edu", "Lee-Import-Pass-1"); status != 401 {
		t.Fatal("Lee's import password still works after the undo")
	}
	leeNow := root.must(200, "GET", "/api/v1/accounts?email=lee@lincoln.edu", nil)["accounts"].([]any)[0].(map[string]any)
	if leeNow["group_id"] == nil || leeNow["group_id"] == g1 {
		t.Fatalf("Lee's later group was not kept: %v", leeNow)
	}

	// The audit trail tells the undo in sentences.
	var sentences []string
	waitUntil(t, "the audit trail of the undo", 30*time.Second, func() bool {
		sentences = nil
		for _, e := range root.must(200, "GET", "/api/v1/imports/"+id+"/events", nil)["events"].([]any) {
			sentences = append(sentences, e.(map[string]any)["type"].(string))
		}
		return strings.Contains(strings.Join(sentences, " "), "ImportUndone")
	})

	// Importing Ana again reactivates her: a changed row, active false → true.
	again := "First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\n"
	status, re := root.uploadBytes("again.csv", []byte(again), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, re)
	}
	rid := re["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+rid+"/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"}})
	root.must(200, "PUT", "/api/v1/imports/"+rid+"/defaults", map[string]any{"force_password_change": false})
	root.must(202, "POST", "/api/v1/imports/"+rid+"/validation", nil)
	root.waitForState(rid, "validated")
	rows := root.must(200, "GET", "/api/v1/imports/"+rid+"/rows?status=changed", nil)["rows"].([]any)
	if len(rows) != 1 || fmt.Sprint(rows[0].(map[string]any)["changes"]) != "[map[field:active from:false to:true]]" {
		t.Fatalf("the deactivated account imported again: %v", rows)
	}
	root.must(200, "POST", "/api/v1/imports/"+rid+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+rid+"/commit", nil)
	root.waitForState(rid, "completed")
	if status, _ := signInStatus(w.srv.URL, "ana@lincoln.edu", "Welcome-2026!"); status != 200 {
		t.Fatal("Ana, imported again, cannot sign in")
	}
}

// The undo of a 3,000-account import survives its process being killed
// half-way: the restarted server finishes it, every account deactivated
// once.
func TestUndoSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	t.Parallel()
	const people = 3000
	w := newWorld(t, "UPLOAD_DIR="+t.TempDir(), "IMPORT_BATCH_ROWS=100", "IMPORT_CHUNK_ROWS=500", "JOB_LEASE=2s")
	root := w.root
	var file strings.Builder
	file.WriteString("First Name,Last Name,Email\n")
	for i := range people {
		fmt.Fprintf(&file, "Given%d,Family%d,undo%05d@lincoln.edu\n", i, i, i)
	}
	id := commitFile(t, root, "big.csv", file.String(), map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"},
		map[string]any{"password": "Start-2026-Lincoln", "force_password_change": true}, nil)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	inactive := func() int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM account_logins WHERE email_key LIKE 'undo%' AND NOT active`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	root.must(202, "POST", "/api/v1/imports/"+id+"/undo", nil)
	waitUntil(t, "the undo to be under way", 2*time.Minute, func() bool { return inactive() > 0 })
	if err := w.srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w.srv.done
	atKill := inactive()
	if atKill <= 0 || atKill >= people {
		t.Fatalf("the kill did not land mid-undo: %d of %d accounts deactivated", atKill, people)
	}
	restarted := startServer(t, w.env)
	root.base = restarted.URL
	waitUntil(t, "the undo to finish after the restart", 3*time.Minute, func() bool {
		return root.must(200, "GET", "/api/v1/imports/"+id, nil)["state"] == "undone"
	})
	if n := inactive(); n != people {
		t.Fatalf("%d of %d accounts deactivated", n, people)
	}
	var events int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE event_type = 'AccountDeactivated'`).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if events != people {
		t.Fatalf("%d AccountDeactivated events for %d accounts", events, people)
	}
	u := root.must(200, "GET", "/api/v1/imports/"+id, nil)["undo"].(map[string]any)
	if u["deactivated"] != float64(people) {
		t.Fatalf("undo summary after the restart: %v", u)
	}
	t.Logf("killed with %d of %d accounts deactivated", atKill, people)
}
