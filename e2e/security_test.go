package e2e

// Tests of the findings of issue 9 ("the holes an attacker finds in ten
// minutes"), each against the built binary and a real PostgreSQL. Each
// fails on the code before the fix: the comment above it says how.

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/infrastructure/google/googletest"
)

// call is one HTTP request with full control of its headers.
type call struct {
	method, path, token string
	body                any
	header              map[string]string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func send(t *testing.T, base string, c call) answer {
	t.Helper()
	var reader io.Reader
	if c.body != nil {
		b, err := json.Marshal(c.body)
		if err != nil {
			t.Fatal(err)
		}
		reader = bytes.NewReader(b)
	}
	req, err := http.NewRequest(c.method, base+c.path, reader)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &a.body)
	}
	return a
}

// signInFrom signs in through a proxy that says the client is addr.
func signInFrom(t *testing.T, base, email, password, addr string) answer {
	t.Helper()
	return send(t, base, call{method: "POST", path: "/api/v1/sessions", body: map[string]string{"email": email, "password": password},
		header: map[string]string{"X-Forwarded-For": addr}})
}

func token(t *testing.T, a answer) string {
	t.Helper()
	tok, _ := a.body["token"].(string)
	if a.status != http.StatusOK || tok == "" {
		t.Fatalf("sign in: %d %s", a.status, a.raw)
	}
	return tok
}

func retryAfter(t *testing.T, a answer) time.Duration {
	t.Helper()
	n, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || n < 1 {
		t.Fatalf("Retry-After %q on %d %s", a.header.Get("Retry-After"), a.status, a.raw)
	}
	return time.Duration(n) * time.Second
}

func dbQueryInt(t *testing.T, db, sql string, args ...any) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Before: DELETE /api/v1/sessions/current did not exist (404), web
// sign-out only dropped the cookie, a password change left every other
// token valid, and the sessions table was never purged.
func TestSessionsEnd(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	base := w.srv.URL
	signIn := func(email, password string) string {
		return token(t, send(t, base, call{method: "POST", path: "/api/v1/sessions", body: map[string]string{"email": email, "password": password}}))
	}
	works := func(tok string) bool {
		return send(t, base, call{method: "GET", path: "/api/v1/groups", token: tok}).status == http.StatusOK
	}

	t.Run("sign out through the API", func(t *testing.T) {
		a, b := signIn("root@lincoln.edu", "root-password-1"), signIn("root@lincoln.edu", "root-password-1")
		if got := send(t, base, call{method: "DELETE", path: "/api/v1/sessions/current", token: a}); got.status != http.StatusNoContent {
			t.Fatalf("DELETE /api/v1/sessions/current: %d %s", got.status, got.raw)
		}
		if got := send(t, base, call{method: "GET", path: "/api/v1/groups", token: a}); got.status != http.StatusUnauthorized || errorCode(got.body) != "unauthorized" {
			t.Fatalf("the ended token still answers %d %s", got.status, got.raw)
		}
		if !works(b) {
			t.Fatal("signing out one session ended another")
		}
	})

	t.Run("web sign-out ends the server-side session", func(t *testing.T) {
		page := newPageClient(t, base)
		resp, _ := page.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
		var cookie string
		for _, c := range resp.Cookies() {
			if c.Name == "rollcall_session" {
				cookie = c.Value
			}
		}
		if cookie == "" || !works(cookie) {
			t.Fatalf("no working session cookie after signing in (%d)", resp.StatusCode)
		}
		csrf := page.csrf("/")
		if resp, _ := page.post("/sign-out", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign out: %d", resp.StatusCode)
		}
		if works(cookie) {
			t.Fatal("the cookie's token still works after signing out: only the browser forgot it")
		}
	})

	t.Run("a password change ends every other session", func(t *testing.T) {
		keep, other1, other2 := signIn("kim.existing@lincoln.edu", "kims-password-1"), signIn("kim.existing@lincoln.edu", "kims-password-1"), signIn("kim.existing@lincoln.edu", "kims-password-1")
		rootTok := signIn("root@lincoln.edu", "root-password-1")
		got := send(t, base, call{method: "POST", path: "/api/v1/me/password", token: keep,
			body: map[string]string{"current_password": "kims-password-1", "new_password": "kims-new-password-2"}})
		if got.status != http.StatusNoContent {
			t.Fatalf("change password: %d %s", got.status, got.raw)
		}
		for name, tok := range map[string]string{"second": other1, "third": other2} {
			if send(t, base, call{method: "POST", path: "/api/v1/me/password", token: tok,
				body: map[string]string{"current_password": "kims-new-password-2", "new_password": "kims-new-password-3"}}).status != http.StatusUnauthorized {
				t.Fatalf("the %s session survived the password change", name)
			}
		}
		if got := send(t, base, call{method: "DELETE", path: "/api/v1/sessions/current", token: keep}); got.status != http.StatusNoContent {
			t.Fatalf("the session that changed the password was ended too: %d", got.status)
		}
		if !works(rootTok) {
			t.Fatal("another account's session ended")
		}
	})

	t.Run("the web password page ends every other session", func(t *testing.T) {
		apiTok := signIn("root@lincoln.edu", "root-password-1")
		page := newPageClient(t, base)
		page.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
		csrf := page.csrf("/password")
		resp, body := page.post("/password", url.Values{"csrf": {csrf}, "current_password": {"root-password-1"},
			"new_password": {"root-password-2"}, "repeat_password": {"root-password-2"}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("web password change: %d\n%s", resp.StatusCode, body)
		}
		if works(apiTok) {
			t.Fatal("the API session survived a password change made on the web page")
		}
		if resp, _ := page.get("/"); resp.StatusCode != http.StatusOK {
			t.Fatalf("the browser that changed the password was signed out: %d", resp.StatusCode)
		}
	})

	t.Run("an account that must change its password may still sign out", func(t *testing.T) {
		rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", "new.admin@lincoln.edu", "--first", "Nia", "--last", "New",
			"--role", "admin", "--password", "temporary-pass", "--must-change-password")
		tok := signIn("new.admin@lincoln.edu", "temporary-pass")
		if got := send(t, base, call{method: "DELETE", path: "/api/v1/sessions/current", token: tok}); got.status != http.StatusNoContent {
			t.Fatalf("sign out with a password change due: %d %s", got.status, got.raw)
		}
	})

	t.Run("sign out without a token", func(t *testing.T) {
		if got := send(t, base, call{method: "DELETE", path: "/api/v1/sessions/current"}); got.status != http.StatusUnauthorized {
			t.Fatalf("anonymous sign out: %d", got.status)
		}
	})
}

// Before: nothing deleted expired sessions.
func TestExpiredSessionsArePurged(t *testing.T) {
	t.Parallel()
	// Long enough that three sign-ins on a busy machine outlive the count.
	w := newWorld(t, "SESSION_TTL=5s", "SWEEP_INTERVAL=300ms")
	for range 3 {
		token(t, send(t, w.srv.URL, call{method: "POST", path: "/api/v1/sessions", body: map[string]string{"email": "root@lincoln.edu", "password": "root-password-1"}}))
	}
	if n := dbQueryInt(t, w.db, `SELECT count(*) FROM sessions`); n < 3 {
		t.Fatalf("%d sessions stored, want at least 3", n)
	}
	waitUntil(t, "expired sessions to be purged", 30*time.Second, func() bool {
		return dbQueryInt(t, w.db, `SELECT count(*) FROM sessions`) == 0
	})
	if !strings.Contains(w.srv.stderr.String(), "expired_sessions=") {
		t.Fatalf("no sweep in the log:\n%s", w.srv.stderr.String())
	}
}

// Before: 120 wrong passwords in a few seconds, then the right one worked;
// there was no 429 at all.
func TestSignInThrottling(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "TRUSTED_PROXIES=127.0.0.1/32, ::1")
	base := w.srv.URL
	const attacker, owner = "203.0.113.66", "198.51.100.7"

	for i := 1; i <= 10; i++ {
		if got := signInFrom(t, base, "root@lincoln.edu", "wrong-guess-"+strconv.Itoa(i), attacker); got.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s, want 401 (ten failures are free)", i, got.status, got.raw)
		}
	}
	got := signInFrom(t, base, "root@lincoln.edu", "wrong-guess-11", attacker)
	if got.status != http.StatusTooManyRequests || errorCode(got.body) != "too_many_attempts" {
		t.Fatalf("after ten failures: %d %s, want 429 too_many_attempts", got.status, got.raw)
	}
	wait := retryAfter(t, got)
	if wait > 2*time.Second {
		t.Fatalf("first wait %s, want about a second", wait)
	}
	if got := signInFrom(t, base, "root@lincoln.edu", "root-password-1", attacker); got.status != http.StatusTooManyRequests {
		t.Fatalf("the right password during the wait: %d, want 429 (else the wait is an oracle)", got.status)
	}

	// The owner, from elsewhere, with the right password, waits no longer
	// than the wait that is running.
	start := time.Now()
	var ownerToken string
	for ownerToken == "" {
		got := signInFrom(t, base, "root@lincoln.edu", "root-password-1", owner)
		switch got.status {
		case http.StatusOK:
			ownerToken = token(t, got)
		case http.StatusTooManyRequests:
			time.Sleep(retryAfter(t, got))
		default:
			t.Fatalf("owner: %d %s", got.status, got.raw)
		}
		if time.Since(start) > wait+2*time.Second {
			t.Fatalf("the owner was kept out %s, longer than the running wait of %s", time.Since(start), wait)
		}
	}

	// Delays grow: after ten more failures, each further one doubles the wait.
	for i := 1; i <= 10; i++ {
		if got := signInFrom(t, base, "root@lincoln.edu", "again-wrong-"+strconv.Itoa(i), attacker); got.status != http.StatusUnauthorized {
			t.Fatalf("after the owner's sign-in the attacker's failures start again; failure %d: %d", i, got.status)
		}
	}
	var waits []time.Duration
	for len(waits) < 3 {
		got := signInFrom(t, base, "root@lincoln.edu", "still-wrong", attacker)
		switch got.status {
		case http.StatusTooManyRequests:
			d := retryAfter(t, got)
			waits = append(waits, d)
			time.Sleep(d)
		case http.StatusUnauthorized:
		default:
			t.Fatalf("attacker: %d %s", got.status, got.raw)
		}
	}
	if !(waits[0] < waits[1] && waits[1] < waits[2]) {
		t.Fatalf("waits %v do not grow", waits)
	}

	// An email with no account is throttled the same way: the 429 does not
	// tell which emails exist.
	for i := 1; i <= 10; i++ {
		signInFrom(t, base, "ghost@lincoln.edu", "guess", "192.0.2.50")
	}
	if got := signInFrom(t, base, "ghost@lincoln.edu", "guess", "192.0.2.50"); got.status != http.StatusTooManyRequests {
		t.Fatalf("unknown email after ten failures: %d", got.status)
	}

	// The web form is throttled as the API is, and says how long to wait.
	// (The wait may have run out meanwhile; a failure then makes it longer.)
	page := newPageClient(t, base)
	for i := 0; ; i++ {
		resp, body := page.post("/sign-in", url.Values{"email": {"ghost@lincoln.edu"}, "password": {"guess"}})
		if resp.StatusCode == http.StatusTooManyRequests {
			if resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "Wait") {
				t.Fatalf("web sign-in while throttled: %q\n%s", resp.Header.Get("Retry-After"), body)
			}
			break
		}
		if resp.StatusCode != http.StatusUnauthorized || i == 3 {
			t.Fatalf("web sign-in of a throttled email: %d\n%s", resp.StatusCode, body)
		}
	}

	if ownerToken == "" || strings.Contains(w.srv.stderr.String(), "wrong-guess") {
		t.Fatal("a guessed password appears in the log")
	}
}

// One address spraying passwords across many accounts is throttled too; the
// proxy's X-Forwarded-For is believed only from TRUSTED_PROXIES. Before:
// nothing was throttled.
func TestSignInThrottlingPerAddress(t *testing.T) {
	t.Parallel()
	spray := func(t *testing.T, base string, from func(i int) string) {
		t.Helper()
		for i := range 100 {
			if got := signInFrom(t, base, fmt.Sprintf("sprayed%d@lincoln.edu", i), "Summer2026!", from(i)); got.status != http.StatusUnauthorized {
				t.Fatalf("spray %d: %d %s", i, got.status, got.raw)
			}
		}
	}
	t.Run("behind a trusted proxy", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t, "TRUSTED_PROXIES=127.0.0.0/8")
		// The proxy appends the client; what the client wrote before it is
		// not believed.
		spray(t, w.srv.URL, func(i int) string { return fmt.Sprintf("10.9.9.%d, 203.0.113.9", i) })
		if got := signInFrom(t, w.srv.URL, "fresh@lincoln.edu", "Summer2026!", "203.0.113.9"); got.status != http.StatusTooManyRequests {
			t.Fatalf("the 101st failure from one address: %d, want 429", got.status)
		}
		if got := signInFrom(t, w.srv.URL, "root@lincoln.edu", "root-password-1", "203.0.113.10"); got.status != http.StatusOK {
			t.Fatalf("another address is not throttled: %d %s", got.status, got.raw)
		}
	})
	t.Run("X-Forwarded-For from an untrusted peer is ignored", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		spray(t, w.srv.URL, func(i int) string { return fmt.Sprintf("198.51.100.%d", i) })
		if got := signInFrom(t, w.srv.URL, "fresh@lincoln.edu", "Summer2026!", "192.0.2.1"); got.status != http.StatusTooManyRequests {
			t.Fatalf("a forged X-Forwarded-For escaped the throttle: %d", got.status)
		}
	})
}

// The counters live in PostgreSQL: failures at one process count at every
// other. Before: no counters at all.
func TestSignInThrottlingIsSharedByProcesses(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	second := startServer(t, w.env)
	for i := range 10 {
		srv := w.srv
		if i%2 == 1 {
			srv = second
		}
		if got := signInFrom(t, srv.URL, "root@lincoln.edu", "wrong", ""); got.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, got.status)
		}
	}
	for _, srv := range []*server{w.srv, second} {
		if got := signInFrom(t, srv.URL, "root@lincoln.edu", "wrong", ""); got.status != http.StatusTooManyRequests {
			t.Fatalf("the 11th failure at %s: %d, want 429", srv.URL, got.status)
		}
	}
}

// plainBinary is rollcall built without the race detector, whose shadow
// memory triples a process's footprint: memory is measured on the binary
// that runs in production.
var plainBinary = sync.OnceValues(func() (string, error) {
	path := filepath.Join(filepath.Dir(binary), "rollcall-plain")
	out, err := exec.Command("go", "build", "-o", path, "../cmd/rollcall").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return path, nil
})

// startPlainServer is startServer with plainBinary, at the cost env says.
func startPlainServer(t *testing.T, env []string) *server {
	t.Helper()
	path, err := plainBinary()
	if err != nil {
		t.Fatal(err)
	}
	return startBinary(t, path, env)
}

func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatalf("no VmHWM in /proc/%d/status", pid)
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

// Before: every sign-in ran argon2id (19 MiB) at once; 200 sign-ins, 100 at
// a time, took the server to 3.3 GB. Now at most one hash a core runs;
// the rest wait briefly and are turned away with 503 busy.
func TestSignInFloodStaysSmall(t *testing.T) {
	t.Parallel()
	// The production cost, not the tests' cheap one; distinct client
	// addresses (through a trusted proxy) so the throttle lets every
	// attempt through to the hasher.
	w := newWorld(t)
	srv := startPlainServer(t, append(w.env, "ARGON2_MEMORY_KIB=19456", "ARGON2_ITERATIONS=2", "TRUSTED_PROXIES=127.0.0.1/32"))
	w.srv.stop(t)
	before := vmHWM(t, srv.cmd.Process.Pid)
	var mu sync.Mutex
	statuses := map[int]int{}
	var wg sync.WaitGroup
	for g := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2 {
				addr := fmt.Sprintf("10.%d.%d.%d", i, g/250, g%250)
				body, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("nobody%d-%d@flood.example", g, i), "password": "flood-password"})
				req, _ := http.NewRequest("POST", srv.URL+"/api/v1/sessions", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Forwarded-For", addr)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				switch resp.StatusCode {
				case http.StatusUnauthorized:
				case http.StatusServiceUnavailable:
					if resp.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), `"busy"`) {
						t.Errorf("503 without Retry-After or code busy: %s", raw)
					}
				default:
					t.Errorf("flood answer %d %s", resp.StatusCode, raw)
				}
			}
		}()
	}
	wg.Wait()
	peak := vmHWM(t, srv.cmd.Process.Pid)
	t.Logf("answers %v; server peak RSS %d MiB (%d MiB before the flood)", statuses, peak>>20, before>>20)
	if peak > 300<<20 {
		t.Fatalf("the server peaked at %d MiB during the flood, want under 300 MiB", peak>>20)
	}
	if statuses[http.StatusUnauthorized] == 0 {
		t.Fatal("no attempt was checked at all")
	}
	// The server is still fine afterwards.
	token(t, signInFrom(t, srv.URL, "root@lincoln.edu", "root-password-1", "10.99.0.1"))
}

// Before: an unknown email was checked against a hash of the default cost
// whatever ARGON2_* said, so with a higher cost unknown emails answered
// several times faster than known ones: a list of which emails exist.
func TestUnknownEmailsCostWhatKnownOnesDo(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "ARGON2_MEMORY_KIB=49152", "ARGON2_ITERATIONS=3", "TRUSTED_PROXIES=127.0.0.1/32")
	timeOf := func(email string, i int) time.Duration {
		start := time.Now()
		got := signInFrom(t, w.srv.URL, email, "not-the-password", fmt.Sprintf("10.1.0.%d", i))
		if got.status != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", email, got.status, got.raw)
		}
		return time.Since(start)
	}
	// One of each first, not counted (cold caches and connections), then
	// pairs in alternating order, so a burst of load on a shared machine
	// falls on both kinds alike. Ten wrong passwords for Kim in all: the
	// account's free failures, so none is throttled.
	timeOf("kim.existing@lincoln.edu", 250)
	timeOf("nobody-warm-up@lincoln.edu", 251)
	var known, unknown []time.Duration
	for i := range 9 {
		if i%2 == 0 {
			known = append(known, timeOf("kim.existing@lincoln.edu", 2*i))
			unknown = append(unknown, timeOf(fmt.Sprintf("nobody%d@lincoln.edu", i), 2*i+1))
		} else {
			unknown = append(unknown, timeOf(fmt.Sprintf("nobody%d@lincoln.edu", i), 2*i+1))
			known = append(known, timeOf("kim.existing@lincoln.edu", 2*i))
		}
	}
	slices.Sort(known)
	slices.Sort(unknown)
	k, u := known[len(known)/2], unknown[len(unknown)/2]
	t.Logf("median known %s, unknown %s", k, u)
	if ratio := float64(u) / float64(k); ratio < 0.6 || ratio > 1.7 {
		t.Fatalf("unknown emails take %.2f× the time of known ones (median %s vs %s): the difference tells which emails exist", ratio, u, k)
	}
}

// Before: a group administrator read the audit trail of any account of the
// organization, the system administrator's included; there was no API for
// it.
func TestAuditTrailsFollowReach(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	g1 := w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G1"})["id"].(string)
	g2 := w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "G2"})["id"].(string)
	for _, a := range [][]string{
		{"ada.admin@lincoln.edu", "admin", g1}, {"uma.g1@lincoln.edu", "user", g1}, {"ulf.g2@lincoln.edu", "user", g2},
		{"otto.admin@lincoln.edu", "admin", g1},
	} {
		rollcall(t, w.env, "account", "create", "--org", w.orgA, "--email", a[0], "--first", "X", "--last", "Y",
			"--role", a[1], "--group", a[2], "--password", "group-pass-1")
	}
	admin := &client{t: t, base: w.srv.URL}
	admin.signIn("ada.admin@lincoln.edu", "group-pass-1")
	user := &client{t: t, base: w.srv.URL}
	user.signIn("uma.g1@lincoln.edu", "group-pass-1")

	audit := func(c *client, email string) (int, map[string]any) {
		return c.do("GET", "/api/v1/accounts/audit?email="+url.QueryEscape(email), nil)
	}
	// Wait for the projection: the root sees the user of G2's trail.
	waitUntil(t, "the audit trail projection", 30*time.Second, func() bool {
		status, body := audit(w.root, "ulf.g2@lincoln.edu")
		events, _ := body["events"].([]any)
		return status == 200 && len(events) > 0
	})
	_, missing := audit(admin, "nobody@lincoln.edu")
	tests := []struct {
		name   string
		c      *client
		email  string
		status int
	}{
		{"admin, user of own group", admin, "uma.g1@lincoln.edu", 200},
		{"admin, own account", admin, "ada.admin@lincoln.edu", 200},
		{"admin, administrator of own group", admin, "otto.admin@lincoln.edu", 200},
		{"admin, the system administrator", admin, "root@lincoln.edu", 404},
		{"admin, user of another group", admin, "ulf.g2@lincoln.edu", 404},
		{"admin, user of no group", admin, "kim.existing@lincoln.edu", 404},
		{"admin, another organization's account", admin, "taken@other.org", 404},
		{"user, own account", user, "uma.g1@lincoln.edu", 200},
		{"user, another user of the group", user, "ulf.g2@lincoln.edu", 404},
		{"system administrator, anyone", w.root, "ada.admin@lincoln.edu", 200},
		{"another organization", w.other, "root@lincoln.edu", 404},
	}
	for _, tt := range tests {
		status, body := audit(tt.c, tt.email)
		if status != tt.status {
			t.Errorf("%s: %d %v, want %d", tt.name, status, body, tt.status)
			continue
		}
		if status == 404 && fmt.Sprint(body) != fmt.Sprint(missing) {
			t.Errorf("%s: %v differs from the answer for a missing account %v", tt.name, body, missing)
		}
	}

	// The page answers the same.
	page := newPageClient(t, w.srv.URL)
	page.post("/sign-in", url.Values{"email": {"ada.admin@lincoln.edu"}, "password": {"group-pass-1"}})
	for email, want := range map[string]int{"root@lincoln.edu": 404, "ulf.g2@lincoln.edu": 404, "uma.g1@lincoln.edu": 200} {
		resp, body := page.get("/accounts/audit?email=" + url.QueryEscape(email))
		if resp.StatusCode != want {
			t.Errorf("audit page of %s: %d, want %d", email, resp.StatusCode, want)
		}
		if want == 404 && strings.Contains(body, "Ria") {
			t.Errorf("the refused audit page of %s shows a name:\n%s", email, body)
		}
	}
}

// validatedImport takes messy.csv to the review step.
func validatedImport(t *testing.T, c *client) string {
	t.Helper()
	status, imp := c.upload("messy.csv", nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	id := imp["id"].(string)
	c.must(200, "PUT", "/api/v1/imports/"+id+"/mapping", map[string]any{"columns": imp["suggested_mapping"]})
	c.must(200, "PUT", "/api/v1/imports/"+id+"/defaults", map[string]any{"password": "Welcome-2026!", "force_password_change": true})
	c.must(202, "POST", "/api/v1/imports/"+id+"/validation", nil)
	c.waitForState(id, "validated")
	return id
}

// Before: each of these answered 500 (PostgreSQL refused the NUL byte, or
// the page overflowed the offset).
func TestBadParametersAre400(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	root := w.root
	id := validatedImport(t, root)
	tests := []struct {
		name string
		c    call
	}{
		{"NUL in the accounts email filter", call{method: "GET", path: "/api/v1/accounts?email=a%00b", token: root.token}},
		{"invalid UTF-8 in a query", call{method: "GET", path: "/api/v1/accounts?q=%ff%fe", token: root.token}},
		{"NUL in the sign-in email", call{method: "POST", path: "/api/v1/sessions", body: map[string]string{"email": "root\x00@lincoln.edu", "password": "x"}}},
		{"NUL in a group name", call{method: "POST", path: "/api/v1/groups", token: root.token, body: map[string]string{"name": "7\x00B"}}},
		{"NUL in a tag name", call{method: "POST", path: "/api/v1/tags", token: root.token, body: map[string]string{"name": "Robo\x00tics"}}},
		{"NUL in a preset name", call{method: "POST", path: "/api/v1/presets", token: root.token, body: map[string]string{"name": "\x00"}}},
		{"NUL in a mapping header", call{method: "PUT", path: "/api/v1/imports/" + id + "/mapping", token: root.token,
			body: map[string]any{"columns": map[string]string{"Email\x00": "email"}}}},
		{"a huge rows page", call{method: "GET", path: "/api/v1/imports/" + id + "/rows?page=92233720368547758", token: root.token}},
		{"a huge accounts page", call{method: "GET", path: "/api/v1/accounts?page=922337203685477580", token: root.token}},
		{"a page past the last one allowed", call{method: "GET", path: "/api/v1/accounts?page=1000001", token: root.token}},
		{"a negative page", call{method: "GET", path: "/api/v1/imports/" + id + "/rows?page=-3", token: root.token}},
	}
	for _, tt := range tests {
		got := send(t, w.srv.URL, tt.c)
		if got.status != http.StatusBadRequest || errorCode(got.body) != "invalid_parameter" {
			t.Errorf("%s: %d %s, want 400 invalid_parameter", tt.name, got.status, got.raw)
		}
	}

	page := newPageClient(t, w.srv.URL)
	page.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
	csrf := page.csrf("/settings")
	for _, p := range []struct {
		name string
		do   func() (*http.Response, string)
	}{
		{"web review page with a huge page", func() (*http.Response, string) {
			return page.get("/imports/" + id + "/verification?page=92233720368547758")
		}},
		{"web accounts list with a huge page", func() (*http.Response, string) { return page.get("/accounts?page=922337203685477580") }},
		{"web accounts list with a NUL email", func() (*http.Response, string) { return page.get("/accounts?email=a%00b") }},
		{"web group name with a NUL", func() (*http.Response, string) {
			return page.post("/settings/groups", url.Values{"csrf": {csrf}, "name": {"7\x00B"}})
		}},
		{"web sign-in with a NUL email", func() (*http.Response, string) {
			return newPageClient(t, w.srv.URL).post("/sign-in", url.Values{"email": {"root\x00@lincoln.edu"}, "password": {"x"}})
		}},
	} {
		resp, body := p.do()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "page") && !strings.Contains(body, "NUL") {
			t.Errorf("%s: %d\n%s", p.name, resp.StatusCode, body)
		}
	}
	if strings.Contains(w.srv.stderr.String(), "level=ERROR") {
		t.Fatalf("an error was logged:\n%s", w.srv.stderr.String())
	}
}

// Before: GET /api/v1/imports and /api/v1/accounts answered a user 404
// "There is no such import."
func TestUsersAreForbiddenTheLists(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	user := &client{t: t, base: w.srv.URL}
	user.signIn("kim.existing@lincoln.edu", "kims-password-1")
	for _, path := range []string{"/api/v1/imports", "/api/v1/imports?state=open", "/api/v1/accounts"} {
		if status, body := user.do("GET", path, nil); status != http.StatusForbidden || errorCode(body) != "forbidden" {
			t.Errorf("user GET %s: %d %v, want 403 forbidden", path, status, body)
		}
	}
}

// Before: a Classroom import took another organization's group id, and its
// accounts then carried it.
func TestClassroomImportRefusesAnotherOrganizationsGroup(t *testing.T) {
	t.Parallel()
	fake := googletest.Start(t, googletest.Options{
		ClientID: "rollcall-test", ClientSecret: "test-secret", TokenLifetime: time.Hour,
		User: googletest.Person{ID: "t1", Email: "root@lincoln.edu", Given: "Ria", Family: "Root"},
		Courses: []googletest.Course{{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.edu",
			Students: []googletest.Person{{ID: "s1", Email: "ana@lincoln.edu", Given: "Ana", Family: "Lima"}}}},
	})
	w := newWorld(t, "GOOGLE_CLIENT_ID=rollcall-test", "GOOGLE_CLIENT_SECRET=test-secret",
		"GOOGLE_AUTH_URL="+fake.AuthURL(), "GOOGLE_TOKEN_URL="+fake.TokenURL(), "GOOGLE_API_URL="+fake.APIURL())
	if status, body := googleConnect(t, w.root); status != http.StatusFound {
		t.Fatalf("connect Google: %d %v", status, body)
	}
	theirs := w.other.must(201, "POST", "/api/v1/groups", map[string]string{"name": "Theirs"})["id"].(string)
	status, body := w.root.do("POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio"}, "group_id": theirs})
	if status != http.StatusUnprocessableEntity || errorCode(body) != "invalid_value" {
		t.Fatalf("classroom import into another organization's group: %d %v, want 422", status, body)
	}
	ours := w.root.must(201, "POST", "/api/v1/groups", map[string]string{"name": "Ours"})["id"].(string)
	w.root.must(201, "POST", "/api/v1/imports/classroom", map[string]any{"course_ids": []string{"bio"}, "group_id": ours})
}

// Before: a 2 MiB file name was stored and listed whole.
func TestLongFileNamesAreCut(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	data, err := os.ReadFile(filepath.Join("testdata", "messy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("ä", 1<<20) + ".csv"
	status, imp := w.root.uploadBytes(long, data, nil)
	if status != 201 {
		t.Fatalf("upload: %d %v", status, imp)
	}
	name := imp["file"].(map[string]any)["name"].(string)
	if n := len([]rune(name)); n != 255 || !strings.HasSuffix(name, ".csv") {
		t.Fatalf("stored name of %d characters ending %q, want 255 ending .csv", n, name[len(name)-8:])
	}
	status, list := w.root.raw("/api/v1/imports")
	if status != 200 || len(list) > 8<<10 {
		t.Fatalf("GET /api/v1/imports: %d, %d bytes", status, len(list))
	}
}

// openConn sends a request's head and part of its body, then stalls.
func openConn(t *testing.T, base, head string, part []byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write(part); err != nil {
		t.Fatal(err)
	}
	return conn
}

// closedWithin waits for the server to end a stalled request: an answer
// (408/400) followed by the close, or the close alone.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(limit))
	_, err := io.Copy(io.Discard, conn)
	took := time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server still holds the stalled request after %s", limit)
	}
	return took
}

// Before: only ReadHeaderTimeout was set; 800 half-sent requests stayed open.
func TestStalledRequestsAreCut(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "HTTP_READ_TIMEOUT=2s", "HTTP_WRITE_TIMEOUT=5s", "UPLOAD_STALL_TIMEOUT=2s", "UPLOAD_TIMEOUT=2m")
	host := strings.TrimPrefix(w.srv.URL, "http://")

	t.Run("a half-sent JSON body", func(t *testing.T) {
		conn := openConn(t, w.srv.URL, "POST /api/v1/sessions HTTP/1.1\r\nHost: "+host+"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n", []byte(`{"email":`))
		if took := closedWithin(t, conn, 10*time.Second); took < time.Second {
			t.Fatalf("cut after %s, sooner than the read timeout", took)
		}
	})

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "class.csv")
	data, _ := os.ReadFile(filepath.Join("testdata", "messy.csv"))
	_, _ = fw.Write(data)
	_ = mw.Close()
	uploadHead := func(length int) string {
		return "POST /api/v1/imports HTTP/1.1\r\nHost: " + host + "\r\nAuthorization: Bearer " + w.root.token +
			"\r\nContent-Type: " + mw.FormDataContentType() + "\r\nContent-Length: " + strconv.Itoa(length) + "\r\n\r\n"
	}

	t.Run("a stalled upload", func(t *testing.T) {
		conn := openConn(t, w.srv.URL, uploadHead(body.Len()), body.Bytes()[:body.Len()/2])
		closedWithin(t, conn, 10*time.Second)
	})

	t.Run("a slow upload that keeps sending is not cut", func(t *testing.T) {
		conn := openConn(t, w.srv.URL, uploadHead(body.Len()), nil)
		chunks := 8 // one every 500 ms: 4 s in all, twice the read timeout
		size := (body.Len() + chunks - 1) / chunks
		for off := 0; off < body.Len(); off += size {
			time.Sleep(500 * time.Millisecond)
			if _, err := conn.Write(body.Bytes()[off:min(off+size, body.Len())]); err != nil {
				t.Fatalf("the server cut a moving upload at byte %d: %v", off, err)
			}
		}
		_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("slow upload: %d", resp.StatusCode)
		}
	})
}

// Before: POST /sign-in with Origin: https://evil.example signed in.
func TestSignInFormRefusesOtherSites(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	post := func(header map[string]string) (*http.Response, string) {
		form := url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}}
		req, _ := http.NewRequest("POST", w.srv.URL+"/sign-in", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	tests := []struct {
		name   string
		header map[string]string
		status int
	}{
		{"another site's origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"another site's referer", map[string]string{"Referer": "https://evil.example/page"}, http.StatusForbidden},
		{"an opaque origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"our own origin", map[string]string{"Origin": w.srv.URL}, http.StatusSeeOther},
		{"our own referer", map[string]string{"Referer": w.srv.URL + "/sign-in"}, http.StatusSeeOther},
		{"no browser headers (a script)", nil, http.StatusSeeOther},
	}
	for _, tt := range tests {
		resp, body := post(tt.header)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.status, body)
			continue
		}
		signedIn := false
		for _, c := range resp.Cookies() {
			signedIn = signedIn || c.Name == "rollcall_session" && c.Value != ""
		}
		if tt.status == http.StatusForbidden && (signedIn || !strings.Contains(body, "another site")) {
			t.Errorf("%s: signed in %v, or no clear page:\n%s", tt.name, signedIn, body)
		}
	}
}

// Before: no Cache-Control on signed-in pages, API answers or rejected.csv.
func TestPersonalAnswersAreNotCached(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	id := validatedImport(t, w.root)
	page := newPageClient(t, w.srv.URL)
	page.post("/sign-in", url.Values{"email": {"root@lincoln.edu"}, "password": {"root-password-1"}})
	checks := map[string]http.Header{}
	for _, path := range []string{"/api/v1/accounts", "/api/v1/imports", "/api/v1/imports/" + id + "/rows", "/api/v1/imports/" + id + "/rejected.csv", "/api/v1/groups"} {
		checks["API "+path] = send(t, w.srv.URL, call{method: "GET", path: path, token: w.root.token}).header
	}
	checks["API sign-in"] = send(t, w.srv.URL, call{method: "POST", path: "/api/v1/sessions", body: map[string]string{"email": "root@lincoln.edu", "password": "root-password-1"}}).header
	for _, path := range []string{"/", "/accounts", "/imports/" + id + "/verification", "/imports/" + id + "/rejected.csv", "/settings"} {
		resp, _ := page.get(path)
		checks["page "+path] = resp.Header
	}
	for what, h := range checks {
		if !strings.Contains(h.Get("Cache-Control"), "no-store") {
			t.Errorf("%s: Cache-Control %q, want no-store", what, h.Get("Cache-Control"))
		}
	}
}

// bigSheetWorkbook is people.xlsx with its first sheet replaced by one that
// unpacks to more than 64 MiB (rows of the same cells: it compresses to a
// few hundred KiB).
func bigSheetWorkbook(t *testing.T) []byte {
	t.Helper()
	src, err := zip.OpenReader(filepath.Join("testdata", "people.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	replaced := false
	for _, f := range src.File {
		w, err := zw.Create(f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if f.Name != "xl/worksheets/sheet1.xml" {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(w, r)
			r.Close()
			continue
		}
		replaced = true
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>`)
		bw.WriteString(`<row><c t="inlineStr"><is><t>First Name</t></is></c><c t="inlineStr"><is><t>Last Name</t></is></c><c t="inlineStr"><is><t>Email</t></is></c><c t="inlineStr"><is><t>Password</t></is></c></row>`)
		row := `<row><c t="inlineStr"><is><t>Ana</t></is></c><c t="inlineStr"><is><t>Lima</t></is></c><c t="inlineStr"><is><t>ana@lincoln.edu</t></is></c><c t="inlineStr"><is><t>Secret-Pass-1</t></is></c></row>`
		for written := 0; written < 66<<20; written += len(row) {
			bw.WriteString(row)
		}
		bw.WriteString(`</sheetData></worksheet>`)
		if err := bw.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil || !replaced {
		t.Fatalf("building the workbook: %v (sheet replaced: %v)", err, replaced)
	}
	return out.Bytes()
}

// Before: excelize unpacked such a sheet, password column and all, to a
// file in clear under $TMPDIR, and the upload was accepted.
func TestHugeWorksheetsAreRefusedNotSpooled(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	w := newWorld(t, "TMPDIR="+tmp)
	data := bigSheetWorkbook(t)
	status, body := w.root.uploadBytes("huge.xlsx", data, nil)
	if status != http.StatusRequestEntityTooLarge || errorCode(body) != "sheet_too_large" || !strings.Contains(fmt.Sprint(body), "CSV") {
		t.Fatalf("upload of a %d KiB workbook with a 66 MiB sheet: %d %v, want 413 sheet_too_large", len(data)>>10, status, body)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "excelize-*")); len(left) > 0 {
		t.Fatalf("excelize spooled the sheet in clear: %v", left)
	}
	if list := w.root.must(200, "GET", "/api/v1/imports", nil)["imports"].([]any); len(list) != 0 {
		t.Fatalf("the refused workbook left an import: %v", list)
	}
}

// TestCurrentPasswordIsThrottled: a session left open on a shared computer
// (or stolen) must not guess its owner's password through the forms that
// ask for it (a new password, a new email) faster than the sign-in page lets
// anyone: wrong current passwords count as failed sign-ins of the account,
// from that address, and the same throttle answers.
func TestCurrentPasswordIsThrottled(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "TRUSTED_PROXIES=127.0.0.1/32, ::1")
	base := w.srv.URL
	const thief, owner = "203.0.113.80", "198.51.100.9"
	session := token(t, signInFrom(t, base, "root@lincoln.edu", "root-password-1", thief))
	guess := func(path string, i int) answer {
		body := map[string]string{"current_password": "guess-" + strconv.Itoa(i), "new_password": "a-thiefs-password-1"}
		if path == "/api/v1/me/email" {
			body = map[string]string{"current_password": "guess-" + strconv.Itoa(i), "new_email": "thief@evil.example"}
		}
		return send(t, base, call{method: "POST", path: path, token: session, body: body, header: map[string]string{"X-Forwarded-For": thief}})
	}
	// Ten failures are free, whichever form they come through.
	for i := 1; i <= 10; i++ {
		path := "/api/v1/me/password"
		if i%2 == 0 {
			path = "/api/v1/me/email"
		}
		if got := guess(path, i); got.status == http.StatusTooManyRequests || got.status/100 != 4 {
			t.Fatalf("guess %d on %s: %d %s, want a refusal of the password", i, path, got.status, got.raw)
		}
	}
	// Then waits, doubling with each guess made once a wait is over; the
	// guesser keeps at it until the wait is 8 s, long enough for the
	// checks below to land inside it on a loaded machine (a guess that
	// arrives after a 1 s wait ran out is counted, not refused).
	var wait time.Duration
	for i := 11; wait < 8*time.Second; i++ {
		if i > 30 {
			t.Fatalf("twenty guesses after the free ten and the wait is still %s: the current password is not throttled", wait)
		}
		got := guess("/api/v1/me/password", i)
		switch got.status {
		case http.StatusTooManyRequests:
			if errorCode(got.body) != "too_many_attempts" {
				t.Fatalf("guess %d: %d %s, want too_many_attempts", i, got.status, got.raw)
			}
			wait = retryAfter(t, got)
			if wait < 8*time.Second {
				time.Sleep(wait)
			}
		case http.StatusUnauthorized:
		default:
			t.Fatalf("guess %d: %d %s", i, got.status, got.raw)
		}
	}
	// The same wait on the other form and, the same counters as signing
	// in, at the sign-in page from the guessing address.
	if got := guess("/api/v1/me/email", 99); got.status != http.StatusTooManyRequests || errorCode(got.body) != "too_many_attempts" {
		t.Fatalf("a guess on /api/v1/me/email during the wait: %d %s, want 429 too_many_attempts", got.status, got.raw)
	}
	if got := signInFrom(t, base, "root@lincoln.edu", "another-guess", thief); got.status != http.StatusTooManyRequests {
		t.Fatalf("sign-in from the guessing address: %d %s, want 429", got.status, got.raw)
	}
	// The owner, elsewhere, gets in within the running wait, and the
	// password was never changed.
	waitUntil(t, "the owner to sign in", time.Minute, func() bool {
		return signInFrom(t, base, "root@lincoln.edu", "root-password-1", owner).status == http.StatusOK
	})
}
