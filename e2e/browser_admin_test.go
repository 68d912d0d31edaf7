package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// adminSignIn signs a browser in on the sign-in page; signing in again as
// someone else replaces the session cookie.
func adminSignIn(t *testing.T, ctx context.Context, base, email, password string) {
	t.Helper()
	if err := chromedp.Run(ctx, signInBrowser(base, email, password)); err != nil {
		t.Fatalf("sign in as %s: %v", email, err)
	}
}

// adminPageText opens path and returns the text of its main element.
func adminPageText(ctx context.Context, base, path string) (string, error) {
	var text string
	err := chromedp.Run(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(`main`, chromedp.ByQuery), chromedp.Text(`main`, &text, chromedp.ByQuery))
	return text, err
}

// adminWaitForPage reloads path until its text holds want: the read models the
// pages show are built a moment after the events.
func adminWaitForPage(t *testing.T, ctx context.Context, base, path, want string) string {
	t.Helper()
	var text string
	waitUntil(t, path+" to show "+want, 30*time.Second, func() bool {
		var err error
		text, err = adminPageText(ctx, base, path)
		return err == nil && strings.Contains(text, want)
	})
	return text
}

func adminMustContain(t *testing.T, where, text string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q:\n%s", where, want, text)
		}
	}
}

// adminNamedID finds the id of a group, tag or preset through the API.
func adminNamedID(t *testing.T, c *client, kind, name string) string {
	t.Helper()
	status, body := c.raw("/api/v1/" + kind)
	var items []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(body), &items); status != 200 || err != nil {
		t.Fatalf("GET %s: %d %v %s", kind, status, err, body)
	}
	for _, it := range items {
		if it.Name == name {
			return it.ID
		}
	}
	t.Fatalf("no %s named %q in %s", kind, name, body)
	return ""
}

func TestBrowserAdminSettingsAccountsImportsAndAudit(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	base := w.srv.URL
	ctx := browser(t)
	adminSignIn(t, ctx, base, "root@lincoln.edu", "root-password-1")

	// Settings: the system administrator adds a group, a tag and a preset,
	// is told why a duplicate or an empty name is refused, and turns the
	// welcome email on.
	addNamed := func(kind, name string) chromedp.Tasks {
		return chromedp.Tasks{
			chromedp.SendKeys(`#new-`+kind, name, chromedp.ByID),
			chromedp.Submit(`#new-`+kind, chromedp.ByID),
			chromedp.WaitVisible(fmt.Sprintf(`//ul[@id=%q]/li[normalize-space()=%q]`, kind+"-list", name), chromedp.BySearch),
		}
	}
	var duplicate, empty, typed, welcome string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(`#new-groups`, chromedp.ByID),
		shot(t, "admin-01-settings-empty"),
		addNamed("groups", "7B"),
		addNamed("tags", "Robotics"),
		addNamed("presets", "Year 7 intake"),
		chromedp.SendKeys(`#new-groups`, "7b", chromedp.ByID),
		chromedp.Submit(`#new-groups`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &duplicate, chromedp.ByQuery),
		chromedp.Value(`#new-groups`, &typed, chromedp.ByID),
		shot(t, "admin-02-settings-duplicate"),
		chromedp.Navigate(base+"/settings"),
		chromedp.WaitVisible(`#new-tags`, chromedp.ByID),
		chromedp.SendKeys(`#new-tags`, "   ", chromedp.ByID),
		chromedp.Submit(`#new-tags`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &empty, chromedp.ByQuery),
		chromedp.Click(`#welcome_email`, chromedp.ByID),
		chromedp.Submit(`#welcome_email`, chromedp.ByID),
		chromedp.WaitVisible(`//strong[@id="welcome-email-state" and normalize-space()="On"]`, chromedp.BySearch),
		chromedp.Text(`.notice`, &welcome, chromedp.ByQuery),
		shot(t, "admin-03-settings"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(duplicate, "already exists") || typed != "7b" {
		t.Errorf("duplicate group: %q, name kept as %q", duplicate, typed)
	}
	if !strings.Contains(empty, "name of 1 to 100 characters") {
		t.Errorf("empty tag name: %q", empty)
	}
	if !strings.Contains(welcome, "saved") {
		t.Errorf("welcome email confirmation: %q", welcome)
	}
	if org := w.root.must(200, "GET", "/api/v1/organization", nil); org["welcome_email_enabled"] != true {
		t.Fatalf("welcome email after the settings page: %v", org)
	}
	group, tag := adminNamedID(t, w.root, "groups", "7B"), adminNamedID(t, w.root, "tags", "Robotics")

	// An import through the API, as a script would run it.
	status, imp := w.root.upload("messy.csv", map[string]string{"send_welcome_email": "true"})
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	w.root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	w.root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true, "group_id": group, "tag_ids": []string{tag}})
	w.root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	w.root.waitForState(id, "validated")
	w.root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	w.root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	w.root.waitForState(id, "completed")

	// The accounts list: names for the group and tags, the import it came from.
	accounts := adminWaitForPage(t, ctx, base, "/accounts", "ana.lima@lincoln.edu")
	adminMustContain(t, "/accounts", strings.ToLower(accounts), "ana lima", "7b", "robotics", "messy.csv", "kim.existing@lincoln.edu", "page 1 of 1")
	var filtered, caption string
	err = chromedp.Run(ctx,
		shot(t, "admin-04-accounts"),
		chromedp.SendKeys(`#q`, "ana.lima@lincoln.edu", chromedp.ByID),
		chromedp.Submit(`#q`, chromedp.ByID),
		chromedp.WaitVisible(`//caption[contains(., "matching the filters")]`, chromedp.BySearch),
		chromedp.Text(`caption`, &caption, chromedp.ByQuery),
		chromedp.Text(`main`, &filtered, chromedp.ByQuery),
		shot(t, "admin-05-accounts-filtered"),
		chromedp.Click(`a[href^="/accounts/audit"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h1[contains(., "Audit trail of ana.lima@lincoln.edu")]`, chromedp.BySearch),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(caption, "1 account ") || strings.Contains(strings.ToLower(filtered), "kim.existing") || !strings.Contains(filtered, "ana.lima@lincoln.edu") {
		t.Errorf("filtered by email: caption %q\n%s", caption, filtered)
	}

	// The account's audit trail says who created it, from which file.
	accountTrail := adminWaitForPage(t, ctx, base, "/accounts/audit?email=ana.lima@lincoln.edu", "Created the account")
	adminMustContain(t, "the account's audit trail", accountTrail, "Created the account ana.lima@lincoln.edu (Ana Lima) as a user", "group 7B",
		"Robotics", "of messy.csv", "root@lincoln.edu", "must change password at first sign-in")
	if err := chromedp.Run(ctx, shot(t, "admin-06-account-audit")); err != nil {
		t.Fatal(err)
	}

	// The import's audit trail: the file, the mapping, the defaults and who.
	importTrail := adminWaitForPage(t, ctx, base, "/imports/"+id+"/audit", "Completed: 2 created")
	adminMustContain(t, "the import's audit trail", importTrail, "Audit trail of messy.csv", "Uploaded messy.csv (", "9 rows, SHA-256 ",
		"Matched the columns: First Name → First name, Last Name → Last name, Email → Email, Password → Password, Class → Group, Tag → Tag",
		"Chose the defaults: default password set (not shown), must change password at first sign-in, group 7B, tag Robotics",
		"Checked the rows: 2 new, 1 existing, 6 invalid", "Skipped the review of the rows", "Committed", "root@lincoln.edu")
	var details string
	err = chromedp.Run(ctx,
		chromedp.Click(`details summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`details[open] pre`, chromedp.ByQuery),
		chromedp.Text(`details[open] pre`, &details, chromedp.ByQuery),
		shot(t, "admin-07-import-audit"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(details, `"FileSHA256"`) {
		t.Errorf("raw details of the upload: %s", details)
	}
	var html string
	if err := chromedp.Run(ctx, chromedp.OuterHTML(`html`, &html, chromedp.ByQuery)); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"Welcome-2026!", "Dee-Own-Pass-42", "Zq7"} {
		if strings.Contains(html, secret) || strings.Contains(accountTrail, secret) {
			t.Errorf("a password (%s) appears in an audit trail page", secret)
		}
	}

	// The imports history.
	imports := adminWaitForPage(t, ctx, base, "/imports", "Completed")
	adminMustContain(t, "/imports", imports, "messy.csv", "root@lincoln.edu", "2 created")
	var bad string
	err = chromedp.Run(ctx,
		shot(t, "admin-08-imports"),
		chromedp.Navigate(base+"/accounts?group_id=not-a-group&page=2"),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &bad, chromedp.ByQuery),
		shot(t, "admin-09-accounts-bad-filter"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(bad, "The group in this address is not one we know") {
		t.Errorf("malformed filter: %q", bad)
	}

	// At phone width nothing but the tables' own scrolling boxes is wider
	// than the screen.
	for _, page := range []struct{ path, name string }{
		{"/accounts", "admin-10-accounts-phone"}, {"/imports/" + id + "/audit", "admin-11-import-audit-phone"},
		{"/imports", "admin-12-imports-phone"}, {"/settings", "admin-13-settings-phone"},
	} {
		var fits bool
		err := chromedp.Run(ctx,
			chromedp.EmulateViewport(390, 844),
			chromedp.Navigate(base+page.path),
			chromedp.WaitVisible(`main`, chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits),
			shot(t, page.name),
		)
		if err != nil {
			t.Fatal(err)
		}
		if !fits {
			t.Errorf("%s is wider than a phone's screen", page.path)
		}
	}

	// Other people, in a browser of their own.
	other := browser(t)
	err = chromedp.Run(other, chromedp.EmulateViewport(1280, 900))
	if err != nil {
		t.Fatal(err)
	}

	// An administrator of another organization gets the 404 page for org A's ids.
	adminSignIn(t, other, base, "taken@other.org", "other-password-1")
	for _, path := range []string{"/imports/" + id + "/audit", "/accounts/audit?email=ana.lima@lincoln.edu", "/imports/not-an-id/audit"} {
		text, err := adminPageText(other, base, path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "Not found") || strings.Contains(text, "messy.csv") {
			t.Errorf("org B at %s: %s", path, text)
		}
	}
	if err := chromedp.Run(other, chromedp.Navigate(base+"/imports/"+id+"/audit"), chromedp.WaitVisible(`main`, chromedp.ByQuery), shot(t, "admin-14-other-org-not-found")); err != nil {
		t.Fatal(err)
	}
	if text, _ := adminPageText(other, base, "/accounts"); strings.Contains(text, "lincoln.edu") {
		t.Errorf("org B's account list shows org A's accounts: %s", text)
	}

	// A group-scoped administrator sees the settings read-only, and the
	// server refuses a forged form too.
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "ada@lincoln.edu", "--first", "Ada", "--last", "Admin",
		"--role", "admin", "--password", "ada-password-1", "--group", group)
	adminSignIn(t, other, base, "ada@lincoln.edu", "ada-password-1")
	settings, err := adminPageText(other, base, "/settings")
	if err != nil {
		t.Fatal(err)
	}
	adminMustContain(t, "the administrator's settings", settings, "Only a system administrator can change", "7B", "Robotics", "Year 7 intake", "On")
	var forms int
	var forged int
	err = chromedp.Run(other,
		chromedp.Evaluate(`document.querySelectorAll('form[action^="/settings/"]').length`, &forms),
		shot(t, "admin-15-settings-read-only"),
		chromedp.Evaluate(`fetch('/settings/tags', {method: 'POST', body: new URLSearchParams({csrf: document.querySelector('input[name=csrf]').value, name: 'Forged'})}).then(r => r.status)`,
			&forged, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if err != nil {
		t.Fatal(err)
	}
	if forms != 0 || forged != 403 {
		t.Errorf("administrator: %d settings forms, a forged form answered %d", forms, forged)
	}
	if _, body := w.root.raw("/api/v1/tags"); strings.Contains(body, "Forged") {
		t.Errorf("the administrator's forged form added a tag: %s", body)
	}

	// A user (no import rights) gets the 404 page for an account's audit trail.
	adminSignIn(t, other, base, "kim.existing@lincoln.edu", "kims-password-1")
	if text, err := adminPageText(other, base, "/accounts/audit?email=ana.lima@lincoln.edu"); err != nil || !strings.Contains(text, "Not found") || strings.Contains(text, "Created the account") {
		t.Errorf("a user at an account's audit trail: %v %s", err, text)
	}
}
