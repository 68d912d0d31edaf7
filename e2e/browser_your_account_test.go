package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Your account in a browser: reached from the header, it shows the person
// and their sign-ins; the email form refuses a wrong password on the page,
// then sends the link; the link's page confirms with a button, and Your
// account shows the new email, the browser still signed in.
func TestBrowserYourAccountChangesEmail(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)
	group := w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})["id"].(string)
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "ana@lincoln.edu", "--first", "Ana", "--last", "Lima",
		"--role", "user", "--password", "anas-password-1", "--group", group)
	base := w.srv.URL

	var details, signIns, problem, sent string
	err := chromedp.Run(ctx,
		signInBrowser(base, "ana@lincoln.edu", "anas-password-1"),
		chromedp.Click(`#your-account-link`, chromedp.ByID),
		chromedp.WaitVisible(`#change-email`, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the sign-in on Your account", time.Minute, func() bool {
		err := chromedp.Run(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(`#recent-sign-ins`, chromedp.ByID),
			chromedp.Text(`#recent-sign-ins`, &signIns, chromedp.ByID))
		return err == nil && strings.Contains(signIns, "with your password")
	})
	err = chromedp.Run(ctx,
		chromedp.Text(`#your-details`, &details, chromedp.ByID),
		shot(t, "ya-01-your-account"),
		chromedp.SendKeys(`#new_email`, "Ana.Lima@lincoln.edu", chromedp.ByID),
		chromedp.SendKeys(`#email_current_password`, "not-her-password", chromedp.ByID),
		chromedp.Submit(`#email_current_password`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &problem, chromedp.ByQuery),
		shot(t, "ya-02-wrong-password"),
		chromedp.SendKeys(`#email_current_password`, "anas-password-1", chromedp.ByID),
		chromedp.Submit(`#email_current_password`, chromedp.ByID),
		chromedp.WaitVisible(`#email-link-sent`, chromedp.ByID),
		chromedp.Text(`#email-link-sent`, &sent, chromedp.ByID),
		shot(t, "ya-03-link-sent"),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Ana Lima", "ana@lincoln.edu", "User", "7B"} {
		if !strings.Contains(details, want) {
			t.Errorf("Your account lacks %q: %q", want, details)
		}
	}
	if !strings.Contains(problem, "current password is wrong") {
		t.Errorf("wrong password shown as %q", problem)
	}
	if !strings.Contains(sent, "Ana.Lima@lincoln.edu") || !strings.Contains(sent, "until then you sign in with ana@lincoln.edu") {
		t.Errorf("after sending: %q", sent)
	}

	link := confirmLinkRE.FindStringSubmatch(mailTo(t, w.smtp, "Ana.Lima@lincoln.edu", "/account/email/confirm").Text)
	if link == nil {
		t.Fatal("no link in the email")
	}
	var done, email string
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/account/email/confirm?token="+link[2]),
		chromedp.WaitVisible(`#confirm-email`, chromedp.ByID),
		shot(t, "ya-04-confirm"),
		chromedp.Submit(`#confirm-email button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#email-changed`, chromedp.ByID),
		chromedp.Text(`#email-changed`, &done, chromedp.ByID),
		shot(t, "ya-05-changed"),
		chromedp.Navigate(base+"/account"),
		chromedp.WaitVisible(`#your-email`, chromedp.ByID),
		chromedp.Text(`#your-email`, &email, chromedp.ByID),
		shot(t, "ya-06-your-account-after"),
		// The link again: refused with its reason.
		chromedp.Navigate(base+"/account/email/confirm?token="+link[2]),
		chromedp.WaitVisible(`#confirm-email`, chromedp.ByID),
		chromedp.Submit(`#confirm-email button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &problem, chromedp.ByQuery),
		shot(t, "ya-07-link-used"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(done, "sign in with your new email") || email != "Ana.Lima@lincoln.edu" {
		t.Fatalf("after confirming: %q; Your account shows %q", done, email)
	}
	if !strings.Contains(problem, "used already") {
		t.Fatalf("a reused link says %q", problem)
	}

	// A system administrator changes Ana's email from her audit trail page.
	var notice string
	err = chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/accounts/audit?email=ana.lima@lincoln.edu"),
		chromedp.WaitVisible(`#account-email summary`, chromedp.ByQuery),
		chromedp.Click(`#account-email summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new_email`, chromedp.ByID),
		chromedp.SendKeys(`#new_email`, "ana.l@lincoln.edu", chromedp.ByID),
		shot(t, "ya-08-admin-change-form"),
		chromedp.Submit(`#new_email`, chromedp.ByID),
		chromedp.WaitVisible(`#email-link-sent`, chromedp.ByID),
		chromedp.Text(`#email-link-sent`, &notice, chromedp.ByID),
		shot(t, "ya-09-admin-link-sent"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "ana.l@lincoln.edu") {
		t.Fatalf("after the administrator's request: %q", notice)
	}
	if m := mailTo(t, w.smtp, "ana.l@lincoln.edu", "/account/email/confirm"); !strings.Contains(m.Text, "Your administrator (root@lincoln.edu) asked") {
		t.Fatalf("the administrator's link:\n%s", m.Text)
	}
}
