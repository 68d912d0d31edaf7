package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// TestBrowserClassroomPhoneWidth: the Google Classroom pages — connect,
// the class table with long names, the defaults, the review of a roster —
// fit a 390 px phone: nothing but a table's own box scrolls sideways.
func TestBrowserClassroomPhoneWidth(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	var students []googletest.Person
	for i := range 3 {
		students = append(students, googletest.Person{ID: fmt.Sprintf("s%d", i), Email: fmt.Sprintf("student.with.a.long.address.%d@lincoln.edu", i),
			Given: "Maximiliana", Family: "Van der Berg-Oosterhuis"})
	}
	_, _, base := classroomWorld(t, googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"}, []googletest.Course{
		{ID: "bio", Name: "Biology and Environmental Sciences (advanced placement)", Section: "Year 7 — section B, room 214", OwnerEmail: "root@lincoln.edu", Students: students},
		{ID: "art", Name: "Art", Section: "9C", OwnerEmail: "root@lincoln.edu", Students: students[:1]},
	})
	check := func(name string) chromedp.ActionFunc {
		return func(c context.Context) error {
			if err := shot(t, name).Do(c); err != nil {
				return err
			}
			if px, where, err := overflow(c); err != nil || px > 0 {
				var at string
				_ = chromedp.Location(&at).Do(c)
				t.Errorf("%s (%s) is %d px wider than a 390 px phone (%v): %s", name, at, px, err, where)
			}
			return nil
		}
	}
	var trap string
	err := chromedp.Run(ctx,
		chromedp.EmulateViewport(390, 844),
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/imports/new/classroom"),
		chromedp.WaitVisible(`#google-connect`, chromedp.ByID),
		check("35-phone-classroom-connect"),
		chromedp.Click(`#google-connect`, chromedp.ByID),
		chromedp.WaitVisible(`#classes`, chromedp.ByID),
		check("36-phone-classroom-classes"),
		chromedp.Click(`#course-bio`, chromedp.ByID),
		chromedp.Click(`#import-classes`, chromedp.ByID),
		chromedp.WaitVisible(`#defaults`, chromedp.ByID),
		// A roster has no passwords: the page says what an empty box means.
		chromedp.WaitVisible(`#no-password-column`, chromedp.ByID),
		chromedp.Text(`#no-password-column`, &trap, chromedp.ByID),
		check("37-phone-classroom-defaults"),
		chromedp.SendKeys(`#password`, "Class-Start-2026", chromedp.ByID),
		chromedp.Click(`#check-rows`, chromedp.ByID),
		chromedp.WaitVisible(`#rows`, chromedp.ByID),
		check("38-phone-classroom-review"),
		chromedp.Navigate(base+"/imports"),
		chromedp.WaitVisible(`main`, chromedp.ByQuery),
		check("39-phone-imports-with-classroom"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(trap, "Google Classroom gives no passwords") {
		t.Errorf("the defaults page's warning: %q", trap)
	}
}
