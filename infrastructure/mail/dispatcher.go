package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/time/rate"
)

// DispatcherOptions tune a Dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	// Batch is the number of rows one claim takes (default 50; fewer under
	// a Rate, so a claim does not outlive its lease waiting for its turn).
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
	// Backoff is the wait before another try of a message after attempts
	// failed tries (default 10s doubling per try, at most 30m, ±20% so the
	// rows of one outage do not all come back in the same second).
	Backoff func(attempts int) time.Duration
	// Workers is the number of messages on the wire at once (MAIL_WORKERS,
	// default 4). It is also the at-least-once window: at most this many
	// messages can be accepted by the relay and not yet recorded as sent
	// when the process dies.
	Workers int
	// Rate caps the messages this dispatcher offers to the relay per second
	// (MAIL_RATE); 0 means no cap. Several processes each apply their own.
	Rate float64
	// RelayBackoff is the pause of every worker after the relay refused for
	// now (a 4xx, or a connection that fails) pauses times in a row (default
	// DefaultRelayBackoff: 1s doubling up to 1m).
	RelayBackoff func(pauses int) time.Duration
	// Observer, when set, hears how each offer went (the metrics).
	Observer Observer
	// Undeliverable, when set, records each message given up for good in
	// the transaction that marks it failed (the account's audit trail).
	Undeliverable UndeliverableLog
}

// Observer hears how each offer of a message to the relay went, and how long
// it took; infrastructure/metrics counts it.
type Observer interface {
	MailSent(took time.Duration)
	MailDeferred(took time.Duration)
	MailFailed(took time.Duration)
	RelayPaused()
}

// UndeliverableLog records why a message was given up, inside tx, the
// transaction that marks its outbox row failed, as its first write (so an
// event store may append there): the record exists if and only if the row
// is failed.
type UndeliverableLog interface {
	Undeliverable(ctx context.Context, tx pgx.Tx, u Undelivered) error
}

// Undelivered is a message given up for good.
type Undelivered struct {
	// OutboxID and Attempt name this failure once: a record keyed by them
	// is written once.
	OutboxID       uuid.UUID
	Attempt        int
	OrgID          uuid.UUID
	ImportID       uuid.UUID // uuid.Nil when no import queued it
	IdempotencyKey string    // e.g. "welcome:<account-id>"
	// Reason is the relay's answer (e.g. "550 5.1.1 mailbox unavailable"),
	// or why the tries ran out.
	Reason   string
	FailedAt time.Time
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
// same Message-ID. The window is kept as small as it can be: a worker
// records each message as sent right after the server accepted it, and lets
// the server accept its next message only once that record is committed
// (it sends all of the next message but its end meanwhile, see
// ReadySender), so at most Workers messages are ever accepted and
// unrecorded; the record survives the cancellation of the dispatcher's
// context. The records of the workers that finish at about the same time
// go to the database together, in one UPDATE (a group commit, sentMarker),
// rather than a commit per message. A dispatcher that stops on purpose
// hands its unsent rows back at once instead of leaving them to the lease.
//
// The relay sets the pace: Rate caps the messages a second, and a temporary
// refusal pauses every worker (see relayGate) instead of moving on to the
// next message.
type Dispatcher struct {
	pool    *pgxpool.Pool
	sender  Sender
	logger  *slog.Logger
	opts    DispatcherOptions
	gate    *relayGate
	limiter *rate.Limiter // nil without a Rate
}

// NewDispatcher returns a dispatcher sending the outbox of pool through
// sender.
func NewDispatcher(pool *pgxpool.Pool, sender Sender, logger *slog.Logger, opts DispatcherOptions) (*Dispatcher, error) {
	if pool == nil || sender == nil || logger == nil {
		return nil, errors.New("mail: NewDispatcher needs a pool, a sender and a logger")
	}
	if opts.Rate < 0 || math.IsInf(opts.Rate, 0) || math.IsNaN(opts.Rate) {
		return nil, fmt.Errorf("mail: a rate of %v emails a second", opts.Rate)
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
	if opts.RelayBackoff == nil {
		opts.RelayBackoff = DefaultRelayBackoff
	}
	if opts.Observer == nil {
		opts.Observer = noObserver{}
	}
	d := &Dispatcher{pool: pool, sender: sender, logger: logger, opts: opts, gate: newRelayGate(opts.RelayBackoff)}
	if opts.Rate > 0 {
		// A burst of one: relays count per second, and a burst would
		// spend the first second's allowance at once.
		d.limiter = rate.NewLimiter(rate.Limit(opts.Rate), 1)
		// A worker's batch should take about half a lease at the
		// rate's pace, so it is sent before the lease runs out.
		perWorker := int(opts.Rate * opts.Lease.Seconds() / 2 / float64(opts.Workers))
		d.opts.Batch = max(1, min(opts.Batch, perWorker))
	}
	return d, nil
}

type noObserver struct{}

func (noObserver) MailSent(time.Duration)     {}
func (noObserver) MailDeferred(time.Duration) {}
func (noObserver) MailFailed(time.Duration)   {}
func (noObserver) RelayPaused()               {}

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
	marks := newSentMarker(d)
	var markerDone sync.WaitGroup
	markerDone.Go(marks.run)
	var wg sync.WaitGroup
	for range d.opts.Workers {
		wg.Go(func() { d.work(ctx, marks.mark) })
	}
	wg.Wait()
	// The marker outlives the workers: their last records must be written.
	marks.close()
	markerDone.Wait()
	return nil
}

func (d *Dispatcher) work(ctx context.Context, mark markFunc) {
	for ctx.Err() == nil {
		claimed, _, err := d.dispatch(ctx, mark)
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
// hands the unsent rows back, and returns ctx's error. Each row is recorded
// on its own (Run groups the records of its workers).
func (d *Dispatcher) DispatchOnce(ctx context.Context) (sent int, err error) {
	_, sent, err = d.dispatch(ctx, func(ctx context.Context, row claimedRow) <-chan error {
		done := make(chan error, 1)
		done <- d.markSent(ctx, row)
		return done
	})
	return sent, err
}

// claimedRow is a row this dispatcher holds; attempts is its fencing token.
type claimedRow struct {
	id       uuid.UUID
	key      string
	orgID    uuid.UUID
	importID uuid.UUID
	attempts int
	msg      Outgoing
}

// markFunc starts recording that the relay accepted row; the channel gets
// the outcome once it is committed (or failed).
type markFunc func(ctx context.Context, row claimedRow) <-chan error

// recordOf follows the record of the message sent last, which must be
// committed before the relay may accept the next one: that keeps the
// at-least-once window at one message per worker.
type recordOf struct{ done <-chan error }

// wait returns the record's outcome (nil when there is none pending).
func (r *recordOf) wait() error {
	if r.done == nil {
		return nil
	}
	err := <-r.done
	r.done = nil
	return err
}

func (d *Dispatcher) dispatch(ctx context.Context, mark markFunc) (claimed, sent int, err error) {
	var last recordOf
	defer func() {
		// Whatever happens, return only once the last record is written:
		// a stop must not leave an accepted message unrecorded.
		if recErr := last.wait(); err == nil {
			err = recErr
		}
	}()
	// Wait out a pause of the relay before claiming: rows claimed now would
	// sit leased for nothing.
	if err := d.gate.waitOpen(ctx); err != nil {
		return 0, 0, err
	}
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
		// the row while it is on the wire. A turn that would come later
		// (a long pause of the relay, a slow rate) hands the rows back
		// rather than sit on them.
		turnCtx, cancel := context.WithDeadline(ctx, leaseEnd.Add(-d.opts.Lease/3))
		epoch, waitErr := d.waitTurn(turnCtx)
		cancel()
		if waitErr != nil {
			if err := d.handBack(ctx, batch[i:], true); err != nil {
				return len(batch), sent, err
			}
			return len(batch), sent, ctx.Err()
		}
		sendDeadline := leaseEnd.Add(-d.opts.Lease / 10)
		ready := func() error {
			if err := last.wait(); err != nil {
				return err
			}
			// The end of the message is when the relay accepts it: send
			// it only with the time to hear the answer before the
			// deadline. Cut off after the end, the outcome is unknown and
			// the message goes again (a copy); before it, nothing is lost.
			if time.Until(sendDeadline) < d.opts.Lease/5 {
				return errTooLate
			}
			return nil
		}
		start := time.Now()
		sendErr := d.send(ctx, row.msg, sendDeadline, ready)
		took := time.Since(start)
		var held *NotOfferedError

		switch {
		case sendErr == nil:
			d.gate.answered()
			d.opts.Observer.MailSent(took)
			sent++
			last.done = mark(ctx, row)
		case errors.As(sendErr, &held):
			// Abandoned before the relay accepted it: too late in the
			// lease, or the previous record failed (the database is
			// failing). Nothing was accepted; the rows go back untried.
			d.gate.abandoned()
			if err := d.handBack(ctx, batch[i:], true); err != nil {
				return len(batch), sent, err
			}
			if errors.Is(held.Err, errTooLate) {
				return len(batch), sent, nil
			}
			return len(batch), sent, held.Err
		case ctx.Err() != nil && !IsPermanent(sendErr):
			// Most likely cut off by the shutdown after its grace: try again
			// soon, elsewhere. Whether the server had the message is unknown
			// (the same ambiguity as an expired lease); the attempt counts.
			d.gate.abandoned()
			err = d.handBack(ctx, []claimedRow{row}, false)
		case IsPermanent(sendErr):
			d.gate.answered()
			err = d.markFailed(ctx, row, sendErr, took)
		case errors.Is(sendErr, context.DeadlineExceeded):
			// Out of time (the lease's safe end): slow, but not a refusal.
			// Pausing every worker for it would only slow a loaded
			// process down more; this row waits its own backoff.
			d.gate.abandoned()
			err = d.markFailed(ctx, row, sendErr, took)
		default:
			// The relay refuses for now: this row waits its own backoff,
			// the rest of the batch goes back at once for whoever is
			// first after the pause.
			if pause := d.gate.refused(epoch); pause > 0 {
				d.opts.Observer.RelayPaused()
				d.logger.WarnContext(ctx, "the mail relay refuses for now: every mail worker pauses", "pause", pause, "err", sendErr)
			}
			if err = d.markFailed(ctx, row, sendErr, took); err == nil {
				err = d.handBack(ctx, batch[i+1:], true)
			}
			return len(batch), sent, err
		}
		if err != nil {
			// The database is failing; the rows still held come back when
			// their lease expires.
			return len(batch), sent, err
		}
	}
	return len(batch), sent, nil
}

// errTooLate holds a message back whose lease leaves too little time to
// hear the relay accept it.
var errTooLate = errors.New("mail: too little of the lease left to finish the message")

// waitTurn waits for the relay gate, then for the rate limit.
func (d *Dispatcher) waitTurn(ctx context.Context) (epoch int, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if epoch, err = d.gate.pass(ctx); err != nil {
		return 0, err
	}
	if ctx.Err() != nil {
		d.gate.abandoned()
		return 0, ctx.Err()
	}
	if d.limiter != nil {
		if err := d.limiter.Wait(ctx); err != nil {
			d.gate.abandoned()
			return 0, err
		}
	}
	return epoch, nil
}

// shutdownGrace is how long a message already on the wire may take to
// finish once the dispatcher is told to stop. Cutting it off at once would
// open the ambiguous case (the server may have it, the outbox says not sent)
// on every shutdown; waiting for it bounds the shutdown by this instead.
const shutdownGrace = 5 * time.Second

// send offers one message until deadline (the lease's safe end), letting it
// finish for up to shutdownGrace after ctx is cancelled.
func (d *Dispatcher) send(ctx context.Context, m Outgoing, deadline time.Time, ready func() error) error {
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
	if rs, ok := d.sender.(ReadySender); ok {
		return rs.SendWhenReady(sendCtx, m, ready)
	}
	if err := ready(); err != nil {
		return &NotOfferedError{Err: err}
	}
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
		RETURNING m.id, m.idempotency_key, m.org_id, m.import_id, m.attempts, m.message_id, m.to_address, m.subject, m.text_body`,
		d.opts.Batch, d.opts.Lease.Microseconds())
	if err != nil {
		return nil, fmt.Errorf("mail: claim: %w", err)
	}
	batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimedRow, error) {
		var c claimedRow
		var importID *uuid.UUID
		err := r.Scan(&c.id, &c.key, &c.orgID, &importID, &c.attempts, &c.msg.MessageID, &c.msg.To, &c.msg.Subject, &c.msg.Text)
		if importID != nil {
			c.importID = *importID
		}
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

// markSent records the server's acceptance of one row, right away.
func (d *Dispatcher) markSent(ctx context.Context, row claimedRow) error {
	return d.markSentRows(ctx, []claimedRow{row})
}

// markSentRows records several acceptances in one statement.
func (d *Dispatcher) markSentRows(ctx context.Context, rows []claimedRow) error {
	ctx, cancel := recording(ctx)
	defer cancel()
	ids, attempts := make([]uuid.UUID, len(rows)), make([]int32, len(rows))
	for i, r := range rows {
		ids[i], attempts[i] = r.id, int32(r.attempts)
	}
	marked, err := d.pool.Query(ctx, `
		UPDATE mail_outbox m SET state = 'sent', sent_at = now(), lease_until = NULL, last_error = NULL
		FROM unnest($1::uuid[], $2::int[]) AS held(id, attempts)
		WHERE m.id = held.id AND m.attempts = held.attempts AND m.state = 'sending'
		RETURNING m.id`, ids, attempts)
	if err != nil {
		return fmt.Errorf("mail: mark %d row(s) sent: %w", len(rows), err)
	}
	done, err := pgx.CollectRows(marked, pgx.RowTo[uuid.UUID])
	if err != nil {
		return fmt.Errorf("mail: mark %d row(s) sent: %w", len(rows), err)
	}
	if len(done) == len(rows) {
		return nil
	}
	for _, r := range rows {
		if !slices.Contains(done, r.id) {
			// Our lease ran out and another dispatcher claimed the row: it
			// may send it again (same Message-ID). Only a lease shorter than
			// a send gets here.
			d.logger.WarnContext(ctx, "mail sent after its lease expired; it may be sent twice", "key", r.key, "message_id", r.msg.MessageID)
		}
	}
	return nil
}

// markFailed schedules another try, or gives up when the refusal is
// permanent or the tries are used up; a message given up is recorded in
// the UndeliverableLog in the same transaction.
func (d *Dispatcher) markFailed(ctx context.Context, row claimedRow, sendErr error, took time.Duration) error {
	ctx, cancel := recording(ctx)
	defer cancel()
	final := IsPermanent(sendErr) || row.attempts >= d.opts.MaxAttempts
	state, wait := "pending", d.opts.Backoff(row.attempts)
	if final {
		state, wait = "failed", 0
		d.opts.Observer.MailFailed(took)
	} else {
		d.opts.Observer.MailDeferred(took)
	}
	// The log has the key and the Message-ID, not the address: the outbox
	// row holds the rest for whoever investigates.
	d.logger.WarnContext(ctx, "mail not sent", "key", row.key, "message_id", row.msg.MessageID,
		"attempt", row.attempts, "final", final, "retry_in", wait, "err", sendErr)
	update := func(tx pgx.Tx) (bool, error) {
		tag, err := tx.Exec(ctx, `
			UPDATE mail_outbox
			SET state = $3, last_error = $4, lease_until = NULL,
			    next_attempt_at = now() + $5 * interval '1 microsecond'
			WHERE id = $1 AND state = 'sending' AND attempts = $2`,
			row.id, row.attempts, state, sendErr.Error(), wait.Microseconds())
		return tag.RowsAffected() == 1, err
	}
	err := pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if final && d.opts.Undeliverable != nil {
			u := Undelivered{OutboxID: row.id, Attempt: row.attempts, OrgID: row.orgID, ImportID: row.importID,
				IdempotencyKey: row.key, Reason: refusalReason(sendErr, row.attempts, final && !IsPermanent(sendErr)), FailedAt: time.Now().UTC()}
			if err := d.opts.Undeliverable.Undeliverable(ctx, tx, u); err != nil {
				return err
			}
		}
		ours, err := update(tx)
		if err == nil && !ours {
			// Another dispatcher holds the row now: whatever was
			// recorded above is not ours to say.
			return errNotOurs
		}
		return err
	})
	if errors.Is(err, errNotOurs) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mail: record the failure of %s: %w", row.key, err)
	}
	return nil
}

var errNotOurs = errors.New("mail: the row was claimed by another dispatcher")

// maxReason bounds the reason kept in an audit event: a relay's answer is a
// line, but nothing stops one from sending a page.
const maxReason = 300

// refusalReason is what the audit trail says about a message given up.
func refusalReason(err error, attempts int, triesRanOut bool) string {
	reason := err.Error()
	var reply *smtp.SMTPError
	if errors.As(err, &reply) {
		reason = fmt.Sprintf("%d %d.%d.%d %s", reply.Code, reply.EnhancedCode[0], reply.EnhancedCode[1], reply.EnhancedCode[2], reply.Message)
		if reply.EnhancedCode == smtp.NoEnhancedCode {
			reason = fmt.Sprintf("%d %s", reply.Code, reply.Message)
		}
	}
	if triesRanOut {
		reason = fmt.Sprintf("not accepted after %d tries; the last answer: %s", attempts, reason)
	}
	if len(reason) > maxReason {
		reason = strings.ToValidUTF8(reason[:maxReason], "") + "…"
	}
	return reason
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
