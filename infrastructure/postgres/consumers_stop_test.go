package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// TestStoppingWhileAHandlerWrites: the consumers stop while a handler is in
// the middle of a statement on the subscriber's transaction. watermill-sql
// ends that transaction as soon as it stops waiting for the handler, from
// its own goroutine; two goroutines on one connection made pgx panic ("slow
// write timer already active") and took the process down. Stopping must
// wait for the handler, lose nothing and apply nothing twice: the event
// comes again after a restart.
func TestStoppingWhileAHandlerWrites(t *testing.T) {
	t.Parallel()
	for _, deferred := range []bool{false, true} {
		t.Run(fmt.Sprintf("deferred=%v", deferred), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, store, codec := newStore(t)
			if _, err := pool.Exec(ctx, `CREATE TABLE slow_handled (n int PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			started := make(chan struct{}, 1)
			slow := postgres.Consumer{Group: "proj.slow.v1", Deferred: deferred, Handle: func(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
				select {
				case started <- struct{}{}:
				default:
				}
				// A long statement, then a write: whichever the stop lands
				// on, the connection is in use by this goroutine.
				if _, err := tx.Exec(ctx, `SELECT pg_sleep(0.001)`); err != nil {
					return err
				}
				var one int
				if err := tx.QueryRow(ctx, `SELECT 1 FROM pg_sleep(0.001)`).Scan(&one); err != nil {
					return err
				}
				// No ON CONFLICT: applying an event twice fails the test.
				_, err := tx.Exec(ctx, `INSERT INTO slow_handled VALUES ($1)`, ev.Data.(somethingHappened).N)
				return err
			}}
			const rounds, perRound = 12, 100
			for round := 1; round <= rounds; round++ {
				var events []eventstore.Event
				for n := range perRound {
					events = append(events, event(round*1000+n))
				}
				if err := store.Append(ctx, eventstore.Append{StreamID: "slow", ExpectedVersion: eventstore.AnyVersion, Events: events}); err != nil {
					t.Fatal(err)
				}
				c, err := postgres.NewConsumers(pool, codec, discardLogger(), postgres.ConsumerOptions{PollInterval: 10 * time.Millisecond, MaxRetries: 1, RetryDelay: time.Millisecond}, slow)
				if err != nil {
					t.Fatal(err)
				}
				runCtx, cancel := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { done <- c.Run(runCtx) }()
				select {
				case <-started:
				case <-time.After(time.Minute):
					t.Fatal("the handler never started")
				}
				// Stop at a different point of the handler each round.
				time.Sleep(time.Duration(round-1) * 37 * time.Millisecond)
				cancel()
				select {
				case err := <-done:
					if err != nil {
						t.Fatalf("round %d: %v", round, err)
					}
				case <-time.After(time.Minute):
					t.Fatalf("round %d: the consumers did not stop", round)
				}
				for len(started) > 0 {
					<-started
				}
			}
			// A last run applies whatever the stops left.
			c, err := postgres.NewConsumers(pool, codec, discardLogger(), postgres.ConsumerOptions{PollInterval: 10 * time.Millisecond}, slow)
			if err != nil {
				t.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- c.Run(runCtx) }()
			defer func() { cancel(); <-done }()
			waitFor(t, "every event to be applied", time.Minute, func() (bool, error) {
				return count(t, pool, `SELECT count(*) FROM slow_handled`) == rounds*perRound, nil
			})
		})
	}
}
