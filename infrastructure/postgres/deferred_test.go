package postgres_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// lockedBuffer is a log sink the consumers' goroutines may write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A read model's writes are queued and sent once a batch. A write the server
// refuses only when the queue is sent (event 2 breaks a CHECK), or a handler
// that panics (event 3), must cost neither the rest of the batch nor apply
// anything twice: the batch is rolled back, applied again one event at a
// time, the two bad events go to the poison queue, and the next batch is
// queued again.
func TestDeferredWritesRedoAFailedBatchSafely(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, codec := newStore(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE strict_handled (n int PRIMARY KEY CHECK (n NOT IN (2, 9)))`); err != nil {
		t.Fatal(err)
	}
	strict := postgres.Consumer{Group: "proj.strict.v1", Deferred: true, Handle: func(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
		n := ev.Data.(somethingHappened).N
		// No ON CONFLICT: applying an event twice would fail the test.
		if _, err := tx.Exec(ctx, `INSERT INTO strict_handled VALUES ($1)`, n); err != nil {
			return err
		}
		if n == 3 {
			panic("handler bug")
		}
		return nil
	}}
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	c, err := postgres.NewConsumers(pool, codec, logger, postgres.ConsumerOptions{PollInterval: 20 * time.Millisecond, MaxRetries: 1, RetryDelay: time.Millisecond}, strict)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})

	appendAll := func(ns ...int) {
		events := make([]eventstore.Event, len(ns))
		for i, n := range ns {
			events[i] = event(n)
		}
		// One append, one transaction: the events reach the consumer in one batch.
		if err := store.Append(ctx, eventstore.Append{StreamID: "strict", ExpectedVersion: eventstore.AnyVersion, Events: events}); err != nil {
			t.Fatal(err)
		}
	}
	caughtUp := func(what string) {
		waitFor(t, what, time.Minute, func() (bool, error) {
			lag, err := postgres.ConsumerLag(ctx, pool, "proj.strict.v1")
			return err == nil && lag[0].Pending == 0, err
		})
	}
	handled := func() string {
		var s string
		if err := pool.QueryRow(ctx, `SELECT coalesce(string_agg(n::text, ',' ORDER BY n), '') FROM strict_handled`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	redone := func() int { return strings.Count(logs.String(), "applying it again one event at a time") }

	appendAll(1, 2, 3, 4, 5, 6)
	caughtUp("the consumer to get past the bad events")
	if got := handled(); got != "1,4,5,6" {
		t.Fatalf("handled %q, want 1,4,5,6", got)
	}
	if n := count(t, pool, `SELECT count(*) FROM poisoned_events WHERE consumer_group = 'proj.strict.v1'`); n != 2 {
		t.Fatalf("%d poisoned events, want 2", n)
	}
	if n := redone(); n != 1 {
		t.Fatalf("the batch was redone %d times, want once:\n%s", n, logs.String())
	}

	// Fast mode is back: a later failure is caught as a doomed batch again
	// (in safe mode it would go straight to the retries).
	appendAll(7, 8, 9, 10)
	caughtUp("the consumer to get past event 9")
	if got := handled(); got != "1,4,5,6,7,8,10" {
		t.Fatalf("handled %q, want 1,4,5,6,7,8,10", got)
	}
	if n := redone(); n != 2 {
		t.Fatalf("fast mode did not come back: %d redone batches, want 2", n)
	}
}
