package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshotDir is where the browser tests leave a picture of each page
// (named in the README).
const screenshotDir = "../screenshots"

// browser starts a headless Chromium. Where the machine has none, a
// developer's run skips the test, loudly; under CI=true or
// ROLLCALL_REQUIRE_BROWSER=1 the test fails instead, so a CI without a
// browser cannot go green while testing none of the pages. Each outcome is
// appended to ROLLCALL_BROWSER_REPORT (set by scripts/test.sh), which
// `make test` counts at the end.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, missing := chromiumPath()
	if missing != "" {
		if browserRequired() {
			reportBrowser(t, "fail")
			t.Fatalf("%s, and this run requires the browser tests (CI=true or ROLLCALL_REQUIRE_BROWSER=1). %s", missing, installChromium)
		}
		reportBrowser(t, "skip")
		t.Skipf("BROWSER TEST SKIPPED: %s. %s", missing, installChromium)
	}
	reportBrowser(t, "run")
	// Not t.TempDir: Chromium's helper processes can still be writing its
	// profile when the test ends, and TempDir fails the test on a leftover.
	profile, err := os.MkdirTemp("", "rollcall-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1280, 900))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	// The first Run starts the browser under the context it is given, and
	// that context's end closes it: started here, under no deadline, the
	// browser outlives the test's deadline, so whereTheBrowserIs can still
	// read the page a step was waiting on.
	tab := ctx
	if err := chromedp.Run(tab); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	// A guard against a hung browser, not a speed check: the whole test,
	// its server's start included, runs under it on a possibly loaded
	// machine.
	ctx, cancelTimeout := context.WithTimeout(ctx, 6*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		if t.Failed() {
			whereTheBrowserIs(t, tab)
		}
		cancel()
		cancelAlloc()
		_ = os.RemoveAll(profile)
	})
	return ctx
}

// whereTheBrowserIs says, for a failed test, which page the browser was on
// and what it showed, with a screenshot: a step that waits for something
// that never comes fails with no more than "context deadline exceeded".
func whereTheBrowserIs(t *testing.T, tab context.Context) {
	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	defer cancel()
	var at, text string
	err := chromedp.Run(ctx,
		chromedp.Location(&at),
		chromedp.Evaluate(`document.body ? document.body.innerText.slice(0, 2000) : ""`, &text),
		shot(t, "FAILED-"+strings.ReplaceAll(t.Name(), "/", "-")),
	)
	if err != nil {
		t.Logf("the browser's page could not be read: %v", err)
		return
	}
	t.Logf("the browser was on %s (screenshots/FAILED-%s.png), showing:\n%s", at, t.Name(), text)
}

const installChromium = "Install Chromium: on Debian or Ubuntu `sudo apt-get install chromium` " +
	"(scripts/tools.sh chromium does it), elsewhere install Chromium or Google Chrome and set ROLLCALL_TEST_CHROMIUM to its path"

// chromiumPath is ROLLCALL_TEST_CHROMIUM, else chromium on the PATH; missing
// says why there is none.
func chromiumPath() (path, missing string) {
	if path = os.Getenv("ROLLCALL_TEST_CHROMIUM"); path != "" {
		if info, err := os.Stat(path); err != nil || info.IsDir() || info.Mode()&0o111 == 0 {
			return "", fmt.Sprintf("ROLLCALL_TEST_CHROMIUM=%s is not an executable file", path)
		}
		return path, ""
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		return "", "no Chromium on this machine (ROLLCALL_TEST_CHROMIUM is unset and there is no chromium on the PATH)"
	}
	return path, ""
}

func browserRequired() bool {
	return strings.EqualFold(os.Getenv("CI"), "true") || os.Getenv("CI") == "1" || os.Getenv("ROLLCALL_REQUIRE_BROWSER") == "1"
}

// reportBrowser appends "run|skip|fail TestName" to ROLLCALL_BROWSER_REPORT.
func reportBrowser(t *testing.T, outcome string) {
	report := os.Getenv("ROLLCALL_BROWSER_REPORT")
	if report == "" {
		return
	}
	f, err := os.OpenFile(report, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatalf("browser report: %v", err)
	}
	defer f.Close()
	// One write of one short line: O_APPEND keeps parallel tests' lines whole.
	if _, err := f.WriteString(outcome + " " + t.Name() + "\n"); err != nil {
		t.Fatalf("browser report: %v", err)
	}
}

// signInBrowser signs in through the sign-in page and waits for a signed-in
// page; signing in as someone else replaces the session cookie.
func signInBrowser(base, email, password string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(base + "/sign-in"),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		chromedp.SendKeys(`#email`, email, chromedp.ByID),
		chromedp.SendKeys(`#password`, password, chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`.signout`, chromedp.ByQuery),
	}
}

// shot saves a full-page screenshot under screenshots/. A page still being
// laid out (a click that navigates, on a loaded machine) has no size yet
// and cannot be captured: it is given a few seconds.
func shot(t *testing.T, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		var err error
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if err = chromedp.FullScreenshot(&png, 100).Do(ctx); err == nil || !strings.Contains(err.Error(), "0 width") || time.Now().After(deadline) {
				break
			}
		}
		if err != nil {
			return fmt.Errorf("screenshot %s: %w", name, err)
		}
		if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644)
	})
}

func TestBrowserSignInForcedPasswordChangeAndStartPage(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	w := newWorld(t)
	rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "sam@lincoln.edu", "--first", "Sam", "--last", "Staff",
		"--role", "system_admin", "--password", "temporary-pass-1", "--must-change-password")
	base := w.srv.URL

	var heading, errorText string
	err := chromedp.Run(ctx,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#email`, chromedp.ByID),
		shot(t, "01-sign-in"),
		// A wrong password is answered on the page.
		chromedp.SendKeys(`#email`, "sam@lincoln.edu", chromedp.ByID),
		chromedp.SendKeys(`#password`, "wrong-password", chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		chromedp.WaitVisible(`.error`, chromedp.ByQuery),
		chromedp.Text(`.error`, &errorText, chromedp.ByQuery),
		shot(t, "02-sign-in-error"),
		chromedp.SendKeys(`#password`, "temporary-pass-1", chromedp.ByID),
		chromedp.Submit(`#password`, chromedp.ByID),
		// The forced change comes first.
		chromedp.WaitVisible(`#new_password`, chromedp.ByID),
		shot(t, "03-choose-password"),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(`#new_password`, chromedp.ByID),
		chromedp.SendKeys(`#current_password`, "temporary-pass-1", chromedp.ByID),
		chromedp.SendKeys(`#new_password`, "a new and long password", chromedp.ByID),
		chromedp.SendKeys(`#repeat_password`, "a new and long password", chromedp.ByID),
		chromedp.Submit(`#repeat_password`, chromedp.ByID),
		// Wait for the start page itself: the old page's heading is visible too.
		chromedp.WaitVisible(`.choices`, chromedp.ByQuery),
		chromedp.Text(`h1`, &heading, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errorText, "email or the password is wrong") {
		t.Fatalf("sign-in error shown: %q", errorText)
	}
	if !strings.Contains(heading, "Welcome") {
		t.Fatalf("after the password change the page says %q", heading)
	}

	// An import left half-way shows on the start page, with its step.
	sam := &client{t: t, base: base}
	sam.signIn("sam@lincoln.edu", "a new and long password")
	if status, body := sam.upload("messy.csv", nil); status != 201 {
		t.Fatalf("upload: %d %v", status, body)
	}
	var table string
	waitUntil(t, "the start page to list the open import", 60*time.Second, func() bool {
		err := chromedp.Run(ctx, chromedp.Navigate(base+"/"), chromedp.WaitVisible(`main`, chromedp.ByQuery), chromedp.Text(`main`, &table, chromedp.ByQuery))
		return err == nil && strings.Contains(table, "messy.csv")
	})
	if !strings.Contains(table, "Mapping") {
		t.Fatalf("the open import's step is missing: %q", table)
	}
	if err := chromedp.Run(ctx, shot(t, "04-start"), chromedp.EmulateViewport(390, 844), chromedp.Reload(), chromedp.WaitVisible(`main`, chromedp.ByQuery), shot(t, "05-start-phone")); err != nil {
		t.Fatal(err)
	}
}
