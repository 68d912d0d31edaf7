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

// stopTestOptions fail an event fast: a second application poisons it at
// once.
var stopTestOptions = postgres.ConsumerOptions{PollInterval: 10 * time.Millisecond, MaxRetries: 1, RetryDelay: time.Millisecond}

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
				stop := startConsumers(t, pool, codec, stopTestOptions, slow)
				select {
				case <-started:
				case <-time.After(time.Minute):
					t.Fatal("the handler never started")
				}
				// Stop at a different point of the handler each round.
				time.Sleep(time.Duration(round-1) * 37 * time.Millisecond)
				stop()
				for len(started) > 0 {
					<-started
				}
			}
			// A last run applies whatever the stops left.
			defer startConsumers(t, pool, codec, stopTestOptions, slow)()
			waitFor(t, "every event to be applied", time.Minute, func() (bool, error) {
				lag, err := postgres.ConsumerLag(ctx, pool, "proj.slow.v1")
				return err == nil && lag[0].Pending == 0 && count(t, pool, `SELECT count(*) FROM slow_handled`) == rounds*perRound, err
			})
			// An event applied twice fails on the key, is retried and ends
			// in the poison queue: a stop must leave none of that.
			if n := count(t, pool, `SELECT count(*) FROM poisoned_events`); n != 0 {
				t.Fatalf("%d event(s) poisoned: a stop left a handler's work committed without its checkpoint, and it was applied again", n)
			}
		})
	}
}

// TestAStopRollsBackTheBatchInFlight: a handler has written part of its
// work when the consumers stop, and is still busy. The subscriber stops
// waiting for it and its checkpoint ends before that event; committing the
// batch would keep the half-done work and apply the event again after the
// restart (here: a second insert of the same key, retried, then poisoned).
// The batch in flight rolls back instead and comes again whole.
func TestAStopRollsBackTheBatchInFlight(t *testing.T) {
	t.Parallel()
	for _, deferred := range []bool{false, true} {
		t.Run(fmt.Sprintf("deferred=%v", deferred), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool, store, codec := newStore(t)
			if _, err := pool.Exec(ctx, `CREATE TABLE half_done (n int PRIMARY KEY)`); err != nil {
				t.Fatal(err)
			}
			wrote := make(chan struct{}, 1)
			consumer := func(stall bool) postgres.Consumer {
				return postgres.Consumer{Group: "proj.half.v1", Deferred: deferred, Handle: func(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
					n := ev.Data.(somethingHappened).N
					// No ON CONFLICT: applying an event twice fails.
					if _, err := tx.Exec(ctx, `INSERT INTO half_done VALUES ($1)`, n); err != nil {
						return err
					}
					if stall && n == 2 {
						var one int
						if err := tx.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
							return err
						}
						select {
						case wrote <- struct{}{}:
						default:
						}
						<-ctx.Done()
						return ctx.Err()
					}
					return nil
				}}
			}
			if err := store.Append(ctx, eventstore.Append{StreamID: "half", ExpectedVersion: eventstore.AnyVersion,
				Events: []eventstore.Event{event(1), event(2), event(3)}}); err != nil {
				t.Fatal(err)
			}
			stop := startConsumers(t, pool, codec, stopTestOptions, consumer(true))
			select {
			case <-wrote:
			case <-time.After(time.Minute):
				t.Fatal("the handler never reached event 2")
			}
			stop()
			// Events 1 and 2 came in one batch: it rolled back whole.
			if n := count(t, pool, `SELECT count(*) FROM half_done`); n != 0 {
				t.Fatalf("after the stop %d event(s) are applied: the batch in flight was committed with half of event 2's work", n)
			}

			defer startConsumers(t, pool, codec, stopTestOptions, consumer(false))()
			waitFor(t, "the events to be applied after the restart", time.Minute, func() (bool, error) {
				lag, err := postgres.ConsumerLag(ctx, pool, "proj.half.v1")
				return err == nil && lag[0].Pending == 0, err
			})
			if got := count(t, pool, `SELECT count(*) FROM half_done`); got != 3 {
				t.Fatalf("%d events applied, want 3", got)
			}
			if n := count(t, pool, `SELECT count(*) FROM poisoned_events`); n != 0 {
				t.Fatalf("%d event(s) poisoned: the stop committed half of event 2's work, and the restart applied it again", n)
			}
		})
	}
}
