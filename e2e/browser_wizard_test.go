package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5"
)

// importIDFrom reads the import id out of a wizard page's address.
func importIDFrom(ctx context.Context, t *testing.T) string {
	t.Helper()
	var loc string
	if err := chromedp.Run(ctx, chromedp.Location(&loc)); err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(loc, "/imports/")
	if !ok {
		t.Fatalf("not on an import's page: %s", loc)
	}
	id, _, _ := strings.Cut(rest, "/")
	return id
}

// TestBrowserWizard is the CSV wizard as an administrator uses it: upload a
// messy file of 118 people, fix a wrong column choice, choose the defaults,
// page through the review with its filters, commit, watch the progress bar
// reach 100 % and find the accounts.
func TestBrowserWizard(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	// The test holds the commit for a while (below): a job lease longer than
	// any hold keeps the commit's worker from losing its job meanwhile.
	w := newWorld(t, "IMPORT_BATCH_ROWS=1", "JOB_LEASE=5m")
	w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})
	w.root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Robotics"})
	w.root.must(200, "PATCH", "/api/v1/organization", map[string]bool{"welcome_email_enabled": true})
	base := w.srv.URL
	file, err := filepath.Abs("testdata/class-list.csv")
	if err != nil {
		t.Fatal(err)
	}

	// Upload, with the options a system administrator has.
	var uploadText string
	err = chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Click(`#start-csv`, chromedp.ByID),
		chromedp.WaitVisible(`#dropzone`, chromedp.ByID),
		chromedp.Text(`main`, &uploadText, chromedp.ByQuery),
		shot(t, "10-upload"),
		chromedp.SetUploadFiles(`#file`, []string{file}, chromedp.ByID),
		chromedp.Click(`input[name=send_welcome_email]`, chromedp.ByQuery),
		chromedp.Click(`#upload-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#mapping`, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Users", "Administrators", "welcome email", "sample file"} {
		if !strings.Contains(uploadText, want) {
			t.Fatalf("the upload page lacks %q:\n%s", want, uploadText)
		}
	}
	id := importIDFrom(ctx, t)

	// The mapping is suggested from the template's headers; the first rows
	// are shown beside the columns, the passwords hidden.
	var chosen [6]string
	var mappingText string
	actions := []chromedp.Action{chromedp.Text(`#mapping`, &mappingText, chromedp.ByID), shot(t, "11-mapping")}
	for i := range chosen {
		actions = append(actions, chromedp.Value(fmt.Sprintf("#column-%d", i), &chosen[i], chromedp.ByID))
	}
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(chosen[:], ","); got != "first_name,last_name,email,password,group,tag" {
		t.Fatalf("suggested mapping: %s", got)
	}
	if !strings.Contains(mappingText, "student001@lincoln.edu") || strings.Contains(mappingText, "Sunflower-005-Meadow") {
		t.Fatalf("the preview should show the first rows and hide passwords:\n%s", mappingText)
	}

	// Without an email column the page says what is missing and keeps the choices.
	var mappingError, missingLive string
	err = chromedp.Run(ctx,
		chromedp.SetValue(`#column-2`, "ignore", chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("column-2").dispatchEvent(new Event("change"))`, nil),
		chromedp.Text(`#mapping-missing`, &missingLive, chromedp.ByID),
		chromedp.Click(`#mapping-submit`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &mappingError, chromedp.ByQuery),
		shot(t, "12-mapping-error"),
		chromedp.Value(`#column-0`, &chosen[0], chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(missingLive, "Email") || !strings.Contains(strings.ToLower(mappingError), "email") || chosen[0] != "first_name" {
		t.Fatalf("missing email: live %q, on submit %q, first column kept as %q", missingLive, mappingError, chosen[0])
	}

	// Defaults, then the check runs and the review opens by itself.
	var countsText string
	err = chromedp.Run(ctx,
		chromedp.SetValue(`#column-2`, "email", chromedp.ByID),
		chromedp.Click(`#mapping-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#defaults`, chromedp.ByID),
		chromedp.SendKeys(`#password`, "Welcome-2026!", chromedp.ByID),
		chromedp.Click(`input[name=tag_id]`, chromedp.ByQuery),
		shot(t, "13-defaults"),
		chromedp.Click(`#check-rows`, chromedp.ByID),
		chromedp.WaitVisible(`#counts`, chromedp.ByID),
		chromedp.Text(`#counts`, &countsText, chromedp.ByID),
		shot(t, "14-verification"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(countsText), " "); got != "111 new 0 changed 1 unchanged 6 invalid, will be skipped" {
		t.Fatalf("counts: %q", got)
	}

	// Problems sit on the cell they concern; the filter shows the invalid rows.
	var emailProblem, invalidRows string
	var invalidCount int
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/imports/"+id+"/verification?status=invalid"),
		chromedp.WaitVisible(`#rows`, chromedp.ByID),
		chromedp.Text(`td.has-problem [data-code=email_invalid]`, &emailProblem, chromedp.ByQuery),
		chromedp.Text(`#rows tbody`, &invalidRows, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll("#rows tbody tr").length`, &invalidCount),
		shot(t, "15-verification-invalid"),
	)
	if err != nil {
		t.Fatal(err)
	}
	if invalidCount != 6 || !strings.Contains(emailProblem, "not-an-email") {
		t.Fatalf("invalid filter: %d rows, email problem %q\n%s", invalidCount, emailProblem, invalidRows)
	}
	for _, code := range []string{"password_policy", "email_duplicate_in_file", "email_unavailable", "group_unknown", "email_missing"} {
		var n int
		if err := chromedp.Run(ctx, chromedp.Evaluate(`document.querySelectorAll("[data-code=`+code+`]").length`, &n)); err != nil || n != 1 {
			t.Fatalf("problem %s shown %d times (%v)", code, n, err)
		}
	}
	if strings.Contains(invalidRows, "Zq7") || strings.Contains(invalidRows, "Dee-Own-Pass-42") {
		t.Fatal("a password is shown in the review")
	}

	// The rejected rows download as a spreadsheet with the reasons.
	var rejected string
	err = chromedp.Run(ctx, chromedp.Evaluate(`fetch(document.getElementById("download-rejected").href).then(r => r.text())`, &rejected,
		func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(rejected, "\n") != 7 || !strings.Contains(rejected, "problems") || !strings.Contains(rejected, `'=HYPERLINK`) {
		t.Fatalf("rejected rows:\n%s", rejected)
	}

	// Page by page: 118 rows are two pages; the commit waits for both.
	var disabled bool
	var pageTwo, notice string
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/imports/"+id+"/verification"),
		chromedp.WaitVisible(`#page-reviewed`, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("commit").disabled`, &disabled),
		chromedp.Click(`#page-reviewed`, chromedp.ByID),
		chromedp.WaitVisible(`a[rel=prev]`, chromedp.ByQuery),
		chromedp.Text(`.pager span`, &pageTwo, chromedp.ByQuery),
		shot(t, "16-verification-page-2"),
		chromedp.Click(`#page-reviewed`, chromedp.ByID),
		chromedp.WaitVisible(`.notice`, chromedp.ByQuery),
		chromedp.Text(`.notice`, &notice, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !disabled || pageTwo != "Page 2 of 2" || !strings.Contains(notice, "Every page is reviewed") {
		t.Fatalf("review: commit disabled before %v, second page %q, notice %q", disabled, pageTwo, notice)
	}

	// Commit: the progress bar moves, never back, to 100 %, and the summary
	// follows. One row per transaction (IMPORT_BATCH_ROWS=1) gives the bar
	// many steps; once the first accounts exist, the test holds the commit
	// (a lock on the event store, so nothing more can be recorded) until the
	// page shows a bar strictly between 0 and 100 %, then lets it finish.
	if err := chromedp.Run(ctx, chromedp.Click(`#commit`, chromedp.ByID)); err != nil {
		t.Fatal(err)
	}
	hold := holdCommitMidway(t, w, id)
	var bar progressWatch
	if err := chromedp.Run(ctx, bar.until(t, "bar strictly between 0 and 100 %", 30*time.Second, func(s barState) bool {
		return !s.done && s.percent() > 0 && s.percent() < 100
	})); err != nil {
		t.Fatal(err)
	}
	hold.release()
	var created, percentText string
	err = chromedp.Run(ctx,
		// The page reloads itself into the summary when the commit ends, so
		// it is watched with Evaluate alone, which outlives a reload.
		bar.until(t, "summary", 3*time.Minute, func(s barState) bool { return s.done }),
		chromedp.Text(`#summary-created`, &created, chromedp.ByID),
		chromedp.Evaluate(`Math.round(100 * document.getElementById("commit-progress").value / document.getElementById("commit-progress").max) + ""`, &percentText),
		shot(t, "18-summary"),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the progress bar went %v", bar.seen)
	bar.requireNeverBack(t)
	if created != "111" || percentText != "100" {
		t.Fatalf("summary: %s created, bar at %s %%", created, percentText)
	}

	// The accounts are there, in the accounts list, once its read model has
	// caught up with the commit.
	var status int
	var body string
	waitUntil(t, "the account list to hold the import's 111 accounts", 60*time.Second, func() bool {
		status, body = w.root.raw("/api/v1/accounts?import_id=" + id)
		return status == 200 && strings.Contains(body, `"total":111,`)
	})
	var accounts string
	err = chromedp.Run(ctx, chromedp.Navigate(base+"/accounts?import_id="+id), chromedp.WaitVisible(`main`, chromedp.ByQuery),
		chromedp.Text(`main`, &accounts, chromedp.ByQuery), shot(t, "19-accounts"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(accounts, "student001@lincoln.edu") {
		t.Fatalf("the accounts page of the import:\n%s", accounts)
	}
}

// barState is the progress bar as the page shows it.
type barState struct {
	done       bool // the summary is shown
	value, max float64
}

func (s barState) percent() float64 { return 100 * s.value / max(s.max, 1) }

func (s barState) String() string {
	if s.done {
		return fmt.Sprintf("done %g/%g", s.value, s.max)
	}
	return fmt.Sprintf("%g/%g", s.value, s.max)
}

// progressWatch samples the commit's progress bar, keeping each change.
type progressWatch struct{ seen []barState }

// until samples the bar every 100 ms until cond holds.
func (p *progressWatch) until(t *testing.T, what string, timeout time.Duration, cond func(barState) bool) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		deadline := time.Now().Add(timeout)
		for time.Now().Before(deadline) {
			var raw []float64
			// A sample taken while the page reloads fails; the next one counts.
			err := chromedp.Evaluate(`(function () {
				var bar = document.getElementById("commit-progress");
				return bar ? [document.getElementById("summary") ? 1 : 0, bar.value, bar.max] : [];
			})()`, &raw).Do(ctx)
			if ctx.Err() != nil {
				return fmt.Errorf("the browser's time ran out waiting for the %s; the bar went %v", what, p.seen)
			}
			if err == nil && len(raw) == 3 {
				s := barState{done: raw[0] == 1, value: raw[1], max: raw[2]}
				if len(p.seen) == 0 || p.seen[len(p.seen)-1] != s {
					p.seen = append(p.seen, s)
					if len(p.seen) == 1 && !s.done {
						_ = shot(t, "17-progress").Do(ctx)
					}
				}
				if cond(s) {
					return nil
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		return fmt.Errorf("no %s within %s; the bar went %v", what, timeout, p.seen)
	})
}

// requireNeverBack fails the test if the bar ever moved backwards.
func (p *progressWatch) requireNeverBack(t *testing.T) {
	t.Helper()
	for i := 1; i < len(p.seen); i++ {
		if p.seen[i].percent() < p.seen[i-1].percent() || p.seen[i].value < p.seen[i-1].value {
			t.Fatalf("the progress bar went back from %v to %v (all: %v)", p.seen[i-1], p.seen[i], p.seen)
		}
	}
}

// commitHold keeps an import's commit from recording anything more.
type commitHold struct {
	t    *testing.T
	tx   pgx.Tx
	conn *pgx.Conn
}

// holdCommitMidway waits until the commit has created some of the accounts
// and locks the event store against writes (reads go on, so the page can
// still poll), failing if the commit finished first.
func holdCommitMidway(t *testing.T, w *world, id string) *commitHold {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, w.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	var progress map[string]any
	waitUntil(t, "the first accounts of the commit", 60*time.Second, func() bool {
		imp := w.root.must(200, "GET", "/api/v1/imports/"+id, nil)
		if imp["state"] == "completed" {
			t.Fatalf("the commit finished before the test could hold it midway: %v", imp["progress"])
		}
		progress = imp["progress"].(map[string]any)
		return progress["done"].(float64) >= 1
	})
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE events IN EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	imp := w.root.must(200, "GET", "/api/v1/imports/"+id, nil)
	if p := imp["progress"].(map[string]any); imp["state"] != "committing" || p["done"].(float64) >= p["total"].(float64) {
		t.Fatalf("the commit was past midway when the test held it: %v %v", imp["state"], p)
	}
	h := &commitHold{t: t, tx: tx, conn: conn}
	t.Cleanup(h.release)
	return h
}

func (h *commitHold) release() {
	if h.tx != nil {
		if err := h.tx.Rollback(context.Background()); err != nil {
			h.t.Errorf("release the commit: %v", err)
		}
		h.tx = nil
	}
}

// TestBrowserResumeWizard leaves an import half-way, signs out and in again,
// and finds it at the same step with the same choices.
func TestBrowserResumeWizard(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)
	w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "7B"})
	w.root.must(201, "POST", "/api/v1/tags", map[string]string{"name": "Robotics"})
	base := w.srv.URL
	file, err := filepath.Abs("testdata/messy.csv")
	if err != nil {
		t.Fatal(err)
	}

	// Upload, ignore the Tag column, choose defaults that differ from the
	// page's own (no forced change, a tag), and let the rows be checked.
	err = chromedp.Run(ctx,
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
		chromedp.Navigate(base+"/imports/new"),
		chromedp.WaitVisible(`#file`, chromedp.ByID),
		chromedp.SetUploadFiles(`#file`, []string{file}, chromedp.ByID),
		chromedp.Click(`#upload-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#mapping`, chromedp.ByID),
		chromedp.SetValue(`#column-5`, "ignore", chromedp.ByID),
		chromedp.Click(`#mapping-submit`, chromedp.ByID),
		chromedp.WaitVisible(`#defaults`, chromedp.ByID),
		chromedp.SendKeys(`#password`, "Welcome-2026!", chromedp.ByID),
		chromedp.Click(`#force_password_change`, chromedp.ByID),
		chromedp.Click(`input[name=tag_id]`, chromedp.ByQuery),
		chromedp.Click(`#check-rows`, chromedp.ByID),
		chromedp.WaitVisible(`#counts`, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	id := importIDFrom(ctx, t)

	// Leave: sign out. Sign in again: the start page offers the import at
	// its step.
	var openImports string
	err = chromedp.Run(ctx,
		chromedp.Click(`.signout button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		signInBrowser(base, "root@lincoln.edu", "root-password-1"),
	)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the start page to list the import at the review step", 60*time.Second, func() bool {
		err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`.choices`, chromedp.ByQuery),
			chromedp.Text(`main`, &openImports, chromedp.ByQuery))
		return err == nil && strings.Contains(openImports, "messy.csv") && strings.Contains(openImports, "Verification")
	})

	// Continue lands on the review, with the counts of before.
	var countsText string
	var force, tag, keep bool
	var tagColumn string
	err = chromedp.Run(ctx,
		shot(t, "20-start-resume"),
		chromedp.Click(`a[href="/imports/`+id+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#counts`, chromedp.ByID),
		chromedp.Text(`#counts`, &countsText, chromedp.ByID),
		shot(t, "21-resumed-verification"),
		chromedp.Navigate(base+"/imports/"+id+"/defaults"),
		chromedp.WaitVisible(`#defaults`, chromedp.ByID),
		chromedp.Evaluate(`document.getElementById("force_password_change").checked`, &force),
		chromedp.Evaluate(`document.querySelector("input[name=tag_id]").checked`, &tag),
		chromedp.Evaluate(`document.querySelector("input[name=keep_password]").checked`, &keep),
		chromedp.Navigate(base+"/imports/"+id+"/mapping"),
		chromedp.WaitVisible(`#mapping`, chromedp.ByID),
		chromedp.Value(`#column-5`, &tagColumn, chromedp.ByID),
	)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(countsText), " "); got != "2 new 0 changed 1 unchanged 6 invalid, will be skipped" {
		t.Fatalf("resumed counts: %q", got)
	}
	if force || !tag || !keep || tagColumn != "ignore" {
		t.Fatalf("choices after resuming: force change %v, tag %v, keep password %v, Tag column %q", force, tag, keep, tagColumn)
	}

	// Cancel from the start page: the import leaves the list.
	err = chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#open-imports`, chromedp.ByID),
		chromedp.Evaluate(`window.confirm = () => true`, nil),
		chromedp.Click(`#open-imports button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.notice`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if imp := w.root.must(200, "GET", "/api/v1/imports/"+id, nil); imp["state"] != "cancelled" {
		t.Fatalf("after cancel: %v", imp["state"])
	}
}
