package e2e

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserLoginCards: the defaults page offers generated passwords for a
// file without a password column, and the importer's summary links to the
// cards.
func TestBrowserLoginCards(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)
	root := w.root
	status, up := root.uploadBytes("4c.csv", []byte("First Name,Last Name,Email\nZoë,Ødegård,zoe@lincoln.edu\nThaïs,Da Silva,thais@lincoln.edu\n"), nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, up)
	}
	id := up["id"].(string)
	root.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": map[string]string{"First Name": "first_name", "Last Name": "last_name", "Email": "email"}})

	var summary, href string
	err := chromedp.Run(ctx,
		signInBrowser(w.srv.URL, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(w.srv.URL+"/imports/"+id+"/defaults"),
		chromedp.WaitVisible(`#generate_passwords`, chromedp.ByID),
		chromedp.Click(`#generate_passwords`, chromedp.ByID),
		shot(t, "cards-1-defaults"),
		chromedp.Click(`#check-rows`, chromedp.ByID),
		chromedp.WaitVisible(`#counts`, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	imp := root.must(200, "GET", "/api/v1/imports/"+id, nil)
	if d := imp["defaults"].(map[string]any); d["generate_passwords"] != true {
		t.Fatalf("the page did not choose generated passwords: %v", d)
	}
	root.must(200, "POST", "/api/v1/imports/"+id+"/verification", map[string]bool{"skip": true})
	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	root.waitForState(id, "completed")
	err = chromedp.Run(ctx,
		chromedp.Navigate(w.srv.URL+"/imports/"+id+"/progress"),
		chromedp.WaitVisible(`#download-login-cards`, chromedp.ByID),
		chromedp.Text(`#login-cards`, &summary, chromedp.ByID),
		chromedp.AttributeValue(`#download-login-cards`, "href", &href, nil, chromedp.ByID),
		shot(t, "cards-2-summary"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if href != "/imports/"+id+"/login-cards.pdf" || !strings.Contains(summary, "Only you can download them") {
		t.Fatalf("summary: %q → %q", summary, href)
	}
}
