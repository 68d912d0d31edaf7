package mail

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// BenchmarkDispatcher sends emails from the outbox to the in-process SMTP
// server (mailtest) through SMTPSender, as `rollcall serve` does, and
// reports messages/s. MAIL_BENCH_RATE (emails a second) and
// MAIL_BENCH_WORKERS set the dispatcher's rate limit and workers;
// MAIL_BENCH_N the number of emails per run (default 5,000);
// MAIL_BENCH_UNHELD=1 makes each worker wait for its record before its next
// message instead of before the end of it (for comparison). Figures in
// docs/benchmarks.md.
func BenchmarkDispatcher(b *testing.B) {
	n := envOr(b, "MAIL_BENCH_N", 5000)
	workers := envOr(b, "MAIL_BENCH_WORKERS", 0)
	rate := 0.0
	if v := os.Getenv("MAIL_BENCH_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil {
			b.Fatal(err)
		}
	}
	pool, server := pgtest.MustOpenDB(b), mailtest.Start(b)
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		msgs := make([]Message, n)
		for j := range msgs {
			msgs[j] = welcome(i*n + j)
		}
		enqueue(b, pool, msgs...)
		sender, err := NewSMTPSender(server.URL(), testMailFrom)
		if err != nil {
			b.Fatal(err)
		}
		var offered Sender = sender
		if os.Getenv("MAIL_BENCH_UNHELD") != "" {
			// Hides SendWhenReady: each worker waits for its record
			// before the next message, as the dispatcher did first.
			offered = struct{ Sender }{sender}
		}
		d, err := NewDispatcher(pool, offered, quietLogger(), DispatcherOptions{Poll: 10 * time.Millisecond, Workers: workers, Rate: rate})
		if err != nil {
			b.Fatal(err)
		}
		commitsBefore := commits(b, pool)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		start := time.Now()
		wg.Go(func() { _ = d.Run(ctx) })
		server.WaitFor(b, (i+1)*n, 10*time.Minute)
		took := time.Since(start)
		total += took
		cancel()
		wg.Wait()
		_ = sender.Close()
		b.Logf("%d emails in %s: %.0f/s, %.2f database commits an email", n, took.Round(time.Millisecond), float64(n)/took.Seconds(),
			float64(commits(b, pool)-commitsBefore)/float64(n))
	}
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "msgs/s")
}

// commits is the database's count of committed transactions. Backends
// report theirs to the statistics within a second of going idle, hence the
// wait (outside the timed part).
func commits(b *testing.B, pool *pgxpool.Pool) int64 {
	time.Sleep(1500 * time.Millisecond)
	var n int64
	if err := pool.QueryRow(context.Background(), `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

func envOr(b *testing.B, name string, fallback int) int {
	v := os.Getenv(name)
	if v == "" {
		return fallback
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		b.Fatal(fmt.Errorf("%s: %w", name, err))
	}
	return n
}
