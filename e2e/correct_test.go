package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestFixARowInPlace: an invalid row is corrected on the review and checked
// again at once (format, duplicates in the file, other organizations,
// reach), the correction is audited, and the commit creates the corrected
// row.
func TestFixARowInPlace(t *testing.T) {
	t.Parallel()
	w := newReachWorld(t)
	file := "First Name,Last Name,Email\nAna,Lima,ana@\nBo,Ek,bo@lincoln.edu\nCy,Oz,cy@lincoln.edu\n"
	status, imp := w.ada.uploadBytes("typo.csv", []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"}})
	w.ada.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	if c := w.ada.waitForState(id, "validated")["counts"].(map[string]any); c["new"] != 2.0 || c["invalid"] != 1.0 {
		t.Fatalf("counts: %v", c)
	}
	path := "/api/v1/imports/" + id + "/rows/1"
	// Each correction is checked at once, with the validation's rules.
	for _, tt := range []struct {
		email, code string
	}{
		{"bo@lincoln.edu", "email_duplicate_in_file"},
		{"taken@other.org", "email_unavailable"},
		{"root@lincoln.edu", "not_allowed_to_change"},
		{"ana@lincoln", "email_invalid"},
	} {
		out := w.ada.must(200, "PATCH", path, map[string]string{"email": tt.email})
		row := out["row"].(map[string]any)
		if row["status"] != "invalid" || !strings.Contains(fmt.Sprint(row["problems"]), tt.code) {
			t.Fatalf("row 1 with %s: %v", tt.email, row)
		}
	}
	if status, body := w.ada.do("PATCH", path, map[string]string{"password": "x"}); status != 400 {
		t.Fatalf("a password through the correction: %d %v", status, body)
	}
	out := w.ada.must(200, "PATCH", path, map[string]string{"email": "ana@lincoln.edu", "first_name": "Ana Maria"})
	row, counts := out["row"].(map[string]any), out["counts"].(map[string]any)
	if row["status"] != "new" || row["email"] != "ana@lincoln.edu" || row["first_name"] != "Ana Maria" || counts["new"] != 3.0 || counts["invalid"] != 0.0 {
		t.Fatalf("corrected: %v %v", row, counts)
	}
	if rej, _ := w.ada.raw("/api/v1/imports/" + id + "/rejected.csv"); rej != 200 {
		t.Fatalf("rejected.csv: %d", rej)
	}

	// Audited: who, which row, which field, from → to.
	w.ada.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	w.ada.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	if s := w.ada.waitForState(id, "completed")["summary"].(map[string]any); s["created"] != 3.0 || s["skipped"] != 0.0 {
		t.Fatalf("summary: %v", s)
	}
	var corrections []map[string]any
	waitUntil(t, "the corrections in the audit trail", 30*time.Second, func() bool {
		corrections = nil
		for _, e := range w.ada.must(200, "GET", "/api/v1/imports/"+id+"/events", nil)["events"].([]any) {
			if ev := e.(map[string]any); ev["type"] == "RowCorrected" {
				corrections = append(corrections, ev)
			}
		}
		return len(corrections) == 5
	})
	last := corrections[4]
	if last["actor"].(map[string]any)["email"] != adaEmail || !strings.Contains(fmt.Sprint(last["data"]), "From:ana@lincoln To:ana@lincoln.edu") {
		t.Fatalf("audited correction: %v", last)
	}
	if status, _ := signInStatus(w.srv.URL, "ana@lincoln.edu", "Welcome-2026!"); status != 200 {
		t.Fatal("the corrected row did not become an account")
	}
	acc := w.root.must(200, "GET", "/api/v1/accounts?email=ana@lincoln.edu", nil)["accounts"].([]any)[0].(map[string]any)
	if acc["first_name"] != "Ana Maria" {
		t.Fatalf("the account took the corrected name? %v", acc)
	}
}
