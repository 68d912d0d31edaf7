package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Two `rollcall serve` processes share one 20,000-row commit, chunk by
// chunk; one is killed (SIGKILL) half-way, and the other finishes its
// chunks once their lease runs out: exactly 20,000 accounts, one welcome
// email each (the message in flight at the kill may be sent twice with the
// same Message-ID), one summary.
func TestTwoProcessesShareOneCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a 20,000-row import")
	}
	t.Parallel()
	const people = 20000
	uploads := t.TempDir()
	w := newWorld(t, "UPLOAD_DIR="+uploads, "IMPORT_BATCH_ROWS=250", "IMPORT_CHUNK_ROWS=1000", "JOB_LEASE=3s", "MAIL_LEASE=2s")
	other := startServer(t, w.env)
	root := w.root
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})

	var file strings.Builder
	file.WriteString("First Name,Last Name,Email\n")
	for i := range people {
		fmt.Fprintf(&file, "Given%d,Family%d,pupil%05d@lincoln.edu\n", i, i, i)
	}
	status, imp := root.uploadBytes("district.csv", []byte(file.String()), map[string]string{"send_welcome_email": "true"})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Start-2026-Lincoln", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	root.waitForState(id, "validated")
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	count := func() int {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM account_logins WHERE email_key LIKE 'pupil%'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Kill the second process once both have applied chunks, half-way.
	waitUntil(t, "both processes to apply chunks", 5*time.Minute, func() bool {
		return strings.Contains(w.srv.stderr.String(), "commit chunk applied") && strings.Contains(other.stderr.String(), "commit chunk applied")
	})
	if err := other.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-other.done
	atKill := count()
	if atKill <= 0 || atKill >= people {
		t.Fatalf("the kill did not land mid-commit: %d of %d accounts existed", atKill, people)
	}
	byOther := strings.Count(other.stderr.String(), "commit chunk applied")

	waitUntil(t, "the import to complete", 6*time.Minute, func() bool {
		return root.must(200, "GET", "/api/v1/imports/"+id, nil)["state"] == "completed"
	})
	if n := count(); n != people {
		t.Fatalf("%d accounts, want %d", n, people)
	}
	var created, emails int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT payload->>'Email') FROM events WHERE event_type = 'AccountCreated' AND payload->>'Email' LIKE 'pupil%'`).Scan(&created, &emails); err != nil {
		t.Fatal(err)
	}
	if created != people || emails != people {
		t.Fatalf("%d AccountCreated events for %d emails, want %d each", created, emails, people)
	}
	summary := root.must(200, "GET", "/api/v1/imports/"+id, nil)["summary"].(map[string]any)
	if summary["created"] != float64(people) || summary["failed"] != 0.0 {
		t.Fatalf("summary: %v", summary)
	}
	// The account list shows every account the moment the import says
	// completed.
	if total := root.must(200, "GET", "/api/v1/accounts?import_id="+id, nil)["total"]; total != float64(people) {
		t.Fatalf("completed, but the account list shows %v of %d", total, people)
	}

	// Every message is delivered at least once: a message the killed
	// process had claimed comes again once its lease runs out, so wait for
	// every recipient rather than for a number of messages.
	recipients := func() int {
		to := map[string]bool{}
		for _, m := range w.smtp.Messages() {
			to[strings.ToLower(m.To[0])] = true
		}
		return len(to)
	}
	waitUntil(t, "every welcome email and the summary", 6*time.Minute, func() bool { return recipients() == people+1 })
	time.Sleep(3 * time.Second) // past a mail lease: nothing more may come
	perRecipient := map[string]map[string]bool{}
	copies, summaries := 0, 0
	seen := map[string]bool{}
	for _, m := range w.smtp.Messages() {
		if seen[m.MessageID] {
			copies++
		}
		seen[m.MessageID] = true
		if strings.HasPrefix(m.Subject, "Import complete") {
			summaries++
			continue
		}
		to := strings.ToLower(m.To[0])
		if perRecipient[to] == nil {
			perRecipient[to] = map[string]bool{}
		}
		perRecipient[to][m.MessageID] = true
	}
	if len(perRecipient) != people || summaries != 1 {
		t.Fatalf("welcome emails to %d people, %d summaries; want %d and 1", len(perRecipient), summaries, people)
	}
	for to, ids := range perRecipient {
		if len(ids) != 1 {
			t.Fatalf("%s got %d different welcome emails", to, len(ids))
		}
	}
	if copies > 8 {
		t.Fatalf("%d repeated deliveries; at most the messages in flight at the kill may repeat", copies)
	}
	t.Logf("killed process B after it applied %d chunk(s), with %d of %d accounts created; A applied %d; %d in-flight email(s) repeated",
		byOther, atKill, people, strings.Count(w.srv.stderr.String(), "commit chunk applied"), copies)
}
