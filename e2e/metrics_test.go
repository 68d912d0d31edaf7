package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// projectionGroups names every projection's consumer group as the server
// names it, so a projection's version bump cannot leave this test looking
// for a group nobody runs any more.
func projectionGroups() []string {
	var groups []string
	for _, p := range projection.All() {
		groups = append(groups, postgres.ProjectionGroup(p))
	}
	return groups
}

// sample is one line of Prometheus' text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is one GET /metrics, parsed.
type scrape []sample

func scrapeMetrics(t *testing.T, url string) scrape {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("scrape: %s", resp.Status)
	}
	var out scrape
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 1<<20), 1<<20)
	for lines.Scan() {
		line := lines.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cut := strings.LastIndexByte(line, ' ')
		value, err := strconv.ParseFloat(line[cut+1:], 64)
		if err != nil {
			t.Fatalf("scrape: %q: %v", line, err)
		}
		s := sample{name: line[:cut], labels: map[string]string{}, value: value}
		if open := strings.IndexByte(s.name, '{'); open >= 0 {
			// Our label values hold no quotes or commas.
			for _, pair := range strings.Split(strings.TrimSuffix(s.name[open+1:], "}"), ",") {
				k, v, _ := strings.Cut(pair, "=")
				s.labels[k] = strings.Trim(v, `"`)
			}
			s.name = s.name[:open]
		}
		out = append(out, s)
	}
	if err := lines.Err(); err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return out
}

// get sums the series of name whose labels include the given pairs
// ("outcome", "created", …); ok says whether any series matched.
func (s scrape) get(name string, pairs ...string) (total float64, ok bool) {
next:
	for _, x := range s {
		if x.name != name {
			continue
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			if x.labels[pairs[i]] != pairs[i+1] {
				continue next
			}
		}
		total, ok = total+x.value, true
	}
	return total, ok
}

func (s scrape) must(t *testing.T, name string, pairs ...string) float64 {
	t.Helper()
	v, ok := s.get(name, pairs...)
	if !ok {
		t.Fatalf("no series %s%v in the scrape", name, pairs)
	}
	return v
}

// GET METRICS_ADDR/metrics before, during and after a 20,000-row import:
// the counters move with the work, the job gauges follow it, and every
// consumer's lag comes back to 0. No welcome emails, so that the machine's
// two cores go to the import and the consumers (the mail metrics are checked
// by TestMailRelayRefusesForAWhile).
func TestMetricsFollowA20000RowImport(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: a 20,000-row import")
	}
	t.Parallel()
	const people = 20000
	metricsAddr := freeAddr(t)
	w := newWorld(t, "METRICS_ADDR="+metricsAddr, "IMPORT_BATCH_ROWS=500", "IMPORT_CHUNK_ROWS=5000")
	url := "http://" + metricsAddr + "/metrics"
	root := w.root

	before := scrapeMetrics(t, url)
	for _, name := range []string{"rollcall_projection_lag_events", "rollcall_projection_lag_seconds"} {
		for _, group := range append(projectionGroups(), "saga.imports") {
			before.must(t, name, "consumer_group", group)
		}
	}
	before.must(t, "rollcall_password_hashes_in_flight")
	before.must(t, "rollcall_jobs_oldest_pending_age_seconds")
	before.must(t, "rollcall_mail_outbox_messages", "state", "pending")
	validatedBefore := before.must(t, "rollcall_import_rows_validated_total")
	createdBefore := before.must(t, "rollcall_import_accounts_committed_total", "outcome", "created")
	sentBefore := before.must(t, "rollcall_mail_messages_total", "outcome", "sent")
	if _, ok := before.get("rollcall_http_request_duration_seconds_count", "route", "/api/v1/sessions", "method", "POST", "code", "200"); !ok {
		t.Error("the sign-ins are not in the HTTP histogram under their route")
	}

	start := time.Now()
	id := validatedUpload(t, root, "big.csv", peopleCSV(people, "metric"), false)
	validatedIn := time.Since(start)
	validated := scrapeMetrics(t, url)
	if got := validated.must(t, "rollcall_import_rows_validated_total") - validatedBefore; got != people {
		t.Errorf("rows validated went up by %v, want %d", got, people)
	}
	if n := validated.must(t, "rollcall_import_stage_duration_seconds_count", "stage", "validate"); n != 1 {
		t.Errorf("validate stage observed %v times", n)
	}

	root.must(202, "POST", "/api/v1/imports/"+id+"/commit", nil)
	// During the commit: accounts counted batch by batch, the commit job
	// running, lag building up.
	var midway, sawRunning, sawLag bool
	deadline := time.Now().Add(5 * time.Minute)
	for {
		during := scrapeMetrics(t, url)
		created := during.must(t, "rollcall_import_accounts_committed_total", "outcome", "created") - createdBefore
		midway = midway || (created > 0 && created < people)
		running, _ := during.get("rollcall_jobs", "kind", importing.KindCommitChunk, "state", "running")
		sawRunning = sawRunning || running >= 1
		lag, _ := during.get("rollcall_projection_lag_events")
		sawLag = sawLag || lag > 0
		if created == people {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 5 minutes %v accounts counted as created", created)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !midway || !sawRunning || !sawLag {
		t.Errorf("during the commit: counter midway %v, commit job running %v, projection lag %v; want all seen", midway, sawRunning, sawLag)
	}
	root.waitForState(id, "completed")
	committedIn := time.Since(start) - validatedIn

	// After: the summary email sent, every consumer caught up.
	var after scrape
	waitUntil(t, "every consumer to catch up and the summary to go out", 5*time.Minute, func() bool {
		after = scrapeMetrics(t, url)
		if sent := after.must(t, "rollcall_mail_messages_total", "outcome", "sent") - sentBefore; sent < 1 {
			return false
		}
		for _, name := range []string{"rollcall_projection_lag_events", "rollcall_projection_lag_seconds"} {
			if lag := after.must(t, name); lag != 0 {
				return false
			}
		}
		return true
	})
	for _, check := range []struct {
		what string
		got  float64
		want float64
	}{
		{"commit stages observed", after.must(t, "rollcall_import_stage_duration_seconds_count", "stage", "commit"), 1},
		{"emails sent", after.must(t, "rollcall_mail_messages_total", "outcome", "sent") - sentBefore, 1},
		{"send latencies observed", after.must(t, "rollcall_mail_send_duration_seconds_count", "outcome", "sent") - sentBefore, 1},
		{"emails failed", after.must(t, "rollcall_mail_outbox_messages", "state", "failed"), 0},
		{"commit chunks done", after.must(t, "rollcall_jobs", "kind", importing.KindCommitChunk, "state", "done"), people / 5000},
		{"finish jobs done", after.must(t, "rollcall_jobs", "kind", importing.KindFinish, "state", "done"), 1},
		{"jobs waiting", after.must(t, "rollcall_jobs_oldest_pending_age_seconds"), 0},
		{"poisoned events", func() float64 { v, _ := after.get("rollcall_poisoned_events"); return v }(), 0},
	} {
		if check.got != check.want {
			t.Errorf("after the import, %s: %v, want %v", check.what, check.got, check.want)
		}
	}
	t.Logf("validated in %s, committed in %s, every consumer caught up %s later",
		validatedIn.Round(time.Second), committedIn.Round(time.Second), (time.Since(start) - validatedIn - committedIn).Round(time.Second))
	if polls, _ := after.get("rollcall_http_request_duration_seconds_count", "route", "/api/v1/imports/{id}", "method", "GET", "code", "200"); polls < 2 {
		t.Errorf("GET /api/v1/imports/{id} counted %v times", polls)
	}
	for _, s := range after {
		for _, v := range s.labels {
			if strings.Contains(v, id) || strings.Contains(v, "@") {
				t.Errorf("an id or an email became a label: %s%v", s.name, s.labels)
			}
		}
	}
}
