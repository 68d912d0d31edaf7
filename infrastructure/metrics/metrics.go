// Package metrics exposes Rollcall's Prometheus metrics
// (github.com/prometheus/client_golang) on a listener of its own
// (METRICS_ADDR), apart from the public HTTP service.
//
// Names follow Prometheus practice: one rollcall_ prefix, base units
// (seconds), _total on counters, and no label that grows with the data (never
// an email, an organization, an import or an account id). Two kinds of
// metric live here:
//
//   - what this process does, counted as it happens: rows validated,
//     accounts committed, import stages, HTTP requests, emails sent, argon2
//     hashes in flight;
//   - what the database holds, read when Prometheus scrapes (dbCollector):
//     jobs, the mail outbox, projection lag, poisoned events. Every process
//     reports the same values for these, so alert on max(), not sum().
//
// docs/operations.md lists every metric with sample alerts.
package metrics

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "rollcall"

// Hashing tells how many argon2 hashes run right now
// (infrastructure/password.Hasher).
type Hashing interface {
	InFlight() int
}

// Options say what to measure beyond what the process reports itself.
type Options struct {
	// Pool, when set, is read at each scrape for the jobs, the outbox, the
	// projection lag and the poisoned events.
	Pool *pgxpool.Pool
	// ConsumerGroups are the consumer groups whose lag is reported (the
	// projections' and the sagas'). Groups of retired projection versions
	// are left out on purpose: they would lag forever.
	ConsumerGroups []string
	// Hashing, when set, feeds rollcall_password_hashes_in_flight.
	Hashing Hashing
	// Logger hears about scrapes that could not read the database.
	Logger *slog.Logger
}

// Metrics holds the collectors, on a registry of its own so that tests can
// make as many as they like.
type Metrics struct {
	registry *prometheus.Registry

	rowsValidated     prometheus.Counter
	accountsCommitted *prometheus.CounterVec
	stageSeconds      *prometheus.HistogramVec
	httpSeconds       *prometheus.HistogramVec
	mailSeconds       *prometheus.HistogramVec
	mailMessages      *prometheus.CounterVec
	relayPauses       prometheus.Counter
}

// New makes the metrics and registers them.
func New(opts Options) *Metrics {
	m := &Metrics{registry: prometheus.NewRegistry()}
	m.rowsValidated = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "import_rows_validated_total",
		Help: "Rows of uploaded files checked by the validation jobs (blank rows included).",
	})
	m.accountsCommitted = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "import_accounts_committed_total",
		Help: "Accounts written by the commit jobs, by outcome (created, updated).",
	}, []string{"outcome"})
	m.stageSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "import_stage_duration_seconds",
		Help: "Wall time of an import stage's job run that finished the stage (validate, commit).",
		// From a 10-row file (tens of ms) to a million rows (minutes).
		Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 12),
	}, []string{"stage"})
	m.httpSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "http_request_duration_seconds",
		Help:    "HTTP requests by route template, method and status code.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
	}, []string{"route", "method", "code"})
	m.mailSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: namespace, Name: "mail_send_duration_seconds",
		Help:    "Time to hand one email to the SMTP relay, by outcome (sent, deferred, failed).",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"outcome"})
	m.mailMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: namespace, Name: "mail_messages_total",
		Help: "Emails offered to the relay, by outcome: sent (accepted), deferred (to be tried again), failed (given up).",
	}, []string{"outcome"})
	m.relayPauses = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: namespace, Name: "mail_relay_pauses_total",
		Help: "Times the dispatcher stopped every mail worker because the relay answered with a temporary refusal.",
	})
	// Counters with known labels start at zero rather than appear at their
	// first increment, so rate() sees the first one.
	for _, o := range []string{"created", "updated"} {
		m.accountsCommitted.WithLabelValues(o)
	}
	for _, o := range []string{"sent", "deferred", "failed"} {
		m.mailMessages.WithLabelValues(o)
	}
	m.registry.MustRegister(m.rowsValidated, m.accountsCommitted, m.stageSeconds, m.httpSeconds,
		m.mailSeconds, m.mailMessages, m.relayPauses,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Hashing != nil {
		m.registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: namespace, Name: "password_hashes_in_flight",
			Help: "argon2id hashes being computed right now (sign-ins, password changes, commits).",
		}, func() float64 { return float64(opts.Hashing.InFlight()) }))
	}
	if opts.Pool != nil {
		logger := opts.Logger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		m.registry.MustRegister(newDBCollector(opts.Pool, opts.ConsumerGroups, logger))
	}
	return m
}

// Handler serves the metrics in Prometheus' text format. A scrape whose
// database part failed still returns the rest.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, Registry: m.registry})
}

// Registry is for tests that read values directly.
func (m *Metrics) Registry() *prometheus.Registry { return m.registry }

// RowsValidated counts rows checked by a validation batch.
func (m *Metrics) RowsValidated(n int) { m.rowsValidated.Add(float64(n)) }

// AccountsCommitted counts the accounts a commit batch created and updated.
func (m *Metrics) AccountsCommitted(created, updated int) {
	m.accountsCommitted.WithLabelValues("created").Add(float64(created))
	m.accountsCommitted.WithLabelValues("updated").Add(float64(updated))
}

// StageFinished records how long the job run that finished an import stage
// took ("validate", "commit").
func (m *Metrics) StageFinished(stage string, took time.Duration) {
	m.stageSeconds.WithLabelValues(stage).Observe(took.Seconds())
}

// MailSent, MailDeferred and MailFailed record one offer of an email to the
// relay and how long it took.
func (m *Metrics) MailSent(took time.Duration)     { m.mail("sent", took) }
func (m *Metrics) MailDeferred(took time.Duration) { m.mail("deferred", took) }
func (m *Metrics) MailFailed(took time.Duration)   { m.mail("failed", took) }

func (m *Metrics) mail(outcome string, took time.Duration) {
	m.mailMessages.WithLabelValues(outcome).Inc()
	m.mailSeconds.WithLabelValues(outcome).Observe(took.Seconds())
}

// RelayPaused counts a pause of every mail worker.
func (m *Metrics) RelayPaused() { m.relayPauses.Inc() }

// ObserveRequest times a request under its route's template, never its
// path, so ids do not become labels (ports/http.Observe calls it).
func (m *Metrics) ObserveRequest(route, verb string, code int, took time.Duration) {
	m.httpSeconds.WithLabelValues(route, method(verb), strconv.Itoa(code)).Observe(took.Seconds())
}

// method keeps the label to the methods HTTP defines: a client sending
// made-up methods must not create series.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
