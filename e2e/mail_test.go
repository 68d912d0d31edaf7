package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// peopleCSV is a file of n people whose emails are <prefix>00000@lincoln.edu,
// <prefix>00001@…
func peopleCSV(n int, prefix string) []byte {
	var file strings.Builder
	file.WriteString("First Name,Last Name,Email\n")
	for i := range n {
		fmt.Fprintf(&file, "Given%d,Family%d,%s%05d@lincoln.edu\n", i, i, prefix, i)
	}
	return []byte(file.String())
}

// validatedImport uploads file with welcome emails, maps it, sets a default
// password and validates it; it returns the import's id, ready to commit.
func validatedImport(t *testing.T, root *client, name string, file []byte) string {
	t.Helper()
	status, imp := root.uploadBytes(name, file, map[string]string{"send_welcome_email": "true"})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Start-2026-Lincoln", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	root.waitForState(id, "validated")
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	return id
}

// A relay that answers 421 for 10 seconds holds every email back for that
// long, then takes each exactly once; three recipients it refuses for good
// (550) are reported on the import's summary and on their accounts' audit
// trails.
func TestMailRelayRefusesForAWhile(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a 10-second refusal")
	}
	t.Parallel()
	const people, bounced = 30, 3
	w := newWorld(t, "IMPORT_BATCH_ROWS=10")
	root := w.root
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})
	var bouncing []string
	for i := range bounced {
		bouncing = append(bouncing, fmt.Sprintf("relay%05d@lincoln.edu", i))
	}
	w.smtp.RejectRecipients(bouncing...)

	id := validatedImport(t, root, "relay.csv", peopleCSV(people, "relay"))
	const refusal = 10 * time.Second
	refusedAt := time.Now()
	w.smtp.RefuseFor(refusal)
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")

	w.smtp.WaitFor(t, 1, time.Minute)
	if first := time.Since(refusedAt); first < refusal {
		t.Fatalf("an email got through %s into a %s refusal", first, refusal)
	}
	if w.smtp.Refusals() == 0 {
		t.Fatal("the relay refused nothing: the commit was too slow to meet the refusal")
	}
	// Every welcome email but the bounced ones, and the summary.
	w.smtp.WaitFor(t, people-bounced+1, 2*time.Minute)
	var summary map[string]any
	waitUntil(t, "every welcome email to be sent or given up", time.Minute, func() bool {
		summary = root.must(200, "GET", "/api/v1/imports/"+id, nil)["summary"].(map[string]any)
		welcome, _ := summary["welcome_emails"].(map[string]any)
		return welcome != nil && welcome["pending"] == 0.0
	})
	msgs := w.smtp.Messages()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.MessageID]++
		for _, b := range bouncing {
			if m.To[0] == b {
				t.Errorf("%s was refused for good, yet received an email", b)
			}
		}
	}
	for mid, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", mid, n)
		}
	}
	if len(seen) != people-bounced+1 {
		t.Errorf("%d distinct emails, want %d", len(seen), people-bounced+1)
	}
	welcome := summary["welcome_emails"].(map[string]any)
	if welcome["sent"] != float64(people-bounced) || welcome["failed"] != float64(bounced) {
		t.Errorf("summary.welcome_emails = %v, want %d sent and %d failed", welcome, people-bounced, bounced)
	}
	// The audit projection catches up with the failure events.
	waitUntil(t, "the bounce on the account's audit trail", 30*time.Second, func() bool {
		out, _ := rollcall(t, w.env, "audit", "account", bouncing[0])
		return strings.Contains(out, "WelcomeEmailUndelivered") && strings.Contains(out, "550 5.1.1 mailtest: no such mailbox here")
	})
	t.Logf("first email %s after the refusal began; %d refusals; %d emails delivered once each", time.Since(refusedAt).Round(time.Second), w.smtp.Refusals(), len(seen))
}
