// Package mail delivers Rollcall's emails from an outbox table: producers
// insert rows in the transaction of the event that causes them (one row per
// idempotency key, so a redelivered event queues nothing new), and a
// dispatcher sends them over SMTP outside any transaction.
package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/infrastructure/importjob"
)

// Outbox queues emails.
type Outbox struct {
	// Domain names the Message-IDs, e.g. the public host name.
	Domain string
}

var _ importjob.Mailer = Outbox{}

// Enqueue inserts the messages in tx; a key already queued is skipped.
func (o Outbox) Enqueue(ctx context.Context, tx pgx.Tx, msgs ...importjob.Mail) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, orgs := make([]uuid.UUID, len(msgs)), make([]uuid.UUID, len(msgs))
	keys, tos, subjects, bodies, messageIDs := make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs)), make([]string, len(msgs))
	for i, m := range msgs {
		if strings.ContainsAny(m.To+m.Subject, "\r\n") {
			return fmt.Errorf("mail: line break in the recipient or subject of %s", m.IdempotencyKey)
		}
		sum := sha256.Sum256([]byte(m.IdempotencyKey))
		ids[i], orgs[i] = uuid.New(), m.OrgID
		keys[i], tos[i], subjects[i], bodies[i] = m.IdempotencyKey, m.To, m.Subject, m.Text
		// The same key gives the same Message-ID, so a resend after a crash
		// is recognisable as the same message.
		messageIDs[i] = "<" + hex.EncodeToString(sum[:16]) + "@" + o.domain() + ">"
	}
	_, err := tx.Exec(ctx, `
		INSERT INTO mail_outbox (id, org_id, idempotency_key, to_address, subject, text_body, message_id)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		ON CONFLICT (idempotency_key) DO NOTHING`, ids, orgs, keys, tos, subjects, bodies, messageIDs)
	return err
}

func (o Outbox) domain() string {
	if o.Domain == "" {
		return "rollcall.invalid"
	}
	return o.Domain
}

// Outgoing is a message ready to send.
type Outgoing struct {
	MessageID string
	To        string
	Subject   string
	Text      string
}

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, m Outgoing) error
}

// PermanentError is a refusal that retrying cannot fix (an SMTP 5xx).
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Dispatcher sends queued emails.
type Dispatcher struct {
	pool        *pgxpool.Pool
	sender      Sender
	logger      *slog.Logger
	batch       int
	lease       time.Duration
	poll        time.Duration
	maxAttempts int
	workers     int
}

// DispatcherOptions tune a dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	Poll    time.Duration // idle wait (default 500ms)
	Lease   time.Duration // how long a claimed row is held before another process may send it (default 1m)
	Workers int           // messages sent at once (default 4)
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(pool *pgxpool.Pool, sender Sender, logger *slog.Logger, opts DispatcherOptions) (*Dispatcher, error) {
	if pool == nil || sender == nil || logger == nil {
		return nil, errors.New("mail: NewDispatcher needs a pool, a sender and a logger")
	}
	if opts.Poll <= 0 {
		opts.Poll = 500 * time.Millisecond
	}
	if opts.Lease <= 0 {
		opts.Lease = time.Minute
	}
	if opts.Workers <= 0 {
		opts.Workers = 4
	}
	return &Dispatcher{pool: pool, sender: sender, logger: logger, batch: 20, lease: opts.Lease, poll: opts.Poll, maxAttempts: 8, workers: opts.Workers}, nil
}

// Run sends with several workers until ctx is cancelled; SKIP LOCKED keeps
// them off each other's rows.
func (d *Dispatcher) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range d.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (d *Dispatcher) work(ctx context.Context) {
	for ctx.Err() == nil {
		sent, err := d.DispatchOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.logger.Error("mail dispatch", "err", err)
		}
		if sent == 0 || err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(d.poll):
			}
		}
	}
}

// DispatchOnce claims a batch, sends it, and marks each row sent as soon as
// the server accepted it. A row whose process died while sending it is sent
// again when its lease expires: an email is never lost. It can arrive twice
// only if the process died between the server's acceptance and the mark,
// and then both copies carry the same Message-ID, which mail clients show as
// one message. Exactly-once delivery across a crash is not possible over
// SMTP; docs/email.md explains the choice.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	rows, err := d.pool.Query(ctx, `
		UPDATE mail_outbox SET state = 'sending', attempts = attempts + 1, lease_until = now() + $2::interval
		WHERE id IN (
			SELECT id FROM mail_outbox
			WHERE (state = 'pending' AND next_attempt_at <= now()) OR (state = 'sending' AND lease_until < now())
			ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, message_id, to_address, subject, text_body, attempts`, d.batch, d.lease.String())
	if err != nil {
		return 0, err
	}
	type claimed struct {
		id       uuid.UUID
		msg      Outgoing
		attempts int
	}
	batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		var c claimed
		err := r.Scan(&c.id, &c.msg.MessageID, &c.msg.To, &c.msg.Subject, &c.msg.Text, &c.attempts)
		return c, err
	})
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, c := range batch {
		record := context.WithoutCancel(ctx)
		err := d.sender.Send(ctx, c.msg)
		switch {
		case err == nil:
			sent++
			_, err = d.pool.Exec(record, `UPDATE mail_outbox SET state = 'sent', sent_at = now(), lease_until = NULL WHERE id = $1`, c.id)
		default:
			var perm *PermanentError
			final := errors.As(err, &perm) || c.attempts >= d.maxAttempts
			d.logger.Warn("mail not sent", "message_id", c.msg.MessageID, "attempt", c.attempts, "final", final, "err", err)
			state := "pending"
			if final {
				state = "failed"
			}
			backoff := time.Duration(1<<min(c.attempts, 10)) * time.Second
			_, err = d.pool.Exec(record, `
				UPDATE mail_outbox SET state = $2, last_error = $3, lease_until = NULL, next_attempt_at = now() + $4::interval
				WHERE id = $1`, c.id, state, err.Error(), backoff.String())
		}
		if err != nil {
			return sent, err
		}
	}
	return sent, nil
}
