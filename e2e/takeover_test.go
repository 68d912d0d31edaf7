package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// reachWorld is organization A with groups G1 and G2, a group administrator
// of G1 (Ada), another administrator of G1, users of G1 and G2, a second
// system administrator, and a tag.
type reachWorld struct {
	*world
	g1, g2, tag string
	ada         *client
}

const (
	adaEmail     = "ada@lincoln.edu"
	adaPassword  = "ada-password-1"
	rootPassword = "root-password-1"
	attackerPass = "Taken-Over-2026"
)

var reachAccounts = map[string]string{ // email → password
	"root@lincoln.edu":   rootPassword,
	"root2@lincoln.edu":  "root2-password-1",
	"admin2@lincoln.edu": "admin2-password-1",
	"u1@lincoln.edu":     "u1-password-1",
	"u2@lincoln.edu":     "u2-password-1",
}

func newReachWorld(t *testing.T, extraEnv ...string) *reachWorld {
	w := &reachWorld{world: newWorld(t, extraEnv...)}
	w.g1 = w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G1"})["id"].(string)
	w.g2 = w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G2"})["id"].(string)
	w.tag = w.root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Chess"})["id"].(string)
	for _, a := range []struct{ email, role, group string }{
		{adaEmail, "admin", w.g1}, {"admin2@lincoln.edu", "admin", w.g1}, {"root2@lincoln.edu", "system_admin", ""},
		{"u1@lincoln.edu", "user", w.g1}, {"u2@lincoln.edu", "user", w.g2},
	} {
		args := []string{"account", "create", "--org", w.orgA, "--email", a.email, "--first", "Pat", "--last", "Person", "--role", a.role}
		password := reachAccounts[a.email]
		if a.email == adaEmail {
			password = adaPassword
		}
		args = append(args, "--password", password)
		if a.group != "" {
			args = append(args, "--group", a.group)
		}
		rollcall(t, w.env, args...)
	}
	w.ada = &client{t: t, base: w.srv.URL}
	w.ada.signIn(adaEmail, adaPassword)
	return w
}

// signsIn reports whether the password opens the account.
func (w *reachWorld) signsIn(email, password string) bool {
	c := &client{t: w.root.t, base: w.srv.URL}
	status, _ := c.do("POST", "/api/v1/sessions", map[string]string{"email": email, "password": password})
	return status == http.StatusOK
}

// accountOf reads an account as the system administrator's account list
// shows it.
func (w *reachWorld) accountOf(email string) map[string]any {
	list := w.root.must(200, "GET", "/api/v1/accounts?email="+email, nil)["accounts"].([]any)
	if len(list) != 1 {
		w.root.t.Fatalf("account %s: %v", email, list)
	}
	return list[0].(map[string]any)
}

// rowProblems maps each invalid row's email to its problem codes.
func rowProblems(c *client, id string) map[string]string {
	out := map[string]string{}
	for _, r := range c.must(200, "GET", "/api/v1/imports/"+id+"/rows?status=invalid", nil)["rows"].([]any) {
		row := r.(map[string]any)
		var codes []string
		for _, p := range row["problems"].([]any) {
			codes = append(codes, p.(map[string]any)["code"].(string))
		}
		out[row["email"].(string)] = strings.Join(codes, ",")
	}
	return out
}

// TestImportCannotTakeOverAccounts: a group administrator's import names the
// system administrator, an administrator and another group's user, with new
// passwords and a tag; a system administrator's names another system
// administrator. Every such row is invalid at validation with
// not_allowed_to_change, and the commit changes none of them, while the
// accounts in reach do change (so the test can tell).
func TestImportCannotTakeOverAccounts(t *testing.T) {
	t.Parallel()
	w := newReachWorld(t)
	file := "First Name,Last Name,Email,Password,Tag\n" +
		"Sys,A,root@lincoln.edu," + attackerPass + ",Chess\n" +
		"Adm,B,admin2@lincoln.edu," + attackerPass + ",Chess\n" +
		"Usr,C,u2@lincoln.edu," + attackerPass + ",Chess\n" +
		"Own,D,u1@lincoln.edu," + attackerPass + ",Chess\n"
	status, imp := w.ada.uploadBytes("takeover.csv", []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{
		"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Password": "password", "Tag": "tag"}})
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"force_password_change": false, "tag_ids": []string{w.tag}})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	w.ada.waitForState(id, "validated")

	// The review shows the three out of reach before anything is committed.
	problems := rowProblems(w.ada, id)
	for _, email := range []string{"root@lincoln.edu", "admin2@lincoln.edu", "u2@lincoln.edu"} {
		if problems[email] != "not_allowed_to_change" {
			t.Errorf("row of %s: problems %q, want not_allowed_to_change", email, problems[email])
		}
	}
	invalid := w.ada.must(200, "GET", "/api/v1/imports/"+id+"/rows?status=invalid", nil)["rows"].([]any)
	if msg := fmt.Sprint(invalid[0]); !strings.Contains(msg, "may not change") {
		t.Errorf("the problem says why: %s", msg)
	}
	// A group administrator cannot even ask to move accounts between groups.
	if status, body := w.ada.do("PUT", "/api/v1/imports/"+id+"/existing-accounts", map[string]bool{"update_group": true}); status != 403 {
		t.Fatalf("update_group by a group administrator: %d %v", status, body)
	}
	imp = w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/existing-accounts", map[string]bool{"update_password": true, "update_tags": true})
	if c := imp["counts"].(map[string]any); c["invalid"] != 3.0 || c["changed"] != 1.0 || c["new"] != 0.0 {
		t.Fatalf("counts: %v", c)
	}
	w.ada.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	summary := w.ada.waitForState(id, "completed")["summary"].(map[string]any)
	if summary["updated"] != 1.0 || summary["skipped"] != 3.0 {
		t.Fatalf("summary: %v", summary)
	}

	// Nothing out of reach moved: password, tags.
	for _, email := range []string{"root@lincoln.edu", "admin2@lincoln.edu", "u2@lincoln.edu"} {
		if w.signsIn(email, attackerPass) {
			t.Errorf("%s's password was taken over", email)
		}
		if !w.signsIn(email, reachAccounts[email]) {
			t.Errorf("%s's own password no longer works", email)
		}
		if tags := w.accountOf(email)["tag_ids"].([]any); len(tags) != 0 {
			t.Errorf("%s's tags were rewritten: %v", email, tags)
		}
	}
	// The user of Ada's own group did change.
	if !w.signsIn("u1@lincoln.edu", attackerPass) {
		t.Error("the user of the importer's own group did not get the new password")
	}
	waitUntil(t, "u1's tag", 30*time.Second, func() bool { return len(w.accountOf("u1@lincoln.edu")["tag_ids"].([]any)) == 1 })

	// A system administrator's import never changes another system
	// administrator: not the password, the group or the tags.
	file = "First Name,Last Name,Email,Password,Group,Tag\nSys,Two,root2@lincoln.edu," + attackerPass + ",G2,Chess\n" +
		"Adm,Two,admin2@lincoln.edu,Admin2-New-Pass,G2,Chess\n"
	status, imp = w.root.uploadBytes("root2.csv", []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id = imp["id"].(string)
	w.root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{
		"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Password": "password", "Group": "group", "Tag": "tag"}})
	w.root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"force_password_change": false})
	w.root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	w.root.waitForState(id, "validated")
	if problems := rowProblems(w.root, id); problems["root2@lincoln.edu"] != "not_allowed_to_change" || len(problems) != 1 {
		t.Fatalf("system administrator's import: %v", problems)
	}
	w.root.must(200, "PUT", "/api/v1/imports/"+id+"/existing-accounts", map[string]bool{"update_password": true, "update_group": true, "update_tags": true})
	w.root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	w.root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	w.root.waitForState(id, "completed")
	if w.signsIn("root2@lincoln.edu", attackerPass) || !w.signsIn("root2@lincoln.edu", reachAccounts["root2@lincoln.edu"]) {
		t.Error("a system administrator's import changed another system administrator's password")
	}
	if acc := w.accountOf("root2@lincoln.edu"); acc["group_id"] != nil || len(acc["tag_ids"].([]any)) != 0 {
		t.Errorf("root2 was moved or tagged: %v", acc)
	}
	// The administrator is within a system administrator's reach.
	waitUntil(t, "admin2 moved to G2", 30*time.Second, func() bool { return w.accountOf("admin2@lincoln.edu")["group_id"] == w.g2 })
}

// TestReachIsCheckedAgainAtCommit: an account in the importer's reach at
// validation leaves it (moved to another group) before the commit; the
// commit fails that row instead of changing it.
func TestReachIsCheckedAgainAtCommit(t *testing.T) {
	t.Parallel()
	w := newReachWorld(t)
	status, imp := w.ada.uploadBytes("u1.csv", []byte("First Name,Last Name,Email,Password\nOwn,D,u1@lincoln.edu,"+attackerPass+"\n"), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{
		"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Password": "password"}})
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"force_password_change": false})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	w.ada.waitForState(id, "validated")
	imp = w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/existing-accounts", map[string]bool{"update_password": true})
	if c := imp["counts"].(map[string]any); c["changed"] != 1.0 {
		t.Fatalf("u1 is in reach at validation: %v", c)
	}

	// Meanwhile the system administrator moves u1 to G2.
	status, move := w.root.uploadBytes("move.csv", []byte("First Name,Last Name,Email,Group\nPat,Person,u1@lincoln.edu,G2\n"), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, move)
	}
	mid := move["id"].(string)
	w.root.must(200, "PUT", "/api/v1/imports/"+mid+"/mapping", map[string]any{"columns": map[string]string{
		"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Group": "group"}})
	w.root.must(200, "PUT", "/api/v1/imports/"+mid+"/defaults", map[string]any{"force_password_change": false})
	w.root.must(202, "POST", "/api/v1/imports/"+mid+"/validation", nil)
	w.root.waitForState(mid, "validated")
	w.root.must(200, "PUT", "/api/v1/imports/"+mid+"/existing-accounts", map[string]bool{"update_group": true})
	w.root.must(200, "POST", "/api/v1/imports/"+mid+"/verification", map[string]bool{"skip": true})
	w.root.must(202, "POST", "/api/v1/imports/"+mid+"/commit", nil)
	w.root.waitForState(mid, "completed")

	w.ada.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	summary := w.ada.waitForState(id, "completed")["summary"].(map[string]any)
	failed := summary["failed_rows"].([]any)
	if summary["updated"] != 0.0 || summary["failed"] != 1.0 || len(failed) != 1 || failed[0].(map[string]any)["code"] != "not_allowed_to_change" {
		t.Fatalf("summary: %v", summary)
	}
	if w.signsIn("u1@lincoln.edu", attackerPass) || !w.signsIn("u1@lincoln.edu", reachAccounts["u1@lincoln.edu"]) {
		t.Error("u1, moved out of the importer's group, was changed anyway")
	}
}

// TestClassroomImportCannotTakeOverAccounts: the same rule for a Google
// Classroom roster that lists the system administrator and another group's
// user.
func TestClassroomImportCannotTakeOverAccounts(t *testing.T) {
	t.Parallel()
	students := []googletest.Person{
		{ID: "s1", Email: "root@lincoln.edu", Given: "Sys", Family: "A"},
		{ID: "s2", Email: "u2@lincoln.edu", Given: "Usr", Family: "C"},
		{ID: "s3", Email: "u1@lincoln.edu", Given: "Own", Family: "D"},
		{ID: "s4", Email: "new@lincoln.edu", Given: "New", Family: "E"},
	}
	fake := googletest.Start(t, googletest.Options{
		ClientID: "rollcall-test", ClientSecret: "test-secret",
		User:    googletest.Person{ID: "t1", Email: adaEmail, Given: "Ada", Family: "Admin"},
		Courses: []googletest.Course{{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: adaEmail, Students: students}},
	})
	w := newReachWorld(t, "GOOGLE_CLIENT_ID=rollcall-test", "GOOGLE_CLIENT_SECRET=test-secret",
		"GOOGLE_AUTH_URL="+fake.AuthURL(), "GOOGLE_TOKEN_URL="+fake.TokenURL(), "GOOGLE_API_URL="+fake.APIURL())
	if status, body := googleConnect(t, w.ada); status != http.StatusFound {
		t.Fatalf("connect: %d %v", status, body)
	}
	imp := w.ada.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio"}})
	id := imp["id"].(string)
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": attackerPass, "force_password_change": false, "tag_ids": []string{w.tag}})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	w.ada.waitForState(id, "validated")
	problems := rowProblems(w.ada, id)
	if problems["root@lincoln.edu"] != "not_allowed_to_change" || problems["u2@lincoln.edu"] != "not_allowed_to_change" || len(problems) != 2 {
		t.Fatalf("classroom rows out of reach: %v", problems)
	}
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/existing-accounts", map[string]bool{"update_password": true, "update_tags": true, "update_names": true})
	w.ada.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	summary := w.ada.waitForState(id, "completed")["summary"].(map[string]any)
	if summary["created"] != 1.0 || summary["updated"] != 1.0 || summary["skipped"] != 2.0 {
		t.Fatalf("summary: %v", summary)
	}
	for _, email := range []string{"root@lincoln.edu", "u2@lincoln.edu"} {
		if w.signsIn(email, attackerPass) || !w.signsIn(email, reachAccounts[email]) {
			t.Errorf("%s was taken over through Classroom", email)
		}
		if acc := w.accountOf(email); len(acc["tag_ids"].([]any)) != 0 {
			t.Errorf("%s was tagged through Classroom: %v", email, acc)
		}
	}
	if !w.signsIn("u1@lincoln.edu", attackerPass) {
		t.Error("the user of the importer's own group did not get the new password")
	}
	if acc := w.accountOf("u2@lincoln.edu"); acc["first_name"] != "Pat" {
		t.Errorf("u2's name was changed through Classroom: %v", acc)
	}
}
