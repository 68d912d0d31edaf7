package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

type somethingHappened struct {
	Writer int
	N      int
}

func (somethingHappened) EventType() string { return "SomethingHappened" }

func newStore(t *testing.T) (*pgxpool.Pool, *postgres.EventStore, *eventcodec.Registry) {
	t.Helper()
	pool := pgtest.MustOpenDB(t)
	codec := eventcodec.NewRegistry(somethingHappened{})
	store, err := postgres.NewEventStore(pool, codec)
	if err != nil {
		t.Fatal(err)
	}
	return pool, store, codec
}

func event(n int) eventstore.Event {
	return eventstore.Event{ID: uuid.New(), Data: somethingHappened{N: n}, Metadata: eventstore.Metadata{ActorID: "actor-1", OrgID: "org-1", CorrelationID: "corr-1"}}
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestAppendAndLoad(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store, _ := newStore(t)

	first, second := event(1), event(2)
	tests := []struct {
		name     string
		append   eventstore.Append
		wantErr  bool
		wantConc bool
	}{
		{"new stream", eventstore.Append{StreamID: "s-1", ExpectedVersion: eventstore.NoStream, Events: []eventstore.Event{first}}, false, false},
		{"next version", eventstore.Append{StreamID: "s-1", ExpectedVersion: 1, Events: []eventstore.Event{second, event(3)}}, false, false},
		{"stale version", eventstore.Append{StreamID: "s-1", ExpectedVersion: 1, Events: []eventstore.Event{event(4)}}, true, true},
		{"replay of stored events is a no-op", eventstore.Append{StreamID: "s-1", ExpectedVersion: 0, Events: []eventstore.Event{first}}, false, false},
		{"partial replay is refused", eventstore.Append{StreamID: "s-1", ExpectedVersion: 3, Events: []eventstore.Event{first, event(5)}}, true, false},
		{"any version", eventstore.Append{StreamID: "s-1", ExpectedVersion: eventstore.AnyVersion, Events: []eventstore.Event{event(6)}}, false, false},
		{"unregistered event", eventstore.Append{StreamID: "s-1", ExpectedVersion: eventstore.AnyVersion, Events: []eventstore.Event{{ID: uuid.New(), Data: struct{}{}}}}, true, false},
	}
	for _, tt := range tests {
		err := store.Append(ctx, tt.append)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: err = %v, wantErr %v", tt.name, err, tt.wantErr)
		}
		var conc *eventstore.ConcurrencyError
		if errors.As(err, &conc) != tt.wantConc {
			t.Fatalf("%s: concurrency error = %v, want %v", tt.name, err, tt.wantConc)
		}
	}

	got, err := store.Load(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	var ns []int
	for i, r := range got {
		if r.Version != int64(i+1) {
			t.Fatalf("event %d has version %d", i, r.Version)
		}
		if r.Metadata.ActorID != "actor-1" || r.Metadata.OrgID != "org-1" || r.Type != "SomethingHappened" {
			t.Fatalf("event %d: %+v", i, r)
		}
		ns = append(ns, r.Data.(somethingHappened).N)
	}
	if fmt.Sprint(ns) != "[1 2 3 6]" {
		t.Fatalf("loaded %v, want [1 2 3 6]", ns)
	}
	if empty, err := store.Load(ctx, "nope"); err != nil || len(empty) != 0 {
		t.Fatalf("unknown stream: %v, %v", empty, err)
	}
}

func TestConcurrentAppendsWithSameExpectedVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store, _ := newStore(t)
	if err := store.Append(ctx, eventstore.Append{StreamID: "race", Events: []eventstore.Event{event(0)}}); err != nil {
		t.Fatal(err)
	}

	for round := range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = store.Append(ctx, eventstore.Append{
					StreamID: "race", ExpectedVersion: int64(round + 1), Events: []eventstore.Event{event(i)},
				})
			}()
		}
		close(start)
		wg.Wait()

		var wins, conflicts int
		for _, err := range errs {
			var conc *eventstore.ConcurrencyError
			switch {
			case err == nil:
				wins++
			case errors.As(err, &conc):
				conflicts++
				if conc.Expected != int64(round+1) || conc.Actual != int64(round+2) {
					t.Fatalf("round %d: conflict %+v", round, conc)
				}
			default:
				t.Fatalf("round %d: unexpected error %v", round, err)
			}
		}
		if wins != 1 || conflicts != 1 {
			t.Fatalf("round %d: %d wins, %d conflicts; want exactly one of each", round, wins, conflicts)
		}
	}
}

func TestAppendSeveralStreamsAtomically(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, store, _ := newStore(t)
	if err := store.Append(ctx, eventstore.Append{StreamID: "b", Events: []eventstore.Event{event(1)}}); err != nil {
		t.Fatal(err)
	}
	// "b" is at 1, so the whole append fails and "a" stays empty.
	err := store.Append(ctx,
		eventstore.Append{StreamID: "a", ExpectedVersion: eventstore.NoStream, Events: []eventstore.Event{event(2)}},
		eventstore.Append{StreamID: "b", ExpectedVersion: eventstore.NoStream, Events: []eventstore.Event{event(3)}},
	)
	var conc *eventstore.ConcurrencyError
	if !errors.As(err, &conc) || conc.StreamID != "b" {
		t.Fatalf("err = %v, want a conflict on b", err)
	}
	if got, _ := store.Load(ctx, "a"); len(got) != 0 {
		t.Fatalf("stream a has %d events after a failed append", len(got))
	}
}

// orderProjection records every event it is given and flags any stream event
// that does not follow the previous one of its stream.
type orderProjection struct{}

func (orderProjection) Name() string { return "order_check" }
func (orderProjection) Version() int { return 1 }
func (orderProjection) Tables() []string {
	return []string{"seen_events", "seen_streams", "order_violations"}
}
func (orderProjection) Handle(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	if _, err := tx.Exec(ctx, `INSERT INTO seen_events (event_id, stream_id, version) VALUES ($1, $2, $3)`,
		ev.ID, ev.StreamID, ev.Version); err != nil {
		return err
	}
	var last int64
	err := tx.QueryRow(ctx, `SELECT version FROM seen_streams WHERE stream_id = $1`, ev.StreamID).Scan(&last)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if ev.Version != last+1 {
		if _, err := tx.Exec(ctx, `INSERT INTO order_violations VALUES ($1, $2, $3)`, ev.StreamID, last, ev.Version); err != nil {
			return err
		}
	}
	_, err = tx.Exec(ctx, `INSERT INTO seen_streams VALUES ($1, $2) ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version`,
		ev.StreamID, ev.Version)
	return err
}

func createOrderTables(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `
		CREATE TABLE seen_events (event_id uuid, stream_id text, version bigint);
		CREATE TABLE seen_streams (stream_id text PRIMARY KEY, version bigint);
		CREATE TABLE order_violations (stream_id text, previous bigint, got bigint);`)
	if err != nil {
		t.Fatal(err)
	}
}

func runConsumers(t *testing.T, pool *pgxpool.Pool, codec postgres.Codec, consumers ...postgres.Consumer) {
	t.Helper()
	t.Cleanup(startConsumers(t, pool, codec, postgres.ConsumerOptions{PollInterval: 20 * time.Millisecond}, consumers...))
}

// startConsumers runs consumers once they are subscribed; stop cancels
// them and fails the test unless they stop cleanly within a minute. stop
// may be called more than once.
func startConsumers(t *testing.T, pool *pgxpool.Pool, codec postgres.Codec, opts postgres.ConsumerOptions, consumers ...postgres.Consumer) (stop func()) {
	t.Helper()
	c, err := postgres.NewConsumers(pool, codec, discardLogger(), opts, consumers...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("consumers: %v", err)
				}
			case <-time.After(time.Minute):
				t.Error("the consumers did not stop within a minute")
			}
		})
	}
	select {
	case <-c.Running():
	case <-time.After(10 * time.Second):
		stop()
		t.Fatal("consumers did not start")
	}
	return stop
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func count(t *testing.T, pool *pgxpool.Pool, query string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Eight writers append a thousand times each over many streams, pausing at
// random inside their transactions, while a projection runs: it must see every
// event exactly once and each stream in version order.
func TestProjectionSeesEveryEventOnceInStreamOrder(t *testing.T) {
	t.Parallel()
	const writers, appendsEach, streams = 8, 1000, 40
	ctx := context.Background()
	pool, store, codec := newStore(t)
	createOrderTables(t, pool)
	runConsumers(t, pool, codec, postgres.ProjectionConsumer(orderProjection{}))

	g, ctx := errgroup.WithContext(ctx)
	for w := range writers {
		g.Go(func() error {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for n := range appendsEach {
				stream := fmt.Sprintf("stream-%d", rng.IntN(streams))
				if err := appendWithPause(ctx, pool, store, stream, w, n, rng); err != nil {
					return fmt.Errorf("writer %d append %d: %w", w, n, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}

	const total = writers * appendsEach
	waitFor(t, "the projection to see every event", 2*time.Minute, func() (bool, error) {
		return count(t, pool, `SELECT count(*) FROM seen_events`) >= total, nil
	})
	if n := count(t, pool, `SELECT count(*) FROM seen_events`); n != total {
		t.Fatalf("projection handled %d events, want %d", n, total)
	}
	if n := count(t, pool, `SELECT count(DISTINCT event_id) FROM seen_events`); n != total {
		t.Fatalf("projection saw %d distinct events, want %d", n, total)
	}
	if n := count(t, pool, `SELECT count(*) FROM order_violations`); n != 0 {
		t.Fatalf("%d events arrived out of their stream's version order", n)
	}
	if n := count(t, pool, `SELECT count(*) FROM events`); n != total {
		t.Fatalf("store holds %d events, want %d", n, total)
	}
}

// appendWithPause reads the stream's version, appends with it as the expected
// version, and sleeps inside the transaction before committing; a conflict
// is retried the way a command handler would.
func appendWithPause(ctx context.Context, pool *pgxpool.Pool, store *postgres.EventStore, stream string, writer, n int, rng *rand.Rand) error {
	for {
		var version int64
		err := pool.QueryRow(ctx, `SELECT coalesce(max(stream_version), 0) FROM events WHERE stream_id = $1`, stream).Scan(&version)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if err := store.AppendTx(ctx, tx, eventstore.Append{
				StreamID: stream, ExpectedVersion: version,
				Events: []eventstore.Event{{ID: uuid.New(), Data: somethingHappened{Writer: writer, N: n}}},
			}); err != nil {
				return err
			}
			if rng.IntN(4) == 0 {
				time.Sleep(time.Duration(rng.IntN(3000)) * time.Microsecond)
			}
			return nil
		})
		var conc *eventstore.ConcurrencyError
		if errors.As(err, &conc) {
			continue
		}
		return err
	}
}

func TestRebuiltProjectionMatchesLiveOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, codec := newStore(t)
	createOrderTables(t, pool)
	runConsumers(t, pool, codec, postgres.ProjectionConsumer(orderProjection{}))

	for i := range 300 {
		stream := fmt.Sprintf("s-%d", i%7)
		if err := store.Append(ctx, eventstore.Append{StreamID: stream, ExpectedVersion: eventstore.AnyVersion, Events: []eventstore.Event{event(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the live projection", time.Minute, func() (bool, error) {
		lag, err := postgres.ConsumerLag(ctx, pool, postgres.ProjectionGroup(orderProjection{}))
		return err == nil && lag[0].Pending == 0, err
	})
	before := snapshot(t, pool)
	// Damage the read model, so a rebuild that does nothing cannot pass.
	if _, err := pool.Exec(ctx, `DELETE FROM seen_events WHERE version % 2 = 0; UPDATE seen_streams SET version = -1`); err != nil {
		t.Fatal(err)
	}
	if snapshot(t, pool) == before {
		t.Fatal("the damage did not change the read model")
	}

	// Rebuild while the live consumer keeps running, as an operator would.
	if err := postgres.RebuildProjection(ctx, pool, codec, discardLogger(), postgres.ConsumerOptions{PollInterval: 20 * time.Millisecond}, orderProjection{}); err != nil {
		t.Fatal(err)
	}
	after := snapshot(t, pool)
	if before != after {
		t.Fatalf("rebuilt rows differ from the live ones:\nlive:    %.300s\nrebuilt: %.300s", before, after)
	}
	if n := count(t, pool, `SELECT count(*) FROM seen_events`); n != 300 {
		t.Fatalf("rebuilt projection has %d rows, want 300", n)
	}
}

func snapshot(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var s string
	err := pool.QueryRow(context.Background(), `
		SELECT coalesce(string_agg(event_id::text || '/' || stream_id || '/' || version, ',' ORDER BY event_id), '') FROM seen_events`).Scan(&s)
	if err != nil {
		t.Fatal(err)
	}
	var streams string
	if err := pool.QueryRow(context.Background(), `
		SELECT coalesce(string_agg(stream_id || '=' || version, ',' ORDER BY stream_id), '') FROM seen_streams`).Scan(&streams); err != nil {
		t.Fatal(err)
	}
	return s + "|" + streams
}

// A handler that keeps failing on one event gives up after its retries,
// records the event as poisoned, and goes on with the next ones.
func TestPoisonedEventIsRecordedAndSkipped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, codec := newStore(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE handled (n int)`); err != nil {
		t.Fatal(err)
	}
	var attempts sync.Map
	flaky := postgres.Consumer{Group: "proj.flaky.v1", Handle: func(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
		n := ev.Data.(somethingHappened).N
		if _, err := tx.Exec(ctx, `INSERT INTO handled VALUES ($1)`, n); err != nil {
			return err
		}
		if n == 2 {
			v, _ := attempts.LoadOrStore(n, new(int))
			*v.(*int)++
			if _, err := tx.Exec(ctx, `SELECT 1/0`); err != nil { // a real database error inside the handler
				return err
			}
		}
		if n == 3 {
			panic("handler bug")
		}
		return nil
	}}
	c, err := postgres.NewConsumers(pool, codec, discardLogger(), postgres.ConsumerOptions{PollInterval: 20 * time.Millisecond, MaxRetries: 2, RetryDelay: time.Millisecond}, flaky)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = c.Run(runCtx) }()

	for n := 1; n <= 4; n++ {
		if err := store.Append(ctx, eventstore.Append{StreamID: "p", ExpectedVersion: eventstore.AnyVersion, Events: []eventstore.Event{event(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the consumer to pass the poisoned events", time.Minute, func() (bool, error) {
		lag, err := postgres.ConsumerLag(ctx, pool, "proj.flaky.v1")
		return err == nil && lag[0].Pending == 0, err
	})
	// The failed attempts were rolled back to their savepoints: only the good
	// events left rows.
	var handled string
	if err := pool.QueryRow(ctx, `SELECT string_agg(n::text, ',' ORDER BY n) FROM handled`).Scan(&handled); err != nil {
		t.Fatal(err)
	}
	if handled != "1,4" {
		t.Fatalf("handled rows %q, want 1,4", handled)
	}
	if n := count(t, pool, `SELECT count(*) FROM poisoned_events WHERE consumer_group = 'proj.flaky.v1'`); n != 2 {
		t.Fatalf("%d poisoned events recorded, want 2", n)
	}
	if v, _ := attempts.Load(2); *v.(*int) != 3 {
		t.Fatalf("event 2 was tried %d times, want 1 + 2 retries", *v.(*int))
	}
}
