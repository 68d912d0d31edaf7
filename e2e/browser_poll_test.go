package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserPollOutlastsBadAnswers: the pages of a running job poll its
// status and move on when the job is done. One bad answer (a busy or
// restarting server) must not stop the polling: the page would wait forever
// for a job long done. A session that ended meanwhile (its status answer is
// a redirect to the sign-in page) reloads the page, which then shows the
// sign-in page. The pages' own script (ports/web/static/rollcall.js) runs
// against a server whose answers the test chooses.
func TestBrowserPollOutlastsBadAnswers(t *testing.T) {
	t.Parallel()
	ctx := browser(t)
	script, err := os.ReadFile("../ports/web/static/rollcall.js")
	if err != nil {
		t.Fatal(err)
	}
	var polls, pageLoads atomic.Int32
	var signedOut atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/static/rollcall.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(script)
	})
	mux.HandleFunc("/job", func(w http.ResponseWriter, _ *http.Request) {
		pageLoads.Add(1)
		_, _ = w.Write([]byte(`<!doctype html><html><head><script src="/static/rollcall.js"></script></head>` +
			`<body><div data-poll="/job/status.json" data-while="validating" data-version="1">Checking the rows…</div></body></html>`))
	})
	mux.HandleFunc("/job/status.json", func(w http.ResponseWriter, r *http.Request) {
		n := polls.Add(1)
		switch {
		case signedOut.Load():
			http.Redirect(w, r, "/sign-in", http.StatusSeeOther)
		case n <= 2:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case n == 3:
			http.Error(w, "oops", http.StatusInternalServerError)
		default:
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"state":"validated","version":2,"next":"/job/verification"}`))
		}
	})
	mux.HandleFunc("/job/verification", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("the review")) })
	mux.HandleFunc("/sign-in", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("sign in")) })
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	// Two 503s and a 500, then the job is done: the page gets there.
	step, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Run(step, chromedp.Navigate(srv.URL+"/job"), waitLocation(regexp.MustCompile(`/job/verification$`))); err != nil {
		t.Fatalf("the page did not move on after %d polls: %v", polls.Load(), err)
	}

	// Signed out while the job runs: the page is loaded again.
	signedOut.Store(true)
	loads := pageLoads.Load()
	step, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Run(step, chromedp.Navigate(srv.URL+"/job")); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the page to reload after the session ended", time.Minute, func() bool { return pageLoads.Load() >= loads+2 })
}
