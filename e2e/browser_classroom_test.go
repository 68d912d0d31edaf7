package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// classroomWorld is a server configured against a fake Google whose
// teacher is user, browsed at PUBLIC_URL's host: Google sends the browser
// back to PUBLIC_URL (localhost), and the session cookie must be there.
func classroomWorld(t *testing.T, user googletest.Person, courses []googletest.Course) (*world, *googletest.Server, string) {
	t.Helper()
	fake := googletest.Start(t, googletest.Options{ClientID: "rollcall-test", ClientSecret: "test-secret", User: user, Courses: courses})
	w := newWorld(t, "GOOGLE_CLIENT_ID=rollcall-test", "GOOGLE_CLIENT_SECRET=test-secret",
		"GOOGLE_AUTH_URL="+fake.AuthURL(), "GOOGLE_TOKEN_URL="+fake.TokenURL(), "GOOGLE_API_URL="+fake.APIURL())
	return w, fake, strings.Replace(w.srv.URL, "127.0.0.1", "localhost", 1)
}

var importURL = regexp.MustCompile(`/imports/([0-9a-f-]{36})(/[a-z]+)?$`)

func TestBrowserClassroomImport(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	ana := googletest.Person{ID: "s1", Email: "ana@lincoln.edu", Given: "Ana", Family: "Lima"}
	w, fake, base := classroomWorld(t, googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"}, []googletest.Course{
		{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.edu",
			Students: []googletest.Person{ana, {ID: "s2", Email: "bo@lincoln.edu", Given: "Bo", Family: "Ek"}}},
		{ID: "chem", Name: "Chemistry", Section: "8A", OwnerEmail: "root@lincoln.edu",
			Students: []googletest.Person{ana, {ID: "s4", Email: "dee@lincoln.edu", Given: "Dee", Family: "Fox"}}},
		{ID: "art", Name: "Art", Section: "9C", OwnerEmail: "root@lincoln.edu",
			Students: []googletest.Person{{ID: "s5", Email: "eve@lincoln.edu", Given: "Eve", Family: "Gray"}}},
	})
	root := w.root
	group := root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "Science"})["id"].(string)
	root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})

	// Not connected yet: the page says what Rollcall will read.
	var explained, location string
	err := chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/imports/new/classroom"),
		chromedp.WaitVisible(`#google-connect`, chromedp.ByID),
		chromedp.Text(`#google-not-connected`, &explained, chromedp.ByID),
		shot(t, "gc-01-connect"),
		// Through the fake Google's consent and back to the callback.
		chromedp.Click(`#google-connect`, chromedp.ByID),
		chromedp.WaitVisible(`#classes`, chromedp.ByID),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(explained, "only read") || !strings.Contains(explained, "root@lincoln.edu") {
		t.Fatalf("the connect page does not explain what is read: %q", explained)
	}
	if location != base+"/imports/new/classroom" {
		t.Fatalf("after connecting the browser is at %s", location)
	}
	if !requested(fake, "GET /o/oauth2/auth") {
		t.Fatal("the browser never went to Google's consent page")
	}

	// Google refuses: the reason is on the page, with a way to reconnect.
	fake.FailNext("/v1/courses", 403, `{"error":{"code":403,"message":"@ClassroomApiDisabled The user is not permitted to access the Classroom API.","status":"PERMISSION_DENIED"}}`, "", 1)
	var refusal string
	err = chromedp.Run(ctx,
		chromedp.Reload(),
		chromedp.WaitVisible(`#google-reconnect`, chromedp.ByID),
		chromedp.Text(`.error`, &refusal, chromedp.ByQuery),
		shot(t, "gc-02-google-refused"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refusal, "Google Classroom is turned off") {
		t.Fatalf("the refusal shown: %q", refusal)
	}

	// The classes, with their sections and sizes; the options this
	// system administrator's organization allows.
	var classes string
	var groupOptions, welcome int
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/imports/new/classroom"),
		chromedp.WaitVisible(`#classes`, chromedp.ByID),
		chromedp.Text(`#classes`, &classes, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#group_id option').length`, &groupOptions),
		chromedp.Evaluate(`document.querySelectorAll('#send_welcome_email').length`, &welcome),
		shot(t, "gc-03-classes"),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Biology", "7B", "Chemistry", "8A", "Art", "9C"} {
		if !strings.Contains(classes, want) {
			t.Fatalf("%q missing from the classes shown: %q", want, classes)
		}
	}
	if groupOptions != 2 || welcome != 1 {
		t.Fatalf("group options %d (want no group + Science), welcome email boxes %d", groupOptions, welcome)
	}

	// Importing nothing is refused on the page, keeping the choices made.
	var refused string
	var teachersKept bool
	err = chromedp.Run(ctx,
		chromedp.Click(`#include_teachers`, chromedp.ByID),
		chromedp.Click(`#import-classes`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &refused, chromedp.ByQuery),
		chromedp.Evaluate(`document.getElementById('include_teachers').checked`, &teachersKept),
		chromedp.Click(`#include_teachers`, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refused, "Pick at least one class") || !teachersKept {
		t.Fatalf("empty pick: %q, co-teachers box kept: %v", refused, teachersKept)
	}

	// Two classes that share Ana, into the Science group.
	err = chromedp.Run(ctx,
		chromedp.Click(`#course-bio`, chromedp.ByID),
		chromedp.Click(`#course-chem`, chromedp.ByID),
		chromedp.SetValue(`#group_id`, group, chromedp.ByID),
		shot(t, "gc-04-picked"),
		chromedp.Click(`#import-classes`, chromedp.ByID),
		waitLocation(importURL),
		chromedp.Location(&location),
		shot(t, "gc-05-after-import"),
	)
	if err != nil {
		t.Fatal(err)
	}
	id := importURL.FindStringSubmatch(location)[1]
	imp := root.must(200, "GET", "/api/v1/imports/"+id, nil)
	if imp["source"] != "google_classroom" || imp["step"] != "defaults" || imp["file"].(map[string]any)["rows"] != 3.0 {
		t.Fatalf("the import made in the browser: %v", imp)
	}
	// The defaults page starts from the group picked with the classes.
	var preselected string
	if err := chromedp.Run(ctx, chromedp.WaitVisible(`#defaults`, chromedp.ByID), chromedp.Value(`#group_id`, &preselected, chromedp.ByID)); err != nil || preselected != group {
		t.Fatalf("the defaults page's group is %q, want the picked one %s (%v)", preselected, group, err)
	}
	continueWizard(ctx, t, base, root, id)

	// The group chosen with the classes is the accounts' group.
	for _, a := range root.must(200, "GET", "/api/v1/accounts?import_id="+id, nil)["accounts"].([]any) {
		if a := a.(map[string]any); a["group_id"] != group {
			t.Fatalf("%v is in group %v, not Science (%s)", a["email"], a["group_id"], group)
		}
	}
}

// requested reports whether the fake Google was asked prefix.
func requested(fake *googletest.Server, prefix string) bool {
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r, prefix) {
			return true
		}
	}
	return false
}

// waitLocation waits until the page's address matches re.
func waitLocation(re *regexp.Regexp) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		for {
			var at string
			if err := chromedp.Location(&at).Do(ctx); err == nil && re.MatchString(at) {
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// continueWizard goes on from the defaults page through the check, the
// review and the commit, as the administrator would.
func continueWizard(ctx context.Context, t *testing.T, base string, root *client, id string) {
	t.Helper()
	var location, newRows, invalidRows, created string
	var forced bool
	err := chromedp.Run(ctx,
		chromedp.WaitVisible(`#defaults`, chromedp.ByID),
		chromedp.Location(&location),
		shot(t, "gc-08-defaults"),
		chromedp.SendKeys(`#password`, "Class-Start-2026", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('force_password_change').checked`, &forced),
	)
	if err != nil {
		t.Fatal(err)
	}
	if location != base+"/imports/"+id+"/defaults" {
		t.Fatalf("the new Classroom import opens at %s, not its defaults", location)
	}
	if !forced {
		if err := chromedp.Run(ctx, chromedp.Click(`#force_password_change`, chromedp.ByID)); err != nil {
			t.Fatal(err)
		}
	}
	err = chromedp.Run(ctx,
		chromedp.Click(`#check-rows`, chromedp.ByID),
		waitLocation(regexp.MustCompile(`/imports/`+id+`/verification$`)),
		chromedp.WaitVisible(`#counts`, chromedp.ByID),
		chromedp.Text(`#count-new`, &newRows, chromedp.ByID),
		chromedp.Text(`#count-invalid`, &invalidRows, chromedp.ByID),
		shot(t, "gc-09-verification"),
		chromedp.Click(`#skip-verification`, chromedp.ByID),
		chromedp.WaitEnabled(`#commit`, chromedp.ByID),
		chromedp.Click(`#commit`, chromedp.ByID),
		waitLocation(regexp.MustCompile(`/imports/`+id+`/progress$`)),
		chromedp.WaitVisible(`#summary`, chromedp.ByID),
		chromedp.Text(`#summary-created`, &created, chromedp.ByID),
		shot(t, "gc-10-summary"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// Ana is in both classes: three people, three rows, three accounts.
	if newRows != "3" || invalidRows != "0" || created != "3" {
		t.Fatalf("new rows %q, invalid rows %q, created %q", newRows, invalidRows, created)
	}
	waitUntil(t, "the accounts of the import", 30*time.Second, func() bool {
		return root.must(200, "GET", "/api/v1/accounts?import_id="+id, nil)["total"] == 3.0
	})
	for _, email := range []string{"ana@lincoln.edu", "bo@lincoln.edu", "dee@lincoln.edu"} {
		if n := root.must(200, "GET", "/api/v1/accounts?email="+email, nil)["total"]; n != 1.0 {
			t.Fatalf("%s has %v accounts", email, n)
		}
	}
	if n := root.must(200, "GET", "/api/v1/accounts?email=eve@lincoln.edu", nil)["total"]; n != 0.0 {
		t.Fatalf("Eve, in the class not picked, has %v accounts", n)
	}
}

func TestBrowserClassroomEmailMismatch(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	_, _, base := classroomWorld(t, googletest.Person{ID: "x", Email: "someone.else@gmail.com", Given: "Some", Family: "One"}, nil)

	var message, location string
	err := chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/imports/new/classroom"),
		chromedp.WaitVisible(`#google-connect`, chromedp.ByID),
		chromedp.Click(`#google-connect`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &message, chromedp.ByQuery),
		chromedp.WaitVisible(`#google-connect`, chromedp.ByID),
		chromedp.Location(&location),
		shot(t, "gc-06-email-mismatch"),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"someone.else@gmail.com", "root@lincoln.edu", "CSV"} {
		if !strings.Contains(message, want) {
			t.Fatalf("%q missing from the mismatch message: %q", want, message)
		}
	}
	if strings.Contains(location, "gmail") || strings.Contains(location, "error") {
		t.Fatalf("the message travels in the URL: %s", location)
	}

	// The page offers to make the Google address the Rollcall email, in
	// Your account.
	var offer, heading string
	err = chromedp.Run(ctx,
		chromedp.Text(`#google-email-mismatch`, &offer, chromedp.ByID),
		chromedp.Click(`#mismatch-your-account`, chromedp.ByID),
		chromedp.WaitVisible(`#change-email`, chromedp.ByID),
		chromedp.Text(`h1`, &heading, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(offer, "someone.else@gmail.com") || heading != "Your account" || !strings.Contains(message, "Your account") {
		t.Fatalf("the way to Your account: %q, then %q; message %q", offer, heading, message)
	}

	// Another site cannot start a connection in the administrator's name.
	var forged string
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/google/connect?csrf=forged"),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &forged, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(forged, "expired") || !strings.HasPrefix(location, base+"/google/connect") {
		t.Fatalf("a forged connect link: %q at %s", forged, location)
	}
}

func TestBrowserClassroomNotConfigured(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)

	var text string
	var csvLinks int
	err := chromedp.Run(ctx,
		signInBrowser(w.srv.URL, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(w.srv.URL+"/imports/new/classroom"),
		chromedp.WaitVisible(`#classroom-not-configured`, chromedp.ByID),
		chromedp.Text(`#classroom-not-configured`, &text, chromedp.ByID),
		chromedp.Evaluate(`document.querySelectorAll('#classroom-not-configured a[href="/imports/new"]').length`, &csvLinks),
		shot(t, "gc-07-not-configured"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "not configured") || !strings.Contains(text, "GOOGLE_CLIENT_ID") || csvLinks != 1 {
		t.Fatalf("the not-configured page says %q (CSV links: %d)", text, csvLinks)
	}
}
