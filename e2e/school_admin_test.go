package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"
)

// rowsByEmail reads every row of an import's review (one page is enough
// for these small files), by lower-cased email.
func rowsByEmail(t *testing.T, c *client, id string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range c.must(200, "GET", "/api/v1/imports/"+id+"/rows", nil)["rows"].([]any) {
		row := r.(map[string]any)
		// A duplicate further down the file does not hide the first.
		if key := strings.ToLower(row["email"].(string)); out[key] == nil {
			out[key] = row
		}
	}
	return out
}

// TestNamesWithParticles: a Full name column is split on family-name
// particles in any case, the review shows the split, a split the rule
// cannot know is corrected on the review, and the accounts take the names
// as shown.
func TestNamesWithParticles(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	file := "Name,Email\n" +
		"Thaïs Da Silva,thais@lincoln.edu\n" +
		"Mathéo Van der Berg,matheo@lincoln.edu\n" +
		"Ludwig van Beethoven,ludwig@lincoln.edu\n" +
		"María De La Cruz,maria@lincoln.edu\n" +
		"Ahmad Bin Said,ahmad@lincoln.edu\n" +
		"Anne Marie Dupont,anne@lincoln.edu\n" +
		"\"Da Silva, Ana\",ana.ds@lincoln.edu\n" +
		"Nguyen Van An,an@lincoln.edu\n"
	id := commitReady(t, root, "names.csv", file, map[string]string{"Name": "full_name", "Email": "email"})
	want := map[string][2]string{
		"thais@lincoln.edu":  {"Thaïs", "Da Silva"},
		"matheo@lincoln.edu": {"Mathéo", "Van der Berg"},
		"ludwig@lincoln.edu": {"Ludwig", "van Beethoven"},
		"maria@lincoln.edu":  {"María", "De La Cruz"},
		"ahmad@lincoln.edu":  {"Ahmad", "Bin Said"},
		"anne@lincoln.edu":   {"Anne Marie", "Dupont"},
		"ana.ds@lincoln.edu": {"Ana", "Da Silva"},
		// Vietnamese order (family name first) reads as "Nguyen" + "Van
		// An": no rule can tell, so the review shows it to be corrected.
		"an@lincoln.edu": {"Nguyen", "Van An"},
	}
	rows := rowsByEmail(t, root, id)
	for email, names := range want {
		row := rows[email]
		if row == nil || row["first_name"] != names[0] || row["last_name"] != names[1] || row["status"] != "new" {
			t.Errorf("review of %s: %v, want %q / %q", email, row, names[0], names[1])
		}
	}
	fixed := root.must(200, "PATCH", fmt.Sprintf("/api/v1/imports/%s/rows/%v", id, rows["an@lincoln.edu"]["row"]),
		map[string]string{"first_name": "An", "last_name": "Nguyen Van"})["row"].(map[string]any)
	if fixed["first_name"] != "An" || fixed["last_name"] != "Nguyen Van" || fixed["status"] != "new" {
		t.Fatalf("the corrected split: %v", fixed)
	}
	want["an@lincoln.edu"] = [2]string{"An", "Nguyen Van"}
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")
	accounts := root.must(200, "GET", "/api/v1/accounts?import_id="+id, nil)["accounts"].([]any)
	if len(accounts) != len(want) {
		t.Fatalf("%d accounts, want %d", len(accounts), len(want))
	}
	for _, a := range accounts {
		acc := a.(map[string]any)
		names := want[acc["email"].(string)]
		if acc["first_name"] != names[0] || acc["last_name"] != names[1] {
			t.Errorf("account %v: %q / %q, want %q / %q", acc["email"], acc["first_name"], acc["last_name"], names[0], names[1])
		}
	}
}

// commitReady uploads a CSV as c, maps it, sets a default password and
// checks the rows.
func commitReady(t *testing.T, c *client, name, file string, mapping map[string]string) string {
	t.Helper()
	status, imp := c.uploadBytes(name, []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload %s: %d %v", name, status, imp)
	}
	id := imp["id"].(string)
	c.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": mapping})
	c.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	c.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	c.waitForState(id, "validated")
	return id
}

// TestAccountSearchByPart: q finds part of an email or of a name, in any
// case, only in the caller's organization; email still takes a whole
// address.
func TestAccountSearchByPart(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	file := "First Name,Last Name,Email\nThaïs,Da Silva,thais.dasilva@lincoln.edu\nMathéo,Van der Berg,mvdb@lincoln.edu\nBo,Ek,bo_ek@lincoln.edu\nBoek,Silva,boek@lincoln.edu\n"
	id := commitReady(t, root, "search.csv", file, map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"})
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")
	search := func(c *client, query string) string {
		out := c.must(200, "GET", "/api/v1/accounts?"+query, nil)
		var got []string
		for _, a := range out["accounts"].([]any) {
			local, _, _ := strings.Cut(strings.ToLower(a.(map[string]any)["email"].(string)), "@")
			got = append(got, local)
		}
		sort.Strings(got)
		if int(out["total"].(float64)) != len(got) {
			t.Errorf("%s: total %v for %d accounts", query, out["total"], len(got))
		}
		return strings.Join(got, ",")
	}
	for _, tt := range []struct{ query, want string }{
		{"q=silva", "boek,thais.dasilva"},                     // part of a last name, and of an email
		{"q=" + url.QueryEscape("DA SIL"), "thais.dasilva"},   // part of a last name, any case
		{"q=" + url.QueryEscape("thaïs da"), "thais.dasilva"}, // across the first and the last name
		{"q=" + url.QueryEscape("van der"), "mvdb"},
		{"q=MVDB%40LINCOLN", "mvdb"}, // part of an email, any case
		{"q=bo_", "bo_ek"},           // "_" is a character, not a wildcard
		{"q=%25", ""},                // nor is "%"
		{"q=lincoln.edu&email=", "bo_ek,boek,kim.existing,mvdb,root,thais.dasilva"},
		{"email=silva", ""}, // email is the whole address
		{"email=MVDB@lincoln.edu", "mvdb"},
	} {
		if got := search(root, tt.query); got != tt.want {
			t.Errorf("?%s: %q, want %q", tt.query, got, tt.want)
		}
	}
	if got := search(w.other, "q=silva"); got != "" {
		t.Errorf("another organization finds %q", got)
	}
}

// TestReviewAsCreatedAndTotalsAddUp: the review shows rows as they will be
// created (the default group and tags, marked as defaults); the summary's
// figures add up to the file's rows, duplicates and blank rows included;
// the preset chosen at upload is on every account the import created.
func TestReviewAsCreatedAndTotalsAddUp(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	g7 := root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})["id"].(string)
	root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G2"})
	robotics := root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Robotics"})["id"].(string)
	preset := root.must(201, "POST", "/api/v1/presets", map[string]string{"name": "Year 7 intake"})["id"].(string)
	file := "First Name,Last Name,Email,Group,Notes\n" +
		"Ana,Lima,ana@lincoln.edu,,\n" + // new, default group
		"Bo,Ek,bo@lincoln.edu,G2,\n" + // new, its own group
		"Kim,Existing,kim.existing@lincoln.edu,,\n" + // existing, left as it is
		"Cy,Oz,not-an-email,,\n" + // invalid
		"Ana,Lima,ANA@lincoln.edu,,\n" + // a duplicate of row 1
		",,,,left in June\n" + // blank where it matters: a row of the file, ignored
		"Tia,Taken,taken@other.org,,\n" + // another organization's
		",,,,\n" + // no cell at all: not a row of the file
		"Dee,Do,dee@lincoln.edu,,\n" // new
	status, imp := root.uploadBytes("term.csv", []byte(file), map[string]string{"preset_id": preset})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email", "Group": "group", "Notes": "ignore"}})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true, "group_id": g7, "tag_ids": []string{robotics}})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	imp = root.waitForState(id, "validated")
	rowsInFile := imp["file"].(map[string]any)["rows"].(float64)
	c := imp["counts"].(map[string]any)
	if rowsInFile != 8 || c["new"] != 3.0 || c["existing"] != 1.0 || c["invalid"] != 3.0 || c["blank"] != 1.0 ||
		c["new"].(float64)+c["existing"].(float64)+c["invalid"].(float64)+c["blank"].(float64) != rowsInFile {
		t.Fatalf("the counts do not add up to the file's %v rows: %v", rowsInFile, c)
	}

	// As they will be created: Ana gets the default group and tag, shown as
	// defaults; Bo keeps his own group, with the default tag.
	rows := rowsByEmail(t, root, id)
	ana, bo := rows["ana@lincoln.edu"], rows["bo@lincoln.edu"]
	if ana["group"] != "7B" || ana["group_is_default"] != true || fmt.Sprint(ana["default_tags"]) != "[Robotics]" {
		t.Errorf("Ana's row does not show the defaults: %v", ana)
	}
	if bo["group"] != "G2" || bo["group_is_default"] != false || fmt.Sprint(bo["default_tags"]) != "[Robotics]" {
		t.Errorf("Bo's row: %v", bo)
	}
	page := newPageClient(t, w.srv.URL)
	page.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
	if _, body := page.get("/imports/" + id + "/verification"); !strings.Contains(body, `data-default="group">7B <small>(default)</small>`) ||
		!strings.Contains(body, `data-default="tags">Robotics <small>(default)</small>`) {
		t.Errorf("the review page does not grey the defaults:\n%s", body)
	} else if strings.Contains(body, `data-change="password"`) || strings.Contains(body, `data-change="active"`) {
		t.Errorf("the review page says a change no row makes:\n%s", body)
	}

	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	s := root.waitForState(id, "completed")["summary"].(map[string]any)
	sum := 0.0
	for _, k := range []string{"created", "updated", "unchanged", "skipped", "failed", "blank"} {
		sum += s[k].(float64)
	}
	if s["created"] != 3.0 || s["unchanged"] != 1.0 || s["skipped"] != 3.0 || s["blank"] != 1.0 || sum != rowsInFile || s["total"] != rowsInFile {
		t.Fatalf("the summary does not add up to the file's %v rows: %v", rowsInFile, s)
	}
	if _, body := page.get("/imports/" + id + "/progress"); !strings.Contains(body, `id="summary-total">8</strong>`) {
		t.Errorf("the summary page does not say the file's rows:\n%s", body)
	}

	// The same file again is said on its first page, with the figures and
	// a link to the first import.
	status, again := root.uploadBytes("term-again.csv", []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload again: %d %v", status, again)
	}
	// The imports read model may still be catching up with the completion.
	var sameFile string
	waitUntil(t, "the same file to be said with its outcome", time.Minute, func() bool {
		_, sameFile = page.get("/imports/" + again["id"].(string) + "/mapping")
		return strings.Contains(sameFile, "(8 rows: 3 created; Completed)")
	})
	if !strings.Contains(sameFile, "You imported this file on") || !strings.Contains(sameFile, `<a href="/imports/`+id+`">See that import</a>`) {
		t.Errorf("the mapping page of the same file again does not say so:\n%s", sameFile)
	}

	// The preset is on the accounts the import created, not on Kim's.
	for _, a := range root.must(200, "GET", "/api/v1/accounts", nil)["accounts"].([]any) {
		acc := a.(map[string]any)
		created := acc["import_id"] == id
		if (acc["preset_id"] == preset) != created {
			t.Errorf("%v (created by the import: %v) has preset %v", acc["email"], created, acc["preset_id"])
		}
	}
}

// TestTrapsBeforeTheCheck: what would make rows invalid by the dozen is
// said before the check — no password anywhere (on the Import and the
// defaults page), a Group column of values that are not groups (on the
// mapping page, with the first of them) — and a system administrator can
// create the missing groups there; an administrator cannot.
func TestTrapsBeforeTheCheck(t *testing.T) {
	t.Parallel()
	w := newReachWorld(t)
	root := w.root
	file := "Name,Email,Org Unit Path\nAna Lima,ana@lincoln.edu,/Students/7B\nBo Ek,bo@lincoln.edu,/Students/8C\nCy Oz,cy@lincoln.edu,/Students/7B\nDee Do,dee@lincoln.edu,G1\n"
	status, imp := root.uploadBytes("workspace.csv", []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	if imp["suggested_mapping"].(map[string]any)["Org Unit Path"] != "group" {
		t.Fatalf("Org Unit Path is not suggested as Group: %v", imp["suggested_mapping"])
	}
	if len(imp["warnings"].([]any)) != 0 {
		t.Fatalf("warnings before the mapping: %v", imp["warnings"])
	}
	page := newPageClient(t, w.srv.URL)
	page.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
	_, body := page.get("/imports/" + id + "/mapping")
	if !strings.Contains(body, `id="unknown-groups"`) || !strings.Contains(body, "<code>/Students/7B</code>, <code>/Students/8C</code>.") ||
		!strings.Contains(body, "3 of its 4 rows") || !strings.Contains(body, `id="create-groups"`) {
		t.Fatalf("the mapping page does not warn of the unknown groups:\n%s", body)
	}
	// It also says how the file was read, and offers to read it otherwise.
	if !strings.Contains(body, `id="detected-encoding">UTF-8</strong>`) || !strings.Contains(body, `id="detected-delimiter">comma</strong>`) ||
		!strings.Contains(body, `id="reread"`) {
		t.Fatalf("the mapping page does not say how the file was read:\n%s", body)
	}

	imp = root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	if warnings := fmt.Sprint(imp["warnings"]); !strings.Contains(warnings, "code:no_password") || !strings.Contains(warnings, "no password column") {
		t.Fatalf("no password anywhere, no warning: %v", warnings)
	}
	if _, body := page.get("/imports/" + id + "/defaults"); !strings.Contains(body, `id="no-password-column"`) {
		t.Fatalf("the defaults page does not warn of the missing password:\n%s", body)
	}

	// An administrator cannot create groups, even from their own import.
	status, own := w.ada.uploadBytes("mine.csv", []byte(file), nil)
	if status != 201 {
		t.Fatalf("ada's upload: %d %v", status, own)
	}
	adaPage := newPageClient(t, w.srv.URL)
	adaPage.post("/sign-in", url.Values{"email": {adaEmail}, "password": {adaPassword}})
	adaPath := "/imports/" + own["id"].(string) + "/mapping"
	if _, body := adaPage.get(adaPath); strings.Contains(body, `id="create-groups"`) {
		t.Fatal("an administrator is offered to create groups")
	}
	resp, _ := adaPage.post("/imports/"+own["id"].(string)+"/groups", url.Values{"csrf": {adaPage.csrf(adaPath)}, "group": {"/Students/7B"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an administrator creates a group: %d", resp.StatusCode)
	}

	// The system administrator creates them from the warning.
	var groups []string
	for _, m := range strings.Split(body, `name="group" value="`)[1:] {
		groups = append(groups, m[:strings.Index(m, `"`)])
	}
	mappingPath := "/imports/" + id + "/mapping"
	resp, _ = page.post("/imports/"+id+"/groups", url.Values{"csrf": {page.csrf(mappingPath)}, "group": groups})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create the groups: %d", resp.StatusCode)
	}
	if _, body := page.get(mappingPath); strings.Contains(body, `id="unknown-groups"`) {
		t.Fatalf("still warned once the groups exist:\n%s", body)
	}
	names := map[string]bool{}
	_, list := root.raw("/api/v1/groups")
	var named []struct{ Name string }
	if err := json.Unmarshal([]byte(list), &named); err != nil {
		t.Fatalf("groups: %v %s", err, list)
	}
	for _, g := range named {
		names[g.Name] = true
	}
	if !names["/Students/7B"] || !names["/Students/8C"] || len(groups) != 2 {
		t.Fatalf("groups after creating %v: %v", groups, names)
	}

	// With a default password the trap is gone, and every row is valid.
	imp = root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	if len(imp["warnings"].([]any)) != 0 {
		t.Fatalf("warnings with a default password: %v", imp["warnings"])
	}
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	if c := root.waitForState(id, "validated")["counts"].(map[string]any); c["new"] != 4.0 || c["invalid"] != 0.0 {
		t.Fatalf("after the traps were avoided: %v", c)
	}
}

// TestEmailsCarryLinks: a welcome email says where to sign in (PUBLIC_URL)
// and the importer's summary links to the import's page.
func TestEmailsCarryLinks(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})
	id := validatedUpload(t, root, "links.csv", []byte("First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\n"), true)
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")
	public := strings.Replace(w.srv.URL, "127.0.0.1", "localhost", 1) // PUBLIC_URL's default
	got := map[string]string{}
	for _, m := range w.smtp.WaitFor(t, 2, 2*time.Minute) {
		got[strings.Join(m.To, ",")] = m.Text
	}
	if welcome := got["ana@lincoln.edu"]; !strings.Contains(welcome, "Sign in at "+public+"/sign-in\n") {
		t.Errorf("the welcome email has no sign-in link to %s:\n%s", public, welcome)
	}
	if summary := got["root@lincoln.edu"]; !strings.Contains(summary, public+"/imports/"+id+"\n") || !strings.Contains(summary, "Rows in the file: 1") {
		t.Errorf("the summary email has no link to the import's page:\n%s", summary)
	}
}
