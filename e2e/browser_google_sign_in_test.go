package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// The "Sign in with Google" button, clicked in a real browser, through the
// fake Google and back: a student whose default password is still to be
// changed comes straight in; a Google account without a Rollcall account,
// and one outside the organization's Workspace domain, read why not on the
// sign-in page; the system administrator sets the domain on the settings
// page.
func TestBrowserSignInWithGoogle(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	ana := googletest.Person{ID: "s1", Email: "ana.lima@lincoln.edu", Given: "Ana", Family: "Lima"}
	w, fake, base := googleWorld(t, ana, nil)
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "ana.lima@lincoln.edu", "--first", "Ana", "--last", "Lima",
		"--role", "user", "--password", "class-start-2026", "--must-change-password")
	fake.SetIDTokens(googletest.IDTokenOptions{HostedDomain: "lincoln.edu"})

	var location, heading string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/sign-in"),
		chromedp.WaitVisible(`#google-sign-in`, chromedp.ByID),
		shot(t, "gs-01-sign-in-with-google"),
		chromedp.Click(`#google-sign-in`, chromedp.ByID),
		chromedp.WaitVisible(`.signout`, chromedp.ByQuery),
		chromedp.Location(&location),
		chromedp.Text(`h1`, &heading, chromedp.ByQuery),
		shot(t, "gs-02-signed-in-with-google"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if location != base+"/" || !strings.Contains(heading, "Welcome") {
		t.Fatalf("after Google: %s, %q (the pending password change must not stop a Google sign-in)", location, heading)
	}

	// No account for this Google account.
	var refusal string
	fake.SetUser(googletest.Person{ID: "n1", Email: "new.pupil@lincoln.edu", Given: "New", Family: "Pupil"})
	err = chromedp.Run(ctx,
		chromedp.Click(`.signout button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#google-sign-in`, chromedp.ByID),
		chromedp.Click(`#google-sign-in`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &refusal, chromedp.ByQuery),
		shot(t, "gs-03-no-rollcall-account"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refusal, "no Rollcall account for the Google account new.pupil@lincoln.edu") || !strings.Contains(refusal, "ask your administrator") {
		t.Fatalf("unknown Google account: %q", refusal)
	}

	// The system administrator allows staff.lincoln.edu only.
	var state, domains string
	err = chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/settings#google-sign-in"),
		chromedp.WaitVisible(`#google_sign_in_domains`, chromedp.ByID),
		chromedp.SendKeys(`#google_sign_in_domains`, "Staff.Lincoln.edu", chromedp.ByID),
		chromedp.Submit(`#google_sign_in_domains`, chromedp.ByID),
		chromedp.WaitVisible(`#google-sign-in-domains-list`, chromedp.ByID),
		chromedp.Text(`#google-sign-in-state`, &state, chromedp.ByID),
		chromedp.Text(`#google-sign-in-domains-list`, &domains, chromedp.ByID),
		chromedp.ScrollIntoView(`#google-sign-in`, chromedp.ByID),
		shot(t, "gs-04-settings-domain"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if state != "On" || domains != "staff.lincoln.edu" {
		t.Fatalf("settings: %q %q", state, domains)
	}

	// Ana's Google account is of lincoln.edu: refused, and told why.
	fake.SetUser(ana)
	err = chromedp.Run(ctx,
		chromedp.Click(`.signout button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#google-sign-in`, chromedp.ByID),
		chromedp.Click(`#google-sign-in`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &refusal, chromedp.ByQuery),
		shot(t, "gs-05-domain-not-allowed"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refusal, "only with accounts of staff.lincoln.edu") || !strings.Contains(refusal, "lincoln.edu") {
		t.Fatalf("domain refusal: %q", refusal)
	}
}
