package e2e

import (
	"fmt"
	"strconv"
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

// validatedImport uploads file (with welcome emails or not), maps it, sets a
// default password and validates it; it returns the import's id, ready to
// commit.
func validatedUpload(t *testing.T, root *client, name string, file []byte, welcome bool) string {
	t.Helper()
	status, imp := root.uploadBytes(name, file, map[string]string{"send_welcome_email": strconv.FormatBool(welcome)})
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
	metricsAddr := freeAddr(t)
	w := newWorld(t, "IMPORT_BATCH_ROWS=10", "METRICS_ADDR="+metricsAddr)
	metricsURL := "http://" + metricsAddr + "/metrics"
	root := w.root
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})
	var bouncing []string
	for i := range bounced {
		bouncing = append(bouncing, fmt.Sprintf("relay%05d@lincoln.edu", i))
	}
	w.smtp.RejectRecipients(bouncing...)

	id := validatedUpload(t, root, "relay.csv", peopleCSV(people, "relay"), true)
	// The relay refuses for 10 s from the first email on.
	const refusal = 10 * time.Second
	w.smtp.RefuseFor(refusal)
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")

	first := w.smtp.WaitFor(t, 1, 2*time.Minute)[0]
	refusedAt := w.smtp.RefusingSince()
	if refusedAt.IsZero() || w.smtp.Refusals() == 0 {
		t.Fatal("the relay refused nothing")
	}
	if first.At.Sub(refusedAt) < refusal {
		t.Fatalf("an email got through %s into a %s refusal", first.At.Sub(refusedAt), refusal)
	}
	// Every welcome email but the bounced ones, and the summary.
	w.smtp.WaitFor(t, people-bounced+1, 3*time.Minute)
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
	// The metrics tell the same story.
	scraped := scrapeMetrics(t, metricsURL)
	for _, check := range []struct {
		what      string
		got, want float64
	}{
		{"emails sent", scraped.must(t, "rollcall_mail_messages_total", "outcome", "sent"), people - bounced + 1},
		{"emails given up", scraped.must(t, "rollcall_mail_messages_total", "outcome", "failed"), bounced},
		{"failed rows in the outbox", scraped.must(t, "rollcall_mail_outbox_messages", "state", "failed"), bounced},
		{"emails waiting", scraped.must(t, "rollcall_mail_outbox_messages", "state", "pending"), 0},
	} {
		if check.got != check.want {
			t.Errorf("%s: %v, want %v", check.what, check.got, check.want)
		}
	}
	if pauses := scraped.must(t, "rollcall_mail_relay_pauses_total"); pauses < 1 || pauses > float64(w.smtp.Refusals()) {
		t.Errorf("%v relay pauses for %d refusals", pauses, w.smtp.Refusals())
	}
	t.Logf("first email %s after the refusal began; %d refusals; %d emails delivered once each",
		first.At.Sub(refusedAt).Round(time.Second), w.smtp.Refusals(), len(seen))
}
