package metrics

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// scrapeTimeout bounds the database reads of one scrape; Prometheus' own
// default scrape timeout is 10s.
const scrapeTimeout = 5 * time.Second

// dbCollector reads, at scrape time, what only the database knows. Two
// statements sent in one round trip; each reads an index or a small table:
//
//   - jobs by kind and state, and the oldest due pending job (jobs holds two
//     rows per import);
//   - the outbox rows not yet sent, by state, and the oldest due one (the
//     partial index mail_outbox_claim, plus mail_outbox_failed from 00040;
//     sent rows are never counted: they pile up, and
//     rollcall_mail_messages_total counts them as they go);
//   - poisoned events by consumer group (a handful of rows, or none);
//   - per consumer group, the events after its checkpoint and the age of the
//     oldest of them (a range scan of the events' primary key, which is empty
//     when the group has caught up).
type dbCollector struct {
	pool   *pgxpool.Pool
	groups []string
	logger *slog.Logger

	jobs, jobOldest, outbox, outboxOldest, poisoned, lagEvents, lagSeconds *prometheus.Desc
}

func newDBCollector(pool *pgxpool.Pool, groups []string, logger *slog.Logger) *dbCollector {
	name := func(n string) string { return prometheus.BuildFQName(namespace, "", n) }
	return &dbCollector{
		pool: pool, groups: groups, logger: logger,
		jobs: prometheus.NewDesc(name("jobs"),
			"Background jobs by kind and state (pending, running, done, failed).", []string{"kind", "state"}, nil),
		jobOldest: prometheus.NewDesc(name("jobs_oldest_pending_age_seconds"),
			"How long the oldest due pending job has waited for a worker; 0 when none waits.", nil, nil),
		outbox: prometheus.NewDesc(name("mail_outbox_messages"),
			"Emails in the outbox not yet sent, by state (pending, sending, failed).", []string{"state"}, nil),
		outboxOldest: prometheus.NewDesc(name("mail_outbox_oldest_pending_age_seconds"),
			"How long the oldest due pending email has waited; 0 when none waits.", nil, nil),
		poisoned: prometheus.NewDesc(name("poisoned_events"),
			"Events a consumer gave up on after its retries (rows of poisoned_events).", []string{"consumer_group"}, nil),
		lagEvents: prometheus.NewDesc(name("projection_lag_events"),
			"Stored events a consumer group has not processed yet.", []string{"consumer_group"}, nil),
		lagSeconds: prometheus.NewDesc(name("projection_lag_seconds"),
			"Age of the oldest event a consumer group has not processed yet; 0 when it has caught up.", []string{"consumer_group"}, nil),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.jobs, c.jobOldest, c.outbox, c.outboxOldest, c.poisoned, c.lagEvents, c.lagSeconds} {
		ch <- d
	}
}

const countsSQL = `
	SELECT 'jobs', kind, state, count(*)::float8 FROM jobs GROUP BY kind, state
	UNION ALL
	SELECT 'jobs_oldest', '', '', coalesce(extract(epoch FROM now() - min(run_after)), 0)::float8
	  FROM jobs WHERE state = 'pending' AND run_after <= now()
	UNION ALL
	SELECT 'outbox', state, '', count(*)::float8 FROM mail_outbox WHERE state IN ('pending', 'sending') GROUP BY state
	UNION ALL
	SELECT 'outbox', 'failed', '', count(*)::float8 FROM mail_outbox WHERE state = 'failed'
	UNION ALL
	SELECT 'outbox_oldest', '', '', coalesce(extract(epoch FROM now() - min(next_attempt_at)), 0)::float8
	  FROM mail_outbox WHERE state = 'pending' AND next_attempt_at <= now()
	UNION ALL
	SELECT 'poisoned', consumer_group, '', count(*)::float8 FROM poisoned_events GROUP BY consumer_group`

// lagSQL mirrors watermill-sql's own notion of "after the checkpoint": a
// later transaction, or the same one at a later offset, written as a row
// comparison so that it is a range of the (transaction_id, offset) index (a
// group without a checkpoint is behind every event: transaction ids start
// above 0).
const lagSQL = `
	SELECT g.name,
	  (SELECT count(*) FROM events e
	    WHERE (e.transaction_id, e."offset") > (coalesce(c.last_processed_transaction_id, '0'), coalesce(c.offset_acked, 0)))::float8,
	  coalesce(extract(epoch FROM now() - (
	    SELECT e.created_at FROM events e
	    WHERE (e.transaction_id, e."offset") > (coalesce(c.last_processed_transaction_id, '0'), coalesce(c.offset_acked, 0))
	    ORDER BY e.transaction_id, e."offset" LIMIT 1)), 0)::float8
	FROM unnest($1::text[]) AS g(name)
	LEFT JOIN event_checkpoints c ON c.consumer_group = g.name`

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	if err := c.collect(ctx, ch); err != nil {
		c.logger.Warn("metrics: could not read the database", "err", err)
		ch <- prometheus.NewInvalidMetric(c.jobs, err)
	}
}

func (c *dbCollector) collect(ctx context.Context, ch chan<- prometheus.Metric) error {
	batch := &pgx.Batch{}
	batch.Queue(countsSQL)
	batch.Queue(lagSQL, c.groups)
	results := c.pool.SendBatch(ctx, batch)
	defer results.Close()

	rows, err := results.Query()
	if err != nil {
		return fmt.Errorf("counts: %w", err)
	}
	// A state with no rows is absent from GROUP BY: report it as 0 so a
	// drained queue reads 0, not "no data".
	outbox := map[string]float64{"pending": 0, "sending": 0, "failed": 0}
	var what, a, b string
	var v float64
	_, err = pgx.ForEachRow(rows, []any{&what, &a, &b, &v}, func() error {
		switch what {
		case "jobs":
			ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, v, a, b)
		case "jobs_oldest":
			ch <- prometheus.MustNewConstMetric(c.jobOldest, prometheus.GaugeValue, max(v, 0))
		case "outbox":
			outbox[a] = v
		case "outbox_oldest":
			ch <- prometheus.MustNewConstMetric(c.outboxOldest, prometheus.GaugeValue, max(v, 0))
		case "poisoned":
			ch <- prometheus.MustNewConstMetric(c.poisoned, prometheus.GaugeValue, v, a)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("counts: %w", err)
	}
	for state, n := range outbox {
		ch <- prometheus.MustNewConstMetric(c.outbox, prometheus.GaugeValue, n, state)
	}

	rows, err = results.Query()
	if err != nil {
		return fmt.Errorf("lag: %w", err)
	}
	var group string
	var events, seconds float64
	_, err = pgx.ForEachRow(rows, []any{&group, &events, &seconds}, func() error {
		ch <- prometheus.MustNewConstMetric(c.lagEvents, prometheus.GaugeValue, events, group)
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, max(seconds, 0), group)
		return nil
	})
	if err != nil {
		return fmt.Errorf("lag: %w", err)
	}
	return nil
}
