package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
)

// confirmLink finds the token of the newest confirmation link mailed to
// addr, waiting for it.
var confirmLinkRE = regexp.MustCompile(`(https?://\S+)/account/email/confirm\?token=([A-Za-z0-9_-]+)`)

func mailTo(t *testing.T, smtp *mailtest.Server, addr, contains string) mailtest.Received {
	t.Helper()
	var found mailtest.Received
	waitUntil(t, "an email to "+addr+" saying "+contains, 2*time.Minute, func() bool {
		for _, m := range smtp.Messages() {
			for _, to := range m.To {
				if strings.EqualFold(to, addr) && strings.Contains(m.Text, contains) {
					found = m
				}
			}
		}
		return found.Text != ""
	})
	return found
}

func confirmToken(t *testing.T, m mailtest.Received) string {
	t.Helper()
	match := confirmLinkRE.FindStringSubmatch(m.Text)
	if match == nil {
		t.Fatalf("no confirmation link in:\n%s", m.Text)
	}
	return match[2]
}

func sqlExec(t *testing.T, db, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tag, err := conn.Exec(ctx, sql, args...)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() == 0 {
		t.Fatalf("%s changed no row", sql)
	}
}

// A person changes their own email: the link goes to the new address, the
// old one keeps working until it is followed, then the new one alone signs
// in, the other sessions end, the old address is told, the audit trail and
// the accounts list say so; a taken address, an expired, a replaced and a
// reused link are refused.
func TestChangeOwnEmailByLink(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "ana@lincoln.edu", "--first", "Ana", "--last", "Lima",
		"--role", "user", "--password", "anas-password-1")
	here := &client{t: t, base: w.srv.URL}
	here.signIn("ana@lincoln.edu", "anas-password-1")
	elsewhere := &client{t: t, base: w.srv.URL}
	elsewhere.signIn("ana@lincoln.edu", "anas-password-1")

	// Your account, with both sign-ins, by password.
	var me map[string]any
	waitUntil(t, "both sign-ins on Your account", time.Minute, func() bool {
		me = here.must(200, "GET", "/api/v1/me", nil)
		return len(me["recent_sign_ins"].([]any)) == 2
	})
	acc := me["account"].(map[string]any)
	if acc["email"] != "ana@lincoln.edu" || acc["first_name"] != "Ana" || acc["last_name"] != "Lima" || acc["role"] != "user" ||
		acc["org_id"] != w.orgA || acc["group_id"] != nil || acc["must_change_password"] != false || acc["id"] == "" {
		t.Fatalf("GET /me: %v", me)
	}
	for _, s := range me["recent_sign_ins"].([]any) {
		if s.(map[string]any)["method"] != "password" || s.(map[string]any)["at"] == "" {
			t.Fatalf("sign-in: %v", s)
		}
	}

	ask := func(c *client, to, password string) (int, map[string]any) {
		return c.do("POST", "/api/v1/me/email", map[string]string{"new_email": to, "current_password": password})
	}
	// Refusals: the wrong password, addresses taken here or elsewhere.
	if status, body := ask(here, "ana.lima@lincoln.edu", "not-her-password"); status != 422 || errorCode(body) != "wrong_password" {
		t.Fatalf("wrong password: %d %v", status, body)
	}
	// Without the password, a session learns nothing of which addresses
	// are taken.
	if status, body := ask(here, "taken@other.org", "not-her-password"); status != 422 || errorCode(body) != "wrong_password" {
		t.Fatalf("wrong password and a taken address: %d %v", status, body)
	}
	for _, taken := range []string{"TAKEN@other.org", "kim.existing@lincoln.edu"} {
		status, body := ask(here, taken, "anas-password-1")
		msg, _ := body["error"].(map[string]any)["message"].(string)
		if status != 422 || errorCode(body) != "email_unavailable" || !strings.Contains(msg, "each address can belong to one account only") {
			t.Fatalf("taken %s: %d %v", taken, status, body)
		}
	}

	// A first request, replaced by a second: only the latest link works.
	if status, body := ask(here, "ana.first@lincoln.edu", "anas-password-1"); status != 202 {
		t.Fatalf("request: %d %v", status, body)
	}
	replaced := confirmToken(t, mailTo(t, w.smtp, "ana.first@lincoln.edu", "/account/email/confirm"))
	if status, body := ask(here, "Ana.Lima@lincoln.edu", "anas-password-1"); status != 202 {
		t.Fatalf("request: %d %v", status, body)
	}
	link := mailTo(t, w.smtp, "Ana.Lima@lincoln.edu", "/account/email/confirm")
	if !strings.Contains(link.Text, "You asked to change the email of your Rollcall account from ana@lincoln.edu") || strings.Contains(link.Text, "anas-password-1") {
		t.Fatalf("confirmation email:\n%s", link.Text)
	}
	token := confirmToken(t, link)
	if me := here.must(200, "GET", "/api/v1/me", nil); me["account"].(map[string]any)["email"] != "ana@lincoln.edu" ||
		me["pending_email_change"].(map[string]any)["email"] != "Ana.Lima@lincoln.edu" {
		t.Fatalf("before the link is followed: %v", me)
	}
	probe := &client{t: t, base: w.srv.URL}
	if status, code := signInStatus(w.srv.URL, "Ana.Lima@lincoln.edu", "anas-password-1"); status != 401 || code != "invalid_credentials" {
		t.Fatalf("the new address signs in before the link is followed: %d %s", status, code)
	}
	confirm := func(c *client, token string) (int, map[string]any) {
		return c.do("POST", "/api/v1/me/email/confirm", map[string]string{"token": token})
	}
	if status, body := confirm(probe, replaced); status != 404 || errorCode(body) != "link_unknown" {
		t.Fatalf("replaced link: %d %v", status, body)
	}

	// Followed, from the session "here".
	if status, body := confirm(here, token); status != 204 {
		t.Fatalf("confirm: %d %v", status, body)
	}
	if me := here.must(200, "GET", "/api/v1/me", nil); me["account"].(map[string]any)["email"] != "Ana.Lima@lincoln.edu" || me["pending_email_change"] != nil {
		t.Fatalf("after the change, the confirming session: %v", me)
	}
	if status, body := elsewhere.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("another session survived the change: %d %v", status, body)
	}
	if status, body := confirm(probe, token); status != 410 || errorCode(body) != "link_used" {
		t.Fatalf("reused link: %d %v", status, body)
	}
	if status, code := signInStatus(w.srv.URL, "ana@lincoln.edu", "anas-password-1"); status != 401 || code != "invalid_credentials" {
		t.Fatalf("the old address still signs in: %d %s", status, code)
	}
	probe.signIn("ana.lima@LINCOLN.edu", "anas-password-1")

	notice := mailTo(t, w.smtp, "ana@lincoln.edu", "your Rollcall email was changed to Ana.Lima@lincoln.edu")
	if !strings.Contains(notice.Text, "If this was not you, contact your administrator.") || confirmLinkRE.MatchString(notice.Text) {
		t.Fatalf("notice to the old address:\n%s", notice.Text)
	}

	// The audit trail (the request too, asked before the change) and the
	// accounts list.
	var changed, asked map[string]any
	waitUntil(t, "EmailChanged on the audit trail", time.Minute, func() bool {
		for _, e := range w.root.must(200, "GET", "/api/v1/accounts/audit?email=ana.lima@lincoln.edu", nil)["events"].([]any) {
			switch e.(map[string]any)["type"] {
			case "EmailChanged":
				changed = e.(map[string]any)
			case "EmailChangeRequested":
				asked = e.(map[string]any)
			}
		}
		return changed != nil
	})
	if s, _ := asked["sentence"].(string); !strings.Contains(s, "Asked by the person themself to change the email from ana@lincoln.edu to Ana.Lima@lincoln.edu") {
		t.Fatalf("the request on the audit trail: %v", asked)
	}
	if s := changed["sentence"].(string); !strings.Contains(s, "from ana@lincoln.edu to Ana.Lima@lincoln.edu") || !strings.Contains(s, "the person themself") ||
		changed["actor"].(map[string]any)["id"] != acc["id"] {
		t.Fatalf("audit entry: %v", changed)
	}
	waitUntil(t, "the accounts list to show the new email", time.Minute, func() bool {
		return w.root.must(200, "GET", "/api/v1/accounts?email=ana.lima@lincoln.edu", nil)["total"] == 1.0 &&
			w.root.must(200, "GET", "/api/v1/accounts?email=ana@lincoln.edu", nil)["total"] == 0.0
	})

	// An expired link: the stored request is made a day old.
	if status, body := ask(probe, "ana.later@lincoln.edu", "anas-password-1"); status != 202 {
		t.Fatalf("request: %d %v", status, body)
	}
	late := confirmToken(t, mailTo(t, w.smtp, "ana.later@lincoln.edu", "/account/email/confirm"))
	sqlExec(t, w.db, `UPDATE email_changes SET expires_at = now() - interval '1 minute' WHERE to_email = 'ana.later@lincoln.edu'`)
	if status, body := confirm(probe, late); status != 410 || errorCode(body) != "link_expired" {
		t.Fatalf("expired link: %d %v", status, body)
	}
	if status, code := signInStatus(w.srv.URL, "ana.later@lincoln.edu", "anas-password-1"); status != 401 {
		t.Fatalf("an expired link changed the email: %d %s", status, code)
	}
}

// Administrators change the email of accounts in their reach, the same way:
// the link goes to the new address. Reach is that of imports: a group
// administrator, users of their group; a system administrator, users and
// administrators, not another system administrator.
func TestAdministratorChangesEmailWithinReach(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	red := w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "Red"})["id"].(string)
	blue := w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "Blue"})["id"].(string)
	create := func(email, role, group string) string {
		args := []string{"account", "create", "--org", w.orgA, "--email", email, "--first", "F", "--last", "L", "--role", role, "--password", "a-password-123"}
		if group != "" {
			args = append(args, "--group", group)
		}
		rollcall(t, w.env, args...)
		c := &client{t: t, base: w.srv.URL}
		return c.signIn(email, "a-password-123")["id"].(string)
	}
	redUser := create("rita@lincoln.edu", "user", red)
	blueUser := create("bea@lincoln.edu", "user", blue)
	redAdmin := create("gina@lincoln.edu", "admin", red)
	otherRoot := create("root2@lincoln.edu", "system_admin", "")
	rootID := w.root.must(200, "GET", "/api/v1/me", nil)["account"].(map[string]any)["id"].(string)
	gina := &client{t: t, base: w.srv.URL}
	gina.signIn("gina@lincoln.edu", "a-password-123")
	rita := &client{t: t, base: w.srv.URL}
	rita.signIn("rita@lincoln.edu", "a-password-123")

	change := func(c *client, id, to string) (int, string) {
		status, body := c.do("POST", "/api/v1/accounts/"+id+"/email", map[string]string{"new_email": to})
		return status, errorCode(body)
	}
	refusals := []struct {
		name   string
		by     *client
		target string
		status int
		code   string
	}{
		{"a group administrator, a user of another group", gina, blueUser, 404, "not_found"},
		{"a group administrator, a system administrator", gina, rootID, 404, "not_found"},
		{"a system administrator, another system administrator", w.root, otherRoot, 403, "not_allowed_to_change"},
		{"a user, another user", rita, blueUser, 404, "not_found"},
		{"another organization's system administrator", w.other, redUser, 404, "not_found"},
		{"an address taken elsewhere", w.root, redUser, 422, "email_unavailable"},
	}
	for _, tt := range refusals {
		to := "new." + tt.target[:8] + "@lincoln.edu"
		if tt.code == "email_unavailable" {
			to = "taken@other.org"
		}
		if status, code := change(tt.by, tt.target, to); status != tt.status || code != tt.code {
			t.Errorf("%s: %d %s, want %d %s", tt.name, status, code, tt.status, tt.code)
		}
	}

	// In reach: the group administrator changes their group's user; the
	// system administrator, an administrator.
	if status, code := change(gina, redUser, "rita.new@lincoln.edu"); status != 202 {
		t.Fatalf("group administrator, user of their group: %d %s", status, code)
	}
	if status, code := change(w.root, redAdmin, "gina.new@lincoln.edu"); status != 202 {
		t.Fatalf("system administrator, administrator: %d %s", status, code)
	}
	link := mailTo(t, w.smtp, "rita.new@lincoln.edu", "/account/email/confirm")
	if !strings.Contains(link.Text, "Your administrator (gina@lincoln.edu) asked") {
		t.Fatalf("confirmation email:\n%s", link.Text)
	}
	// Followed without a session: every session of the account ends.
	anyone := &client{t: t, base: w.srv.URL}
	if status, body := anyone.do("POST", "/api/v1/me/email/confirm", map[string]string{"token": confirmToken(t, link)}); status != 204 {
		t.Fatalf("confirm: %d %v", status, body)
	}
	if status, _ := rita.do("GET", "/api/v1/me", nil); status != 401 {
		t.Fatalf("the account's session survived: %d", status)
	}
	if status, _ := signInStatus(w.srv.URL, "rita@lincoln.edu", "a-password-123"); status != 401 {
		t.Fatalf("the old address still signs in: %d", status)
	}
	anyone.signIn("rita.new@lincoln.edu", "a-password-123")
	mailTo(t, w.smtp, "rita@lincoln.edu", "your Rollcall email was changed to rita.new@lincoln.edu")
	var changed map[string]any
	waitUntil(t, "EmailChanged on the audit trail", time.Minute, func() bool {
		for _, e := range gina.must(200, "GET", "/api/v1/accounts/audit?email=rita.new@lincoln.edu", nil)["events"].([]any) {
			if e.(map[string]any)["type"] == "EmailChanged" {
				changed = e.(map[string]any)
			}
		}
		return changed != nil
	})
	if !strings.Contains(changed["sentence"].(string), "asked for by an administrator") || changed["who"] != "gina@lincoln.edu" {
		t.Fatalf("audit entry: %v", changed)
	}
}
