package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// acceptDialogs answers every confirm() of the page with OK, as a person
// who read it would.
func acceptDialogs(ctx context.Context) {
	chromedp.ListenTarget(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(true)) }()
		}
	})
}

// overflow is how many pixels the page is wider than the window, and the
// outermost elements that stick out, to say where.
func overflow(ctx context.Context) (int, string, error) {
	var out struct {
		PX    int
		Where []string
	}
	err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const w = window.innerWidth, where = [];
		for (const el of document.querySelectorAll("body *")) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 0.5 && !(el.parentElement && el.parentElement.getBoundingClientRect().right > w + 0.5)) {
				where.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + String(el.className).split(" ").join(".") : ""));
			}
		}
		return {PX: document.documentElement.scrollWidth - w, Where: where.slice(0, 5)};
	})()`, &out))
	return out.PX, strings.Join(out.Where, ", "), err
}

// validatedImport uploads a CSV as root and waits for it to be validated.
func reviewReady(t *testing.T, root *client, name, file string) string {
	t.Helper()
	status, imp := root.uploadBytes(name, []byte(file), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	root.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	root.waitForState(id, "validated")
	return id
}

// TestBrowserFixARow: on the review page an invalid row is fixed where it
// is shown and checked again at once.
func TestBrowserFixARow(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)
	id := reviewReady(t, w.root, "typo.csv", "First Name,Last Name,Email\nAna,Lima,ana@lincoln\nBo,Ek,bo@lincoln.edu\n")
	base := w.srv.URL
	adminSignIn(t, ctx, base, "root@lincoln.edu", "root-password-1")
	var notice, counts string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/imports/"+id+"/verification?status=invalid"),
		chromedp.WaitVisible(`#row-1 details.fix-row summary`, chromedp.ByQuery),
		chromedp.Click(`#row-1 details.fix-row summary`, chromedp.ByQuery),
		chromedp.WaitVisible(`#fix-1 input[name=email]`, chromedp.ByQuery),
		shot(t, "30-fix-row"),
		chromedp.SetValue(`#fix-1 input[name=email]`, "ana@lincoln.edu", chromedp.ByQuery),
		chromedp.Submit(`#fix-1 input[name=email]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#corrected-notice`, chromedp.ByID),
		chromedp.Text(`#corrected-notice`, &notice, chromedp.ByID),
		chromedp.Text(`#counts`, &counts, chromedp.ByID),
		shot(t, "31-row-fixed"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(notice, "Row 1") || !strings.Contains(notice, "new") || !strings.Contains(strings.Join(strings.Fields(counts), " "), "2 new") {
		t.Fatalf("after the fix: notice %q, counts %q", notice, counts)
	}
}

// TestBrowserUndo: the summary of a committed import offers to undo it and
// says what that will do; confirmed, the undo ends with what it did.
func TestBrowserUndo(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	acceptDialogs(ctx)
	w := newWorld(t)
	id := reviewReady(t, w.root, "term.csv", "First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\nBo,Ek,bo@lincoln.edu\n")
	base := w.srv.URL
	adminSignIn(t, ctx, base, "root@lincoln.edu", "root-password-1")
	var sentence, undone string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/imports/"+id+"/verification"),
		chromedp.WaitVisible(`#skip-verification`, chromedp.ByID),
		chromedp.Click(`#skip-verification`, chromedp.ByID),
		chromedp.WaitEnabled(`#commit`, chromedp.ByID),
		chromedp.Click(`#commit`, chromedp.ByID),
		chromedp.WaitVisible(`#undo-sentence`, chromedp.ByID),
		chromedp.Text(`#undo-sentence`, &sentence, chromedp.ByID),
		shot(t, "32-summary-with-undo"),
		chromedp.Click(`#undo-import`, chromedp.ByID),
		chromedp.WaitVisible(`#undone`, chromedp.ByID),
		chromedp.Text(`#undone`, &undone, chromedp.ByID),
		shot(t, "33-undone"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sentence, "deactivates the 2 account(s)") || !strings.Contains(sentence, "until") {
		t.Fatalf("the undo's sentence: %q", sentence)
	}
	if !strings.Contains(undone, "2 account(s) the import created are deactivated") {
		t.Fatalf("after the undo: %q", undone)
	}
	adminWaitForPage(t, ctx, base, "/accounts?active=false", "Deactivated")
}

// TestBrowserPhoneWidth: no page scrolls sideways at a phone's 390 px; wide
// tables scroll inside their own box with their first column fixed.
func TestBrowserPhoneWidth(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)
	root := w.root
	root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})
	done := reviewReady(t, root, "class.csv", "First Name,Last Name,Email,Class\nAna,Lima,ana.lima.with.a.long.address@lincoln.edu,7B\n")
	root.must(200, "POST", "/api/v1/imports/"+done+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+done+"/commit", nil)
	root.waitForState(done, "completed")
	open := reviewReady(t, root, "phone.csv", "First Name,Last Name,Email,Class\nCy,Oz,cy@lincoln.edu,9Z\n")
	base := w.srv.URL
	adminSignIn(t, ctx, base, "root@lincoln.edu", "root-password-1")
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	for i, path := range []string{"/", "/imports", "/accounts", "/imports/" + done + "/progress", "/imports/" + done + "/audit", "/settings",
		"/imports/new", "/imports/" + open + "/verification", "/imports/" + open + "/mapping", "/imports/" + open + "/defaults"} {
		if err := chromedp.Run(ctx, chromedp.Navigate(base+path), chromedp.WaitVisible(`main`, chromedp.ByQuery),
			shot(t, fmt.Sprintf("34-phone-%02d", i))); err != nil {
			t.Fatal(err)
		}
		if px, where, err := overflow(ctx); err != nil || px > 0 {
			t.Errorf("%s is %d px wider than a 390 px phone (%v): %s", path, px, err, where)
		}
	}
}
