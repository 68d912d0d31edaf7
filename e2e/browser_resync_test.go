package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// TestBrowserClassroomReSync: the classes page says when each class was
// last imported; importing it again shows, on the review, who left the
// class, with the choice to deactivate them, which the summary then counts.
func TestBrowserClassroomReSync(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	ana := googletest.Person{ID: "s1", Email: "ana@lincoln.edu", Given: "Ana", Family: "Lima"}
	bo := googletest.Person{ID: "s2", Email: "bo@lincoln.edu", Given: "Bo", Family: "Ek"}
	cy := googletest.Person{ID: "s3", Email: "cy@lincoln.edu", Given: "Cy", Family: "Noor"}
	w, fake, base := classroomWorld(t, googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"}, []googletest.Course{
		{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.edu", Students: []googletest.Person{ana, bo, cy}},
		{ID: "art", Name: "Art", Section: "9C", OwnerEmail: "root@lincoln.edu", Students: []googletest.Person{ana}},
	})
	root := w.root
	if status, body := googleConnect(t, root); status != http.StatusFound {
		t.Fatalf("connect: %d %v", status, body)
	}
	_, first := classroomImport(t, root, []string{"bio"}, false)
	waitLastImport(t, root, "bio", first["id"])

	// In Classroom since: Bo left, Cy is now Cyrus, Dee joined.
	cyrus := cy
	cyrus.Given = "Cyrus"
	fake.SetStudents("bio", []googletest.Person{ana, cyrus, {ID: "s4", Email: "dee@lincoln.edu", Given: "Dee", Family: "Fox"}})

	var bioLast, artLast, location string
	err := chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/imports/new/classroom"),
		chromedp.WaitVisible(`#classes`, chromedp.ByID),
		chromedp.Text(`#last-import-bio`, &bioLast, chromedp.ByID),
		chromedp.Text(`#last-import-art`, &artLast, chromedp.ByID),
		shot(t, "rs-01-classes-last-imported"),
	)
	if err != nil {
		t.Fatal(err)
	}
	// At phone width the classes table, last import included, scrolls in
	// its box: the page itself does not overflow.
	var fits bool
	err = chromedp.Run(ctx,
		chromedp.EmulateViewport(390, 844),
		chromedp.Reload(),
		chromedp.WaitVisible(`#classes`, chromedp.ByID),
		chromedp.Evaluate(`document.documentElement.scrollWidth <= window.innerWidth`, &fits),
		shot(t, "rs-01b-classes-phone"),
		chromedp.EmulateViewport(1280, 900),
		chromedp.Reload(),
		chromedp.WaitVisible(`#classes`, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !fits {
		t.Fatal("the classes page overflows a 390 px screen")
	}
	today := time.Now().UTC().Format("2 January")
	if !strings.Contains(bioLast, "Last imported "+today) || !strings.Contains(bioLast, "importing again re-syncs") || !strings.Contains(artLast, "Never imported") {
		t.Fatalf("last imported: Biology %q, Art %q", bioLast, artLast)
	}

	// Biology again: a re-sync.
	var newRows, changedRows, unchangedRows, departed, checkedAfter string
	var checked bool
	var changeNotes int
	err = chromedp.Run(ctx,
		chromedp.Click(`#course-bio`, chromedp.ByID),
		chromedp.Click(`#import-classes`, chromedp.ByID),
		waitLocation(importURL),
		chromedp.Location(&location),
		chromedp.WaitVisible(`#defaults`, chromedp.ByID),
		chromedp.SendKeys(`#password`, "Class-Start-2026", chromedp.ByID),
		chromedp.Click(`#check-rows`, chromedp.ByID),
		waitLocation(regexp.MustCompile(`/verification$`)),
		chromedp.WaitVisible(`#departed`, chromedp.ByID),
		chromedp.Text(`#count-new`, &newRows, chromedp.ByID),
		chromedp.Text(`#count-changed`, &changedRows, chromedp.ByID),
		chromedp.Text(`#count-unchanged`, &unchangedRows, chromedp.ByID),
		chromedp.Text(`#departed-list`, &departed, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('deactivate_departed').checked`, &checked),
		// Nobody's password is replaced (not ticked) and nobody was inactive.
		chromedp.Evaluate(`document.querySelectorAll('#rows [data-change="password"], #rows [data-change="active"]').length`, &changeNotes),
		shot(t, "rs-02-review-departed"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if newRows != "1" || changedRows != "1" || unchangedRows != "1" {
		t.Fatalf("the review counts new %s, changed %s, unchanged %s", newRows, changedRows, unchangedRows)
	}
	if !strings.Contains(departed, "Bo Ek") || !strings.Contains(departed, "bo@lincoln.edu") || strings.Contains(departed, "ana@") || strings.Contains(departed, "cy@") {
		t.Fatalf("the departed shown: %q", departed)
	}
	if checked {
		t.Fatal("deactivating the departed is ticked before anyone chose it")
	}
	if changeNotes != 0 {
		t.Fatalf("the review announces %d password or reactivation change(s) the commit will not make", changeNotes)
	}
	id := importURL.FindStringSubmatch(location)[1]

	// Choose to deactivate them, then create the accounts.
	var created, deactivated string
	err = chromedp.Run(ctx,
		chromedp.Click(`#deactivate_departed`, chromedp.ByID),
		chromedp.Click(`#save-departed`, chromedp.ByID),
		chromedp.WaitVisible(`#departed-notice`, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById('deactivate_departed').checked ? "checked" : ""`, &checkedAfter),
		shot(t, "rs-03-departed-chosen"),
		chromedp.Click(`#skip-verification`, chromedp.ByID),
		chromedp.WaitEnabled(`#commit`, chromedp.ByID),
		chromedp.Click(`#commit`, chromedp.ByID),
		waitLocation(regexp.MustCompile(`/imports/`+id+`/progress$`)),
		chromedp.WaitVisible(`#summary`, chromedp.ByID),
		chromedp.Text(`#summary-created`, &created, chromedp.ByID),
		chromedp.Text(`#summary-departed`, &deactivated, chromedp.ByID),
		shot(t, "rs-04-summary"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if checkedAfter != "checked" || created != "1" || !strings.Contains(deactivated, "1") {
		t.Fatalf("choice kept %q, created %q, departed deactivated %q", checkedAfter, created, deactivated)
	}
	if status, code := signInStatus(w.srv.URL, "bo@lincoln.edu", "Class-Start-2026"); status != 401 || code != "account_deactivated" {
		t.Fatalf("Bo signs in after the re-sync deactivated him: %d %s", status, code)
	}
}
