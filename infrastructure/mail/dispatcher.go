package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DispatcherOptions tune a Dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	// Batch is the number of rows one claim takes (default 50).
	Batch int
	// Lease is how long a claimed row is reserved to its dispatcher before
	// another may send it (default 1m). A dispatcher stops sending from a
	// batch whose lease is running out and hands the rest back, so the lease
	// only has to outlast one message, not a whole batch.
	Lease time.Duration
	// Poll is the wait after a round that found nothing to send (default
	// 500ms).
	Poll time.Duration
	// MaxAttempts is the number of tries before a row is given up as failed
	// (default 8).
	MaxAttempts int
	// Backoff is the wait before another try after attempts failed tries
	// (default 10s doubling per try, at most 30m, ±20% so the rows of one
	// outage do not all come back in the same second).
	Backoff func(attempts int) time.Duration
	// Workers is the number of messages in flight at once (default 4). Each
	// worker claims its own batches; SKIP LOCKED keeps them apart.
	Workers int
}

// Dispatcher delivers the outbox.
//
// Several dispatchers, in one process or many, share the outbox without
// sending a row twice: a row is claimed (state 'sending', attempts+1, a
// lease) by one short UPDATE over SELECT … FOR UPDATE SKIP LOCKED, and every
// later write to it is fenced by that claim's attempt number, so a
// dispatcher whose lease ran out cannot overwrite the work of the one that
// claimed the row next.
//
// Delivery is at least once. A row found in 'sending' with an expired lease
// is ambiguous: its dispatcher may have died before the SMTP server accepted
// the message, or after the server's 250 and before recording it. Losing a
// welcome email is the worse outcome, so such a row is sent again, with the
// same Message-ID. The window is kept as small as it can be: each row is
// marked sent right after the server accepted it, never at the end of a
// batch, and that write survives the cancellation of the dispatcher's
// context. A dispatcher that stops on purpose hands its unsent rows back
// at once instead of leaving them to the lease.
type Dispatcher struct {
	pool   *pgxpool.Pool
	sender Sender
	logger *slog.Logger
	opts   DispatcherOptions
}

// NewDispatcher returns a dispatcher sending the outbox of pool through
// sender.
func NewDispatcher(pool *pgxpool.Pool, sender Sender, logger *slog.Logger, opts DispatcherOptions) (*Dispatcher, error) {
	if pool == nil || sender == nil || logger == nil {
		return nil, errors.New("mail: NewDispatcher needs a pool, a sender and a logger")
	}
	if opts.Batch <= 0 {
		opts.Batch = 50
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 8
	}
	if opts.Backoff == nil {
		opts.Backoff = DefaultBackoff
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	return &Dispatcher{pool: pool, sender: sender, logger: logger, opts: opts}, nil
}

// DefaultBackoff waits 10s after the first failed try, doubling each time up
// to 30 minutes, ±20%: eight tries span about 20 minutes, enough to ride out
// a relay's restart, and a failed row can be queued again by hand.
func DefaultBackoff(attempts int) time.Duration {
	d := 10 * time.Second << min(max(attempts-1, 0), 10)
	d = min(d, 30*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Run sends until ctx is cancelled, with Workers goroutines that it waits
// for before returning. It returns nil once ctx is done: stopping is not an
// error.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() { d.work(ctx) })
	}
	wg.Wait()
	return nil
}

func (d *Dispatcher) work(ctx context.Context) {
	for ctx.Err() == nil {
		claimed, _, err := d.dispatch(ctx)
		if err != nil && ctx.Err() == nil {
			d.logger.ErrorContext(ctx, "mail dispatch", "err", err)
		}
		// A full round may have left more behind: go again at once.
		if claimed > 0 && err == nil {
			continue
		}
		timer := time.NewTimer(d.opts.Poll)
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
		timer.Stop()
	}
}

// DispatchOnce claims one batch and sends it, returning how many messages
// the server accepted. When ctx is cancelled it stops between messages,
// hands the unsent rows back, and returns ctx's error.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (sent int, err error) {
	_, sent, err = d.dispatch(ctx)
	return sent, err
}

// claimedRow is a row this dispatcher holds; attempts is its fencing token.
type claimedRow struct {
	id       uuid.UUID
	key      string
	attempts int
	msg      Outgoing
}

func (d *Dispatcher) dispatch(ctx context.Context) (claimed, sent int, err error) {
	// The lease is measured from before the claim on this machine's clock,
	// which can only make it look shorter than the database's.
	leaseEnd := time.Now().Add(d.opts.Lease)
	batch, err := d.claim(ctx)
	if err != nil || len(batch) == 0 {
		return 0, 0, err
	}
	for i, row := range batch {
		// Start a message only with a good part of the lease ahead, and
		// stop it before the lease ends, so no other dispatcher can claim
		// the row while it is on the wire.
		if ctx.Err() != nil || time.Until(leaseEnd) < d.opts.Lease/4 {
			if err := d.handBack(ctx, batch[i:], true); err != nil {
				return len(batch), sent, err
			}
			return len(batch), sent, ctx.Err()
		}
		sendErr := d.send(ctx, row.msg, leaseEnd.Add(-d.opts.Lease/10))

		switch {
		case sendErr == nil:
			sent++
			err = d.markSent(ctx, row)
		case ctx.Err() != nil && !IsPermanent(sendErr):
			// Most likely cut off by the shutdown after its grace: try again
			// soon, elsewhere. Whether the server had the message is unknown
			// (the same ambiguity as an expired lease); the attempt counts.
			err = d.handBack(ctx, []claimedRow{row}, false)
		default:
			err = d.markFailed(ctx, row, sendErr)
		}
		if err != nil {
			// The database is failing; the rows still held come back when
			// their lease expires.
			return len(batch), sent, err
		}
	}
	return len(batch), sent, nil
}

// shutdownGrace is how long a message already on the wire may take to
// finish once the dispatcher is told to stop. Cutting it off at once would
// open the ambiguous case (the server may have it, the outbox says not sent)
// on every shutdown; waiting for it bounds the shutdown by this instead.
const shutdownGrace = 5 * time.Second

// send offers one message until deadline (the lease's safe end), letting it
// finish for up to shutdownGrace after ctx is cancelled.
func (d *Dispatcher) send(ctx context.Context, m Outgoing, deadline time.Time) error {
	sendCtx, cancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(shutdownGrace)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-sendCtx.Done():
		}
	})
	defer stop()
	return d.sender.Send(sendCtx, m)
}

// claim takes up to Batch due rows: pending ones whose time has come, and
// sending ones whose lease expired (their dispatcher died). While a row is
// 'sending', next_attempt_at holds its lease's end too, so one range scan of
// the partial index mail_outbox_claim (next_attempt_at WHERE state IN
// ('pending', 'sending')) finds both kinds in due order, with no sort of the
// whole backlog; the lease_until test keeps a row claimed by older code,
// which did not move next_attempt_at, from being taken before its lease
// ends. The statement is its own short transaction.
func (d *Dispatcher) claim(ctx context.Context) ([]claimedRow, error) {
	rows, err := d.pool.Query(ctx, `
		WITH due AS (
			SELECT id FROM mail_outbox
			WHERE state IN ('pending', 'sending') AND next_attempt_at <= now()
			  AND (state = 'pending' OR lease_until < now())
			ORDER BY next_attempt_at
			LIMIT $1
			FOR UPDATE SKIP LOCKED)
		UPDATE mail_outbox m
		SET state = 'sending', attempts = m.attempts + 1,
		    lease_until = now() + $2 * interval '1 microsecond',
		    next_attempt_at = now() + $2 * interval '1 microsecond'
		FROM due WHERE m.id = due.id
		RETURNING m.id, m.idempotency_key, m.attempts, m.message_id, m.to_address, m.subject, m.text_body`,
		d.opts.Batch, d.opts.Lease.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("mail: claim: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimedRow, error) {
		var c claimedRow
		err := r.Scan(&c.id, &c.key, &c.attempts, &c.msg.MessageID, &c.msg.To, &c.msg.Subject, &c.msg.Text)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("mail: claim: %w", err)
	}
	return batch, nil
}

// recordTimeout bounds a write about a row already handled. Such writes run
// even when the dispatcher's context is cancelled: a sent row not marked
// sent would be sent again.
const recordTimeout = 10 * time.Second

func recording(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// markSent records the server's acceptance, one row at a time, right away.
func (d *Dispatcher) markSent(ctx context.Context, row claimedRow) error {
	ctx, cancel := recording(ctx)
	defer cancel()
	tag, err := d.pool.Exec(ctx, `
		UPDATE mail_outbox SET state = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL
		WHERE id = $1 AND state = 'sending' AND attempts = $2`, row.id, row.attempts)
	if err != nil {
		return fmt.Errorf("mail: mark %s sent: %w", row.key, err)
	}
	if tag.RowsAffected() == 0 {
		// Our lease ran out and another dispatcher claimed the row: it may
		// send it again (same Message-ID). Only a lease shorter than a send
		// gets here.
		d.logger.WarnContext(ctx, "mail sent after its lease expired; it may be sent twice", "key", row.key, "message_id", row.msg.MessageID)
	}
	return nil
}

// markFailed schedules another try, or gives up when the refusal is
// permanent or the tries are used up.
func (d *Dispatcher) markFailed(ctx context.Context, row claimedRow, sendErr error) error {
	ctx, cancel := recording(ctx)
	defer cancel()
	final := IsPermanent(sendErr) || row.attempts >= d.opts.MaxAttempts
	state, wait := "pending", d.opts.Backoff(row.attempts)
	if final {
		state, wait = "failed", 0
	}
	// The log has the key and the Message-ID, not the address: the outbox
	// row holds the rest for whoever investigates.
	d.logger.WarnContext(ctx, "mail not sent", "key", row.key, "message_id", row.msg.MessageID,
		"attempt", row.attempts, "final", final, "retry_in", wait, "err", sendErr)
	_, err := d.pool.Exec(ctx, `
		UPDATE mail_outbox
		SET state = $3, last_error = $4, lease_until = NULL,
		    next_attempt_at = now() + $5 * interval '1 microsecond'
		WHERE id = $1 AND state = 'sending' AND attempts = $2`,
		row.id, row.attempts, state, sendErr.Error(), wait.Microseconds())
	if err != nil {
		return fmt.Errorf("mail: record the failure of %s: %w", row.key, err)
	}
	return nil
}

// handBack returns held rows to pending, due now, so a running dispatcher
// takes them without waiting for the lease. untried rows get their attempt
// back: they were never offered to the server.
func (d *Dispatcher) handBack(ctx context.Context, rows []claimedRow, untried bool) error {
	if len(rows) == 0 {
		return nil
	}
	ctx, cancel := recording(ctx)
	defer cancel()
	ids, attempts := make([]uuid.UUID, len(rows)), make([]int32, len(rows))
	for i, r := range rows {
		ids[i], attempts[i] = r.id, int32(r.attempts)
	}
	refund := 0
	if untried {
		refund = 1
	}
	_, err := d.pool.Exec(ctx, `
		UPDATE mail_outbox m
		SET state = 'pending', attempts = m.attempts - $3, lease_until = NULL, next_attempt_at = now()
		FROM unnest($1::uuid[], $2::int[]) AS held(id, attempts)
		WHERE m.id = held.id AND m.attempts = held.attempts AND m.state = 'sending'`,
		ids, attempts, refund)
	if err != nil {
		return fmt.Errorf("mail: hand back %d row(s): %w", len(rows), err)
	}
	return nil
}
