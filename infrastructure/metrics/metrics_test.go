package metrics

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// values gathers every sample as "name{label="value",…}" → value; a
// histogram gives its _count.
func values(t *testing.T, m *Metrics) map[string]float64 {
	t.Helper()
	families, err := m.Registry().Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, s := range f.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := f.GetName()
			if len(labels) > 0 {
				key += "{" + strings.Join(labels, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = s.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = s.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key+"_count"] = float64(s.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

type fixedHashing int

func (f fixedHashing) InFlight() int { return int(f) }

func TestProcessMetrics(t *testing.T) {
	t.Parallel()
	m := New(Options{Hashing: fixedHashing(3)})
	m.RowsValidated(1000)
	m.RowsValidated(500)
	m.AccountsCommitted(40, 2)
	m.StageFinished("validate", 2*time.Second)
	m.MailSent(time.Millisecond)
	m.MailSent(time.Millisecond)
	m.MailDeferred(time.Millisecond)
	m.MailFailed(time.Millisecond)
	m.RelayPaused()

	got := values(t, m)
	for key, want := range map[string]float64{
		`rollcall_import_rows_validated_total`:                           1500,
		`rollcall_import_accounts_committed_total{outcome="created"}`:    40,
		`rollcall_import_accounts_committed_total{outcome="updated"}`:    2,
		`rollcall_import_stage_duration_seconds{stage="validate"}_count`: 1,
		`rollcall_mail_messages_total{outcome="sent"}`:                   2,
		`rollcall_mail_messages_total{outcome="deferred"}`:               1,
		`rollcall_mail_messages_total{outcome="failed"}`:                 1,
		`rollcall_mail_send_duration_seconds{outcome="sent"}_count`:      2,
		`rollcall_mail_relay_pauses_total`:                               1,
		`rollcall_password_hashes_in_flight`:                             3,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	// Without a pool there are no database gauges, and the handler still
	// serves.
	if _, ok := got["rollcall_mail_outbox_messages{state=\"pending\"}"]; ok {
		t.Error("database gauges without a database")
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "rollcall_import_rows_validated_total 1500") {
		t.Errorf("handler: %d\n%s", rec.Code, rec.Body.String())
	}
}

func TestHTTPRequestsByRouteMethodAndCode(t *testing.T) {
	t.Parallel()
	m := New(Options{})
	for _, req := range []struct {
		route, method string
		code          int
	}{
		{"/api/v1/imports/{id}", "GET", 404},
		{"/api/v1/imports/{id}", "GET", 404},
		{"/healthz", "BREW", 200},
		{"/healthz", "GET", 200},
	} {
		m.ObserveRequest(req.route, req.method, req.code, time.Millisecond)
	}
	got := values(t, m)
	for key, want := range map[string]float64{
		`rollcall_http_request_duration_seconds{code="404",method="GET",route="/api/v1/imports/{id}"}_count`: 2,
		`rollcall_http_request_duration_seconds{code="200",method="GET",route="/healthz"}_count`:             1,
		`rollcall_http_request_duration_seconds{code="200",method="other",route="/healthz"}_count`:           1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
}

func TestDatabaseGauges(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	org := "00000000-0000-7000-8000-000000000001"
	exec(`INSERT INTO jobs (id, kind, state, run_after) VALUES
		(gen_random_uuid(), 'commit_import', 'pending', now() - interval '90 seconds'),
		(gen_random_uuid(), 'commit_import', 'pending', now() + interval '1 hour'),
		(gen_random_uuid(), 'commit_import', 'running', now()),
		(gen_random_uuid(), 'validate_import', 'done', now()),
		(gen_random_uuid(), 'validate_import', 'done', now())`)
	for i, state := range []string{"pending", "pending", "failed", "sent", "sent", "sent"} {
		exec(`INSERT INTO mail_outbox (id, org_id, idempotency_key, to_address, subject, text_body, message_id, state, next_attempt_at)
			VALUES (gen_random_uuid(), $1, $2, 'a@example.org', 's', 't', 'm', $3, now() - interval '30 seconds')`, org, fmt.Sprintf("k%d", i), state)
	}
	exec(`INSERT INTO poisoned_events (consumer_group, event_uuid, reason) VALUES ('proj.accounts.v1', 'e1', 'boom'), ('proj.accounts.v1', 'e2', 'boom')`)
	// Three events in three transactions, recorded an hour ago.
	for i := 1; i <= 3; i++ {
		exec(`INSERT INTO events (uuid, stream_id, stream_version, event_type, payload, created_at)
			VALUES ($1, 'import-x', $2, 'Test', '{}', now() - interval '1 hour')`, fmt.Sprintf("ev%d", i), i)
	}
	// behind has processed the first event, caught has processed them all,
	// fresh has never run.
	exec(`INSERT INTO event_checkpoints (consumer_group, offset_acked, last_processed_transaction_id)
		SELECT 'proj.behind.v1', "offset", transaction_id FROM events WHERE uuid = 'ev1'`)
	exec(`INSERT INTO event_checkpoints (consumer_group, offset_acked, last_processed_transaction_id)
		SELECT 'proj.caught.v1', "offset", transaction_id FROM events WHERE uuid = 'ev3'`)
	exec(`INSERT INTO event_checkpoints (consumer_group, offset_acked, last_processed_transaction_id) VALUES ('proj.retired.v0', 0, '0')`)

	m := New(Options{Pool: pool, ConsumerGroups: []string{"proj.behind.v1", "proj.caught.v1", "proj.fresh.v1"}})
	got := values(t, m)
	for key, want := range map[string]float64{
		`rollcall_jobs{kind="commit_import",state="pending"}`:              2,
		`rollcall_jobs{kind="commit_import",state="running"}`:              1,
		`rollcall_jobs{kind="validate_import",state="done"}`:               2,
		`rollcall_mail_outbox_messages{state="pending"}`:                   2,
		`rollcall_mail_outbox_messages{state="sending"}`:                   0,
		`rollcall_mail_outbox_messages{state="failed"}`:                    1,
		`rollcall_poisoned_events{consumer_group="proj.accounts.v1"}`:      2,
		`rollcall_projection_lag_events{consumer_group="proj.behind.v1"}`:  2,
		`rollcall_projection_lag_events{consumer_group="proj.caught.v1"}`:  0,
		`rollcall_projection_lag_events{consumer_group="proj.fresh.v1"}`:   3,
		`rollcall_projection_lag_seconds{consumer_group="proj.caught.v1"}`: 0,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
	for key, around := range map[string]float64{
		`rollcall_jobs_oldest_pending_age_seconds`:                         90,
		`rollcall_mail_outbox_oldest_pending_age_seconds`:                  30,
		`rollcall_projection_lag_seconds{consumer_group="proj.behind.v1"}`: 3600,
		`rollcall_projection_lag_seconds{consumer_group="proj.fresh.v1"}`:  3600,
	} {
		if v := got[key]; v < around || v > around+60 {
			t.Errorf("%s = %v, want about %v", key, v, around)
		}
	}
	for key := range got {
		if strings.Contains(key, "retired") {
			t.Errorf("a group not asked for is reported: %s", key)
		}
	}
}

func TestDatabaseDownStillServesTheRest(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	m := New(Options{Pool: pool})
	pool.Close()
	m.RowsValidated(7)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), "rollcall_import_rows_validated_total 7") {
		t.Errorf("%d\n%s", rec.Code, rec.Body.String())
	}
}
