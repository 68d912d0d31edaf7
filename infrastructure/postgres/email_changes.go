package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/account"
)

// EmailChanges keeps email changes waiting for their link (only the
// token's hash) and carries out the confirmed ones, with their emails
// queued in the same transactions.
type EmailChanges struct {
	pool  *pgxpool.Pool
	store *EventStore
	mail  MailQueue
}

var _ command.EmailChanges = (*EmailChanges)(nil)

// NewEmailChanges refuses missing dependencies.
func NewEmailChanges(pool *pgxpool.Pool, store *EventStore, mail MailQueue) (*EmailChanges, error) {
	if pool == nil || store == nil || mail == nil {
		return nil, errors.New("postgres: NewEmailChanges needs a pool, the event store and the mail queue")
	}
	return &EmailChanges{pool: pool, store: store, mail: mail}, nil
}

// Request appends the account's EmailChangeRequested at the version it was
// read at, stores the request and queues its mail, in one transaction; the
// account's earlier unused requests go, so only the latest link works.
func (c *EmailChanges) Request(ctx context.Context, acc *account.Account, req account.EmailChangeRequest, tokenHash []byte, m command.Mail, meta command.Metadata) error {
	s := acc.Snapshot()
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		if err := c.store.AppendTx(ctx, tx, accountAppend(acc, acc.Version(), meta)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE account_logins SET version = $2 WHERE account_id = $1`, s.ID, s.Version); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM email_changes WHERE account_id = $1 AND used_at IS NULL`, req.AccountID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			INSERT INTO email_changes (token_hash, account_id, org_id, from_email, to_email, requested_by, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tokenHash, req.AccountID, req.OrgID, req.From.String(), req.To.String(), req.RequestedBy, req.ExpiresAt); err != nil {
			return err
		}
		return c.mail.Enqueue(ctx, tx, outboxMail(m))
	})
}

// Pending reads the request of a token's hash, used or not.
func (c *EmailChanges) Pending(ctx context.Context, tokenHash []byte) (account.EmailChangeRequest, error) {
	var r account.EmailChangeRequest
	var from, to string
	var used *time.Time
	err := c.pool.QueryRow(ctx, `
		SELECT account_id, org_id, from_email, to_email, requested_by, expires_at, used_at
		FROM email_changes WHERE token_hash = $1`, tokenHash).
		Scan(&r.AccountID, &r.OrgID, &from, &to, &r.RequestedBy, &r.ExpiresAt, &used)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, ErrNotFound
	}
	if err != nil {
		return r, err
	}
	r.From, r.To = account.EmailFromStorage(from), account.EmailFromStorage(to)
	if used != nil {
		r.UsedAt = *used
	}
	return r, nil
}

// Confirm carries out a confirmed change in one transaction. The request is
// marked used first: of two clicks at once, one changes the email and the
// other is told the link was used.
func (c *EmailChanges) Confirm(ctx context.Context, acc *account.Account, tokenHash []byte, keepSession string, notice command.Mail, meta command.Metadata) error {
	s := acc.Snapshot()
	return pgx.BeginFunc(ctx, c.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE email_changes SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL`, tokenHash)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return &account.LinkError{Code: "link_used"}
		}
		if err := c.store.AppendTx(ctx, tx, accountAppend(acc, acc.Version(), meta)); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `
			UPDATE account_logins SET email = $2, email_key = $3, version = $4, updated_at = now()
			WHERE account_id = $1`, s.ID, s.Email, account.EmailKey(s.Email), s.Version)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "account_logins_email_key" {
			return &account.EmailUnavailableError{Email: acc.Email()}
		}
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("postgres: account %s has no stored state", s.ID)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM email_changes WHERE account_id = $1 AND used_at IS NULL`, s.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, endSessionsSQL, s.ID, keepHash(keepSession)); err != nil {
			return err
		}
		return c.mail.Enqueue(ctx, tx, outboxMail(notice))
	})
}

func outboxMail(m command.Mail) importing.Mail {
	return importing.Mail{OrgID: m.OrgID, IdempotencyKey: m.IdempotencyKey, To: m.To, Subject: m.Subject, Text: m.Text}
}

// SweepEmailChanges deletes requests a week past their expiry (until then
// a late click is told "expired" rather than "unknown").
func (s *Sweeper) SweepEmailChanges(ctx context.Context) (int64, error) {
	return s.sweep(ctx, `
		DELETE FROM email_changes WHERE token_hash IN (
			SELECT token_hash FROM email_changes WHERE expires_at <= now() - interval '7 days'
			LIMIT $1 FOR UPDATE SKIP LOCKED)`, sweepBatch)
}
