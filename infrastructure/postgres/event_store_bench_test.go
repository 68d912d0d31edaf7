package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// The event store's speed, figures in docs/benchmarks.md. Each benchmark
// reports the unit the targets are written in (commits/s, events/s).

func benchStore(b *testing.B) (*pgxpool.Pool, *postgres.EventStore, *eventcodec.Registry) {
	b.Helper()
	pool := pgtest.MustOpenDB(b)
	codec := eventcodec.NewRegistry(somethingHappened{})
	store, err := postgres.NewEventStore(pool, codec)
	if err != nil {
		b.Fatal(err)
	}
	return pool, store, codec
}

// BenchmarkAppendSingleEvent: one event per transaction, each on a stream
// that already exists (the stream row is locked and bumped every time), as
// a wizard step does.
func BenchmarkAppendSingleEvent(b *testing.B) {
	ctx := context.Background()
	_, store, _ := benchStore(b)
	const streams = 100
	versions := make([]int64, streams)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		s := i % streams
		if err := store.Append(ctx, eventstore.Append{StreamID: fmt.Sprintf("import-%d", s), ExpectedVersion: versions[s],
			Events: []eventstore.Event{event(i)}}); err != nil {
			b.Fatal(err)
		}
		versions[s]++
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "commits/s")
}

// BenchmarkAppendBatch: 1,000 events in one transaction, spread over 100
// streams as a commit batch of account streams is.
func BenchmarkAppendBatch(b *testing.B) {
	ctx := context.Background()
	_, store, _ := benchStore(b)
	const perTx, streamsPerTx = 1000, 100
	var elapsed time.Duration
	for i := 0; i < b.N; i++ {
		// The events are made outside the measured time: the figure is the
		// store's (encoding, locking, inserting), not the test's.
		b.StopTimer()
		appends := make([]eventstore.Append, streamsPerTx)
		for s := range appends {
			events := make([]eventstore.Event, perTx/streamsPerTx)
			for e := range events {
				events[e] = event(e)
			}
			appends[s] = eventstore.Append{StreamID: fmt.Sprintf("account-%d-%d", i, s), ExpectedVersion: eventstore.NoStream, Events: events}
		}
		b.StartTimer()
		start := time.Now()
		if err := store.Append(ctx, appends...); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
	}
	b.ReportMetric(float64(b.N*perTx)/elapsed.Seconds(), "events/s")
}

// countingProjection does the least a read model can: one upsert an event.
type countingProjection struct{}

func (countingProjection) Name() string     { return "bench_count" }
func (countingProjection) Version() int     { return 1 }
func (countingProjection) Tables() []string { return []string{"bench_counts"} }
func (countingProjection) Handle(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	_, err := tx.Exec(ctx, `INSERT INTO bench_counts (stream_id, version) VALUES ($1, $2)
		ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version WHERE bench_counts.version < excluded.version`, ev.StreamID, ev.Version)
	return err
}

// BenchmarkProjectionCatchUp: a projection started behind b.N stored events
// (a rebuild, or a new read model) until it has applied all of them.
func BenchmarkProjectionCatchUp(b *testing.B) {
	ctx := context.Background()
	pool, store, codec := benchStore(b)
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_counts (stream_id text PRIMARY KEY, version bigint NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	const streams = 200
	for done := 0; done < b.N; {
		n := min(1000, b.N-done)
		appends := make([]eventstore.Append, 0, streams)
		for e := range n {
			s := (done + e) % streams
			if len(appends) <= s {
				appends = append(appends, eventstore.Append{StreamID: fmt.Sprintf("s-%d", s), ExpectedVersion: eventstore.AnyVersion})
			}
			appends[s].Events = append(appends[s].Events, eventstore.Event{ID: uuid.New(), Data: somethingHappened{N: done + e}})
		}
		if err := store.Append(ctx, appends...); err != nil {
			b.Fatal(err)
		}
		done += n
	}

	consumers, err := postgres.NewConsumers(pool, codec, discardLogger(), postgres.ConsumerOptions{PollInterval: 5 * time.Millisecond},
		postgres.ProjectionConsumer(countingProjection{}))
	if err != nil {
		b.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	b.ResetTimer()
	start := time.Now()
	go func() { stopped <- consumers.Run(runCtx) }()
	// Every stream's last version adds up to b.N once all are applied; a
	// sum over 200 rows costs the projection nothing, where counting the
	// lag on the events table would compete with it.
	for {
		var applied int
		if err := pool.QueryRow(ctx, `SELECT coalesce(sum(version), 0) FROM bench_counts`).Scan(&applied); err != nil {
			b.Fatal(err)
		}
		if applied == b.N {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	if err := <-stopped; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}
