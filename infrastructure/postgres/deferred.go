package postgres

import (
	"context"
	stdsql "database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Deferred writes: how a projection catches up at tens of thousands of
// events a second.
//
// A subscriber batch is one transaction holding up to BatchSize events. Run
// one at a time, each event costs a savepoint, the handler's statements and
// a release: three round trips, ~250 µs on a 2-core machine, so a rebuild
// of a million events took over four minutes. A projection handler mostly
// writes (upserts guarded by version), and its writes need not reach the
// server one by one: in fast mode its Exec calls are queued in a pgx.Batch
// and sent in one round trip right before the subscriber writes the
// checkpoint, in the same transaction. Reads (Query, QueryRow, …) send the
// queue first, so a handler always reads its own writes.
//
// What fast mode gives up is the savepoint per event that lets one bad event
// be retried and put in the poison queue without losing the rest of the
// batch. So any failure in fast mode (a handler error, a panic, a queued
// statement refused when the queue is sent) dooms the batch instead: the
// remaining events of the batch are acknowledged without work, the
// checkpoint write refuses, the subscriber rolls the whole transaction back,
// and the batch is delivered again in safe mode, one event at a time with
// savepoints, retries and the poison queue as before. The first safe batch
// that commits turns fast mode back on.

// flushTimeout bounds one send of the queue, which no longer stops with the
// consumers' context.
const flushTimeout = time.Minute

// errRedoSafely makes the subscriber roll a doomed batch back; the batch
// comes again in safe mode.
var errRedoSafely = errors.New("postgres: a deferred write failed; the batch is rolled back and applied again one event at a time")

// deferredState is one consumer group's mode, kept across its batches.
// A consumer that is not Deferred runs every batch in safe mode.
type deferredState struct {
	deferrable bool
	safe       atomic.Bool
}

// deferredBeginner opens every consumer's subscriber transactions as
// deferredTx: fast mode for Deferred consumers, and for all of them the
// hand-over that keeps the subscriber off the connection while a handler
// uses it (holdSubscriberTx).
type deferredBeginner struct {
	wsql.Beginner
	state    *deferredState
	stopping *atomic.Bool
	logger   *slog.Logger
	group    string
}

func newDeferredBeginner(pool *pgxpool.Pool, group string, deferrable bool, stopping *atomic.Bool, logger *slog.Logger) deferredBeginner {
	return deferredBeginner{Beginner: wsql.BeginnerFromPgx(pool), state: &deferredState{deferrable: deferrable}, stopping: stopping, logger: logger, group: group}
}

func (b deferredBeginner) BeginTx(ctx context.Context, opts *stdsql.TxOptions) (wsql.Tx, error) {
	inner, err := b.Beginner.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	var pgxTx pgx.Tx
	switch t := inner.(type) {
	case *wsql.PgxTx:
		pgxTx = t.Tx
	case wsql.PgxTx:
		pgxTx = t.Tx
	default:
		_ = inner.Rollback()
		return nil, fmt.Errorf("postgres: subscriber transaction is a %T, not pgx", inner)
	}
	safe := !b.state.deferrable || b.state.safe.Load()
	return &deferredTx{Tx: inner, pgx: pgxTx, state: b.state, stopping: b.stopping, safe: safe, logger: b.logger, group: b.group}, nil
}

// deferredTx is the subscriber's transaction with the queue of deferred
// writes of the events handled so far.
//
// mu keeps two goroutines off its connection. watermill-sql (v4.1.2) hands
// an event to the router's goroutine and, when the consumers stop, stops
// waiting for it and ends the transaction from its own goroutine while the
// handler may still be writing: pgx then panics ("slow write timer already
// active") and takes the process down. The handler holds mu for the whole
// middleware chain (holdSubscriberTx), and the subscriber's uses (the batch
// query, the checkpoint, commit and rollback) take it, so ending the
// transaction waits for the handler's statement, which the stop's
// cancellation cuts short.
//
// Once the consumers are stopping, a batch rolls back instead of committing:
// the subscriber may have stopped waiting for an event whose handler wrote
// part of its work, and its checkpoint stops before that event, so a commit
// would keep that part and apply the event again after the restart. Rolled
// back, the whole batch comes again, as any redelivery does.
type deferredTx struct {
	wsql.Tx
	mu       sync.Mutex
	pgx      pgx.Tx
	state    *deferredState
	stopping *atomic.Bool
	safe     bool // this batch runs one event at a time
	doomed   bool // a failure in fast mode: roll the batch back
	queue    pgx.Batch
	logger   *slog.Logger
	group    string
}

// flush sends the queued writes in one round trip.
func (t *deferredTx) flush(ctx context.Context) error {
	if t.doomed {
		return errRedoSafely
	}
	if t.queue.Len() == 0 {
		return nil
	}
	queued := t.queue
	t.queue = pgx.Batch{}
	// The send is not cut short when the consumers stop: pgx (v5.12) closes
	// a connection whose batch write was interrupted, and the batch would
	// only come again. Stopping waits for one round trip instead.
	sendCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushTimeout)
	defer cancel()
	if err := t.pgx.SendBatch(sendCtx, &queued).Close(); err != nil {
		t.doom(ctx, err)
		return errRedoSafely
	}
	return nil
}

// doom records a failure in fast mode: this batch rolls back and the next
// ones run safely until one commits.
func (t *deferredTx) doom(ctx context.Context, cause error) {
	if !t.doomed {
		t.logger.WarnContext(ctx, "projection batch failed in fast mode; applying it again one event at a time", "consumer", t.group, "err", cause)
	}
	t.doomed = true
	t.state.safe.Store(true)
}

// ExecContext is the subscriber's checkpoint write: the queue goes first, in
// the same transaction, and a doomed batch refuses it.
func (t *deferredTx) ExecContext(ctx context.Context, query string, args ...any) (wsql.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *deferredTx) QueryContext(ctx context.Context, query string, args ...any) (wsql.Rows, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.flush(ctx); err != nil {
		return nil, err
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *deferredTx) Commit() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopping.Load() {
		// ErrTxDone: watermill-sql takes it as "nothing to commit" and
		// does not log a shutdown as an error.
		_ = t.Tx.Rollback()
		return stdsql.ErrTxDone
	}
	if err := t.flush(context.Background()); err != nil {
		_ = t.Tx.Rollback()
		return err
	}
	if err := t.Tx.Commit(); err != nil {
		return err
	}
	if t.safe && t.state.deferrable {
		t.state.safe.Store(false)
	}
	return nil
}

func (t *deferredTx) Rollback() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.Tx.Rollback()
}

// holdSubscriberTx is the router's outermost middleware: the handler, its
// retries and the poison queue's write run holding the subscriber
// transaction's mu (see deferredTx).
func holdSubscriberTx(h message.HandlerFunc) message.HandlerFunc {
	return func(msg *message.Message) ([]*message.Message, error) {
		if t, err := subscriberBatch(msg.Context()); err == nil {
			t.mu.Lock()
			defer t.mu.Unlock()
		}
		return h(msg)
	}
}

// handle applies one event: queued in fast mode, with a savepoint in safe
// mode. A failure in fast mode is not returned: the event is acknowledged,
// the batch doomed, and the event comes again in safe mode, where its error
// goes through the retries and the poison queue.
func (t *deferredTx) handle(ctx context.Context, apply func(pgx.Tx) error) (err error) {
	if t.doomed {
		// Acknowledge without work: the batch is rolled back at its
		// checkpoint and every event of it comes again.
		return nil
	}
	if t.safe {
		// Nothing is queued in safe mode: the handler writes straight
		// through its savepoint.
		return pgx.BeginFunc(ctx, t.pgx, apply)
	}
	defer func() {
		if p := recover(); p != nil {
			t.doom(ctx, fmt.Errorf("panic: %v", p))
			err = nil
		}
	}()
	if err := apply(queuingTx{Tx: t.pgx, owner: t}); err != nil {
		t.doom(ctx, err)
	}
	return nil
}

// queuingTx is what a projection handler writes through in fast mode.
type queuingTx struct {
	pgx.Tx
	owner *deferredTx
}

// Exec queues the statement. The command tag is empty: a projection
// handler writes idempotent upserts and needs no row count.
func (q queuingTx) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	q.owner.queue.Queue(sql, args...)
	return pgconn.CommandTag{}, nil
}

func (q queuingTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if err := q.owner.flush(ctx); err != nil {
		return nil, err
	}
	return q.Tx.Query(ctx, sql, args...)
}

func (q queuingTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if err := q.owner.flush(ctx); err != nil {
		return errRow{err}
	}
	return q.Tx.QueryRow(ctx, sql, args...)
}

func (q queuingTx) Begin(ctx context.Context) (pgx.Tx, error) {
	if err := q.owner.flush(ctx); err != nil {
		return nil, err
	}
	return q.Tx.Begin(ctx)
}

// SendBatch sends the queue first; if that failed, the batch is doomed
// already and what this one answers no longer matters.
func (q queuingTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	_ = q.owner.flush(ctx)
	return q.Tx.SendBatch(ctx, b)
}

func (q queuingTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	if err := q.owner.flush(ctx); err != nil {
		return 0, err
	}
	return q.Tx.CopyFrom(ctx, table, columns, src)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
