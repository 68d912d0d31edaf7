package e2e

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// fixRejected reads a rejected.csv, lets fix rewrite each record (the
// header excluded), and writes it back as a spreadsheet would save it.
func fixRejected(t *testing.T, rejected string, fix func(rec []string) []string) []byte {
	t.Helper()
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(rejected, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	out := csv.NewWriter(&b)
	_ = out.Write(records[0])
	for _, rec := range records[1:] {
		if rec = fix(rec); rec != nil {
			_ = out.Write(rec)
		}
	}
	out.Flush()
	return []byte(b.String())
}

// TestFollowUpOfRejectedRows: the rejected rows of an import, fixed in a
// spreadsheet and uploaded again, continue that import — its mapping,
// defaults and existing-accounts policy — and start at the review; they
// create exactly the fixed rows. A file uploaded twice is recognised.
func TestFollowUpOfRejectedRows(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})
	root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Robotics"})
	status, imp := root.upload("messy.csv", nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	first := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+first+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	root.must(200, "PUT", "/api/v1/imports/"+first+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+first+"/validation", nil)
	root.waitForState(first, "validated")
	root.must(200, "PUT", "/api/v1/imports/"+first+"/existing-accounts", map[string]bool{"update_group": true})
	_, rejected := root.raw("/api/v1/imports/" + first + "/rejected.csv")

	// Fixed in a spreadsheet: two rows repaired, the others dropped. The file
	// still ends with the "problems" column, so it is recognised.
	fixed := fixRejected(t, rejected, func(rec []string) []string {
		switch rec[0] {
		case "Cy":
			rec[2] = "cy.do@lincoln.edu"
		case "Pat":
			rec[4] = "7B"
		default:
			return nil
		}
		return rec
	})
	status, follow := root.uploadBytes("rejected-fixed.csv", fixed, nil)
	if status != 201 {
		t.Fatalf("follow-up upload: %d %v", status, follow)
	}
	second := follow["id"].(string)
	if follow["follow_up_of"] != first {
		t.Fatalf("the fixed rows were not recognised as %s's: %v", first, follow["follow_up_of"])
	}
	// Straight on to the check and the review, with the first import's
	// choices: nothing to map, no defaults to choose again.
	follow = root.waitForState(second, "validated")
	if follow["mapping"].(map[string]any)["problems"] != "ignore" || follow["existing_policy"].(map[string]any)["update_group"] != true ||
		follow["defaults"].(map[string]any)["password_set"] != true {
		t.Fatalf("the follow-up did not take the first import's choices: %v", follow)
	}
	if c := follow["counts"].(map[string]any); c["new"] != 2.0 || c["invalid"] != 0.0 {
		t.Fatalf("the fixed rows: %v", c)
	}
	root.must(200, "POST", "/api/v1/imports/"+second+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+second+"/commit", nil)
	if s := root.waitForState(second, "completed")["summary"].(map[string]any); s["created"] != 2.0 {
		t.Fatalf("the follow-up created %v", s)
	}
	for _, email := range []string{"cy.do@lincoln.edu", "pat.quinn@lincoln.edu"} {
		if status, _ := signInStatus(w.srv.URL, email, "Welcome-2026!"); status != 200 {
			t.Fatalf("%s (a fixed row) cannot sign in with the first import's default password", email)
		}
	}

	// Once the first import is complete its default password is destroyed:
	// a later follow-up keeps the mapping and policy, and stops at the
	// defaults for the password to be typed again.
	root.must(200, "POST", "/api/v1/imports/"+first+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+first+"/commit", nil)
	root.waitForState(first, "completed")
	waitUntil(t, "the first import's default password to be destroyed", 30*time.Second, func() bool {
		return dbQueryInt(t, w.db, `SELECT count(*) FROM import_secrets WHERE import_id = '`+first+`'`) == 0
	})
	late := fixRejected(t, rejected, func(rec []string) []string {
		if rec[0] != "Eve" {
			return nil
		}
		rec[2] = "eve.gray@lincoln.edu"
		return rec
	})
	status, follow = root.uploadBytes("late.csv", late, map[string]string{"follow_up_of": first})
	if status != 201 || follow["state"] != "mapped" || follow["step"] != "defaults" || follow["follow_up_of"] != first {
		t.Fatalf("a follow-up once the first import is complete: %d %v", status, follow)
	}
	third := follow["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+third+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+third+"/validation", nil)
	if p := root.waitForState(third, "validated")["existing_policy"].(map[string]any); p["update_group"] != true {
		t.Fatalf("the late follow-up lost the first import's policy: %v", p)
	}

	// Naming an import the file does not fit is refused with the reason.
	status, body := root.uploadBytes("other.csv", []byte("Name,Mail\nA B,ab@lincoln.edu\n"), map[string]string{"follow_up_of": first})
	if status != 422 || !strings.Contains(errorMessage(body), "did not have") {
		t.Fatalf("a follow-up with other columns: %d %v", status, body)
	}

	// The same file again: said before anything else.
	status, again := root.upload("messy.csv", nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, again)
	}
	same := again["same_file_as"].([]any)
	if len(same) != 1 || same[0].(map[string]any)["id"] != first || same[0].(map[string]any)["rows"] != 9.0 {
		t.Fatalf("same_file_as: %v", same)
	}
}

func errorMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// TestReadTheFileOtherwise: a CSV whose separator or encoding the detection
// got wrong is read again the way the importer chooses; the mapping starts
// over with the new columns.
func TestReadTheFileOtherwise(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	// Windows-1252 bytes for "Zoë", separated by semicolons.
	file := []byte("First Name;Last Name;Email\nZo\xeb;M\xfcller;zoe@lincoln.edu\n")
	status, imp := root.uploadBytes("semi.csv", file, nil)
	if status != 201 || imp["file"].(map[string]any)["delimiter"] != ";" || imp["file"].(map[string]any)["encoding"] != "windows-1252" {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	imp = root.must(200, "PUT", "/api/v1/imports/"+id+"/file", map[string]string{"encoding": "utf-8", "delimiter": ","})
	headers := imp["file"].(map[string]any)["headers"].([]any)
	if imp["state"] != "uploaded" || len(headers) != 1 || imp["file"].(map[string]any)["delimiter"] != "," || len(imp["mapping"].(map[string]any)) != 0 {
		t.Fatalf("read with commas: %v", imp)
	}
	if status, body := root.do("PUT", "/api/v1/imports/"+id+"/file", map[string]string{"encoding": "ebcdic"}); status != 422 {
		t.Fatalf("an encoding Rollcall does not read: %d %v", status, body)
	}
	imp = root.must(200, "PUT", "/api/v1/imports/"+id+"/file", map[string]string{"encoding": "windows-1252", "delimiter": ";"})
	if h := imp["file"].(map[string]any)["headers"].([]any); len(h) != 3 {
		t.Fatalf("read again with semicolons: %v", h)
	}
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	root.waitForState(id, "validated")
	row := root.must(200, "GET", "/api/v1/imports/"+id+"/rows", nil)["rows"].([]any)[0].(map[string]any)
	if row["first_name"] != "Zoë" || row["last_name"] != "Müller" {
		t.Fatalf("accents: %v", row)
	}
}
