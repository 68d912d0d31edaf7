package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// classroomImport runs a Google Classroom import of courses through the
// wizard as c: defaults (with deactivateDeparted), the check, the review
// skipped, the commit; it returns the validated import and the completed one.
func classroomImport(t *testing.T, c *client, courses []string, deactivateDeparted bool) (validated, completed map[string]any) {
	t.Helper()
	id := c.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": courses})["id"].(string)
	c.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Class-Start-2026", "force_password_change": true,
		"deactivate_departed": deactivateDeparted})
	c.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	validated = c.waitForState(id, "validated")
	c.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	c.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	return validated, c.waitForState(id, "completed")
}

// setStudents changes a class's roster at the fake Google over HTTP, as a
// developer does against the development mode's fake.
func setStudents(t *testing.T, fake *googletest.Server, course string, students []googletest.Person) {
	t.Helper()
	var body []map[string]string
	for _, s := range students {
		body = append(body, map[string]string{"id": s.ID, "email": s.Email, "given": s.Given, "family": s.Family})
	}
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest("PUT", fake.URL+"/fake/courses/"+course+"/students", bytes.NewReader(raw))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("the fake Google did not take the new roster: %d", resp.StatusCode)
	}
}

func lastImportOf(t *testing.T, c *client, course string) any {
	t.Helper()
	for _, raw := range c.must(200, "GET", "/api/v1/google/courses", nil)["courses"].([]any) {
		if co := raw.(map[string]any); co["id"] == course {
			return co["last_import"]
		}
	}
	t.Fatalf("no course %s", course)
	return nil
}

// waitLastImport waits until the classes list (a read model, a moment
// behind the import) shows id as the class's last import.
func waitLastImport(t *testing.T, c *client, course string, id any) map[string]any {
	t.Helper()
	var last map[string]any
	waitUntil(t, fmt.Sprintf("%s's last import to be %v", course, id), 2*time.Minute, func() bool {
		last, _ = lastImportOf(t, c, course).(map[string]any)
		return last != nil && last["id"] == id
	})
	return last
}

func counts(imp map[string]any) string {
	c := imp["counts"].(map[string]any)
	return fmt.Sprintf("new %v changed %v unchanged %v invalid %v", c["new"], c["changed"], c["unchanged"], c["invalid"])
}

// TestClassroomReSync: a class imported, then changed in Google Classroom
// (one student joins, one leaves, one is renamed), imported again: a
// re-sync. Who stayed is unchanged, the renamed one changed, the newcomer
// new, and who left is listed as departed; their account is deactivated
// only when the importer chose it. The classes list says when each class
// was last imported.
func TestClassroomReSync(t *testing.T) {
	t.Parallel()
	ana := googletest.Person{ID: "s1", Email: "ana@lincoln.edu", Given: "Ana", Family: "Lima"}
	bo := googletest.Person{ID: "s2", Email: "bo@lincoln.edu", Given: "Bo", Family: "Ek"}
	cy := googletest.Person{ID: "s3", Email: "cy@lincoln.edu", Given: "Cy", Family: "Noor"}
	dee := googletest.Person{ID: "s4", Email: "dee@lincoln.edu", Given: "Dee", Family: "Fox"}
	eve := googletest.Person{ID: "s5", Email: "eve@lincoln.edu", Given: "Eve", Family: "Gray"}
	fay := googletest.Person{ID: "s6", Email: "fay@lincoln.edu", Given: "Fay", Family: "Art"}
	fake := googletest.Start(t, googletest.Options{
		ClientID: "rollcall-test", ClientSecret: "test-secret",
		User: googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"},
		Courses: []googletest.Course{
			{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.edu", Students: []googletest.Person{ana, bo, cy, dee}},
			// Fay is in Art only; Dee in both.
			{ID: "art", Name: "Art", Section: "9C", OwnerEmail: "root@lincoln.edu", Students: []googletest.Person{dee, fay}},
		},
	})
	w := newWorld(t, "GOOGLE_CLIENT_ID=rollcall-test", "GOOGLE_CLIENT_SECRET=test-secret",
		"GOOGLE_AUTH_URL="+fake.AuthURL(), "GOOGLE_TOKEN_URL="+fake.TokenURL(), "GOOGLE_API_URL="+fake.APIURL())
	root := w.root
	if status, body := googleConnect(t, root); status != http.StatusFound {
		t.Fatalf("connect: %d %v", status, body)
	}
	if last := lastImportOf(t, root, "bio"); last != nil {
		t.Fatalf("a class never imported shows a last import: %v", last)
	}

	// The first import of Biology, and Art's.
	_, first := classroomImport(t, root, []string{"bio"}, false)
	if s := first["summary"].(map[string]any); s["created"] != 4.0 {
		t.Fatalf("first import: %v", s)
	}
	classroomImport(t, root, []string{"art"}, false)
	last := waitLastImport(t, root, "bio", first["id"])
	if at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(last["at"])); err != nil || time.Since(at) > time.Hour {
		t.Fatalf("Biology's last import at %v (%v)", last["at"], err)
	}

	// In Classroom: Bo leaves, Cy is renamed, Eve joins. Fay leaves Art,
	// which is not re-synced here: she is not Biology's to deactivate.
	cyrus := cy
	cyrus.Given = "Cyrus"
	setStudents(t, fake, "bio", []googletest.Person{ana, cyrus, dee, eve})

	// The re-sync without deactivating.
	resync, done := classroomImport(t, root, []string{"bio"}, false)
	if got := counts(resync); got != "new 1 changed 1 unchanged 2 invalid 0" {
		t.Fatalf("re-sync counts: %s", got)
	}
	departed := fmt.Sprint(resync["departed"])
	if departed != "[map[email:bo@lincoln.edu name:Bo Ek]]" {
		t.Fatalf("departed: %s", departed)
	}
	changed := root.must(200, "GET", "/api/v1/imports/"+fmt.Sprint(resync["id"])+"/rows?status=changed", nil)["rows"].([]any)
	if len(changed) != 1 || changed[0].(map[string]any)["email"] != "cy@lincoln.edu" || !strings.Contains(fmt.Sprint(changed[0].(map[string]any)["changes"]), "Cyrus") {
		t.Fatalf("changed rows: %v", changed)
	}
	if s := done["summary"].(map[string]any); s["created"] != 1.0 || s["updated"] != 1.0 || s["unchanged"] != 2.0 || s["deactivated"] != 0.0 {
		t.Fatalf("re-sync summary: %v", s)
	}
	if status, code := signInStatus(w.srv.URL, "bo@lincoln.edu", "Class-Start-2026"); status != 200 {
		t.Fatalf("Bo, departed but not deactivated, cannot sign in: %d %s", status, code)
	}
	if cyNow := root.must(200, "GET", "/api/v1/accounts?email=cy@lincoln.edu", nil)["accounts"].([]any)[0].(map[string]any); cyNow["first_name"] != "Cyrus" {
		t.Fatalf("Cy's name after the re-sync: %v", cyNow)
	}
	waitLastImport(t, root, "bio", done["id"])

	// Again, now deactivating: Bo is still departed (imported from the
	// class before, still active); nothing else changes, and deactivating
	// him is worth a commit.
	setStudents(t, fake, "art", []googletest.Person{dee})
	again, finished := classroomImport(t, root, []string{"bio"}, true)
	if got := counts(again); got != "new 0 changed 0 unchanged 4 invalid 0" {
		t.Fatalf("second re-sync counts: %s", got)
	}
	if d := fmt.Sprint(again["departed"]); d != departed || again["defaults"].(map[string]any)["deactivate_departed"] != true {
		t.Fatalf("second re-sync departed %s, defaults %v", d, again["defaults"])
	}
	if s := finished["summary"].(map[string]any); s["deactivated"] != 1.0 || s["created"] != 0.0 || s["updated"] != 0.0 {
		t.Fatalf("second re-sync summary: %v", s)
	}
	if status, code := signInStatus(w.srv.URL, "bo@lincoln.edu", "Class-Start-2026"); status != 401 || code != "account_deactivated" {
		t.Fatalf("Bo signs in after being deactivated as departed: %d %s", status, code)
	}
	if boNow := root.must(200, "GET", "/api/v1/accounts?email=bo@lincoln.edu", nil)["accounts"].([]any)[0].(map[string]any); boNow["active"] != false {
		t.Fatalf("Bo is listed %v", boNow)
	}
	for _, stays := range []string{"ana@lincoln.edu", "cy@lincoln.edu", "dee@lincoln.edu", "eve@lincoln.edu", "fay@lincoln.edu"} {
		if a := root.must(200, "GET", "/api/v1/accounts?email="+stays, nil)["accounts"].([]any)[0].(map[string]any); a["active"] != true {
			t.Fatalf("%s was deactivated: %v", stays, a)
		}
	}

	// The importer's summary email says it too.
	waitUntil(t, "the summary email of the re-sync", 2*time.Minute, func() bool {
		for _, m := range w.smtp.Messages() {
			if strings.Contains(m.Text, "/imports/"+fmt.Sprint(finished["id"])) && strings.Contains(m.Text, "Accounts of students who left the class, deactivated: 1") {
				return true
			}
		}
		return false
	})

	// The audit trail (a read model) says it, on the import and on Bo's
	// account.
	id := fmt.Sprint(finished["id"])
	var types []string
	waitUntil(t, "the re-sync's audit trail", 2*time.Minute, func() bool {
		types = nil
		for _, e := range root.must(200, "GET", "/api/v1/imports/"+id+"/events", nil)["events"].([]any) {
			types = append(types, e.(map[string]any)["type"].(string))
		}
		return strings.Contains(strings.Join(types, " "), "ImportCompleted")
	})
	for _, want := range []string{"DepartedFound", "DeparturesDeactivated"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Fatalf("%s missing from the import's trail: %v", want, types)
		}
	}
	var out string
	waitUntil(t, "Bo's audit trail", 2*time.Minute, func() bool {
		out, _ = rollcall(t, w.env, "audit", "account", "bo@lincoln.edu")
		return strings.Contains(out, "no longer in the Google Classroom class")
	})

	// The choice can be changed on the review without checking again; a
	// CSV import has no departed students to deactivate.
	third := root.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio"}})["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+third+"/defaults", map[string]any{"password": "Class-Start-2026", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+third+"/validation", nil)
	v := root.waitForState(third, "validated")
	if fmt.Sprint(v["departed"]) != "[]" {
		t.Fatalf("Bo, deactivated, is still listed as departed: %v", v["departed"])
	}
	if imp := root.must(200, "PUT", "/api/v1/imports/"+third+"/departed", map[string]bool{"deactivate_departed": true}); imp["state"] != "validated" ||
		imp["defaults"].(map[string]any)["deactivate_departed"] != true {
		t.Fatalf("chosen on the review: %v", imp)
	}
	status, csv := root.uploadBytes("people.csv", []byte("First Name,Last Name,Email\nZed,Zee,zed@lincoln.edu\n"), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, csv)
	}
	csvID := csv["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+csvID+"/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"}})
	if status, body := root.do("PUT", "/api/v1/imports/"+csvID+"/defaults", map[string]any{"password": "Class-Start-2026", "deactivate_departed": true}); status != 422 {
		t.Fatalf("a CSV import deactivating departed students: %d %v", status, body)
	}
	// Another organization sees nothing of it.
	if status, _ := w.other.do("PUT", "/api/v1/imports/"+third+"/departed", map[string]bool{"deactivate_departed": false}); status != 404 {
		t.Fatalf("another organization changes the choice: %d", status)
	}

	// Undoing the re-sync that deactivated Bo reactivates him.
	root.must(202, "POST", "/api/v1/imports/"+id+"/undo", nil)
	if u := root.waitForState(id, "undone")["undo"].(map[string]any); u["reactivated"] != 1.0 || u["deactivated"] != 0.0 {
		t.Fatalf("the undo of the re-sync: %v", u)
	}
	if status, code := signInStatus(w.srv.URL, "bo@lincoln.edu", "Class-Start-2026"); status != 200 {
		t.Fatalf("Bo cannot sign in after the undo of the re-sync that deactivated him: %d %s", status, code)
	}
	waitUntil(t, "Bo listed active again", 2*time.Minute, func() bool {
		return root.must(200, "GET", "/api/v1/accounts?email=bo@lincoln.edu", nil)["accounts"].([]any)[0].(map[string]any)["active"] == true
	})
}

// TestEmptiedClassAsksBeforeDeactivating: a class that comes back from
// Classroom nearly empty (archived, or a roster Google failed to list) lists
// almost everyone as departed. Deactivating them is a change to existing
// accounts like any other, so the organization's change threshold refuses
// the commit until the importer types the exact number, which the answer
// gives along with how many of them are deactivations.
func TestEmptiedClassAsksBeforeDeactivating(t *testing.T) {
	t.Parallel()
	var students []googletest.Person
	for i := range 24 {
		students = append(students, googletest.Person{ID: fmt.Sprintf("s%d", i), Email: fmt.Sprintf("student%02d@lincoln.edu", i), Given: "Stu", Family: fmt.Sprintf("Dent%02d", i)})
	}
	w, fake, _ := classroomWorld(t, googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"}, []googletest.Course{
		{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.edu", Students: students},
	})
	root := w.root
	if status, body := googleConnect(t, root); status != http.StatusFound {
		t.Fatalf("connect: %d %v", status, body)
	}
	_, first := classroomImport(t, root, []string{"bio"}, false)
	waitLastImport(t, root, "bio", first["id"])

	setStudents(t, fake, "bio", students[:2])
	id := root.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio"}})["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Class-Start-2026", "deactivate_departed": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	if v := root.waitForState(id, "validated"); v["departed_total"] != 22.0 {
		t.Fatalf("departed_total %v, want 22", v["departed_total"])
	}
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})

	status, body := root.do("POST", "/api/v1/imports/"+id+"/commit", nil)
	e, _ := body["error"].(map[string]any)
	details, _ := e["details"].(map[string]any)
	if status != http.StatusConflict || e["code"] != "change_threshold_exceeded" || details["changed"] != 22.0 || details["deactivated"] != 22.0 {
		t.Fatalf("commit deactivating 22 of 26 accounts unconfirmed: %d %v", status, body)
	}
	if msg := fmt.Sprint(e["message"]); !strings.Contains(msg, "22 of them deactivated as students who left the class") || !strings.Contains(msg, "Type 22 to confirm") {
		t.Fatalf("the sentence: %s", msg)
	}
	if status, code := signInStatus(w.srv.URL, "student05@lincoln.edu", "Class-Start-2026"); status != 200 {
		t.Fatalf("a refused commit deactivated a student: %d %s", status, code)
	}

	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", map[string]int{"confirm_changed": 22})
	done := root.waitForState(id, "completed")
	if s := done["summary"].(map[string]any); s["deactivated"] != 22.0 {
		t.Fatalf("summary after the confirmation: %v", s)
	}
	if status, code := signInStatus(w.srv.URL, "student05@lincoln.edu", "Class-Start-2026"); status != 401 || code != "account_deactivated" {
		t.Fatalf("a departed student after the confirmed commit: %d %s", status, code)
	}
}
