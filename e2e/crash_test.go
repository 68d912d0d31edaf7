package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// A 20,000-row commit survives the server being killed (SIGKILL) half-way:
// the restarted server finishes it with exactly 20,000 accounts, one welcome
// email each and one summary. "One email" is one Message-ID: a message the
// dying process had handed to the SMTP server but not yet marked sent is sent
// again with the same Message-ID (at most one per mail worker in flight).
func TestCommitSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a 20,000-row import")
	}
	t.Parallel()
	const people = 20000
	uploads := t.TempDir()
	// A mail lease bounds each send too: 10 s rather than 2 s, so a send
	// slowed by a loaded machine is not cut off (and sent again) on its own.
	w := newWorld(t, "UPLOAD_DIR="+uploads, "IMPORT_BATCH_ROWS=500", "JOB_LEASE=2s", "MAIL_LEASE=10s")
	root := w.root
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})

	var file strings.Builder
	file.WriteString("First Name,Last Name,Email\n")
	for i := range people {
		fmt.Fprintf(&file, "Given%d,Family%d,student%05d@lincoln.edu\n", i, i, i)
	}
	status, imp := root.uploadBytes("big.csv", []byte(file.String()), map[string]string{"send_welcome_email": "true"})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Start-2026-Lincoln", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	if c := root.waitForState(id, "validated")["counts"].(map[string]any); c["new"] != float64(people) {
		t.Fatalf("counts: %v", c)
	}
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)

	// Kill it once a good part of the accounts exist and emails are going out.
	waitUntil(t, "the commit to be well under way", 5*time.Minute, func() bool {
		p := root.must(200, "GET", "/api/v1/imports/"+id, nil)["progress"].(map[string]any)
		return p["done"].(float64) >= people/4
	})
	if err := w.srv.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-w.srv.done
	before := w.smtp.Messages()
	if len(before) >= people {
		t.Fatalf("the kill came too late: %d emails already sent", len(before))
	}
	// The kill landed mid-commit: the database holds some of the accounts,
	// not none and not all, so the restart has a half-done commit to finish.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	atKill := createdAccounts(t, conn)
	if atKill == 0 || atKill >= people {
		t.Fatalf("at the kill %d of the %d accounts existed; the kill must land mid-commit", atKill, people)
	}

	restarted := startServer(t, w.env)
	root.base = restarted.URL
	// Generous deadlines: they catch a hang, not a slow machine; on a
	// 2-core machine shared with other test runs 20,000 emails have taken
	// more than 6 minutes.
	waitUntil(t, "the import to complete after the restart", 10*time.Minute, func() bool {
		return root.must(200, "GET", "/api/v1/imports/"+id, nil)["state"] == "completed"
	})
	w.smtp.WaitFor(t, people+1, 10*time.Minute)
	// Nothing more can come once every email of the outbox is marked sent:
	// one claimed by the killed process is sent again only while it is not.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		outbox := outboxStates(t, w.db)
		if outbox == fmt.Sprintf("sent:%d", people+1) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the outbox holds %s, want %d emails, all sent", outbox, people+1)
		}
	}
	msgs := w.smtp.Messages()

	messageIDs := map[string]string{} // Message-ID → recipient
	perRecipient := map[string]map[string]bool{}
	summaries, copies := map[string]bool{}, 0
	for _, m := range msgs {
		if _, seen := messageIDs[m.MessageID]; seen {
			copies++
		}
		messageIDs[m.MessageID] = m.To[0]
		if strings.HasPrefix(m.Subject, "Import complete") {
			summaries[m.MessageID] = true
			continue
		}
		to := strings.ToLower(m.To[0])
		if perRecipient[to] == nil {
			perRecipient[to] = map[string]bool{}
		}
		perRecipient[to][m.MessageID] = true
	}
	if len(perRecipient) != people || len(summaries) != 1 || len(messageIDs) != people+1 {
		t.Fatalf("%d distinct emails to %d recipients, %d summaries; want %d, %d, 1", len(messageIDs), len(perRecipient), len(summaries), people+1, people)
	}
	for to, ids := range perRecipient {
		if len(ids) != 1 {
			t.Fatalf("%s got %d different welcome emails", to, len(ids))
		}
	}
	if copies > 4 {
		t.Fatalf("%d repeated deliveries; at most the 4 in flight at the kill may repeat", copies)
	}

	var logins, created, distinctStreams int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM account_logins WHERE email_key LIKE 'student%'`).Scan(&logins); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT payload->>'Email') FROM events WHERE event_type = 'AccountCreated' AND payload->>'Email' LIKE 'student%'`).Scan(&created, &distinctStreams); err != nil {
		t.Fatal(err)
	}
	if logins != people || created != people || distinctStreams != people {
		t.Fatalf("%d logins, %d AccountCreated events for %d emails; want %d each", logins, created, distinctStreams, people)
	}
	summary := root.must(200, "GET", "/api/v1/imports/"+id, nil)["summary"].(map[string]any)
	if summary["created"] != float64(people) || summary["failed"] != 0.0 {
		t.Fatalf("summary: %v", summary)
	}
	t.Logf("killed with %d accounts created and %d emails sent; in the end %d accounts, %d welcome emails, 1 summary, %d in-flight message(s) delivered twice with the same Message-ID",
		atKill, len(before), logins, len(perRecipient), copies)
}

// createdAccounts counts the AccountCreated events of the test's people.
func createdAccounts(t *testing.T, conn *pgx.Conn) int {
	t.Helper()
	var n int
	if err := conn.QueryRow(context.Background(),
		`SELECT count(*) FROM events WHERE event_type = 'AccountCreated' AND payload->>'Email' LIKE 'student%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
