package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/throttle"
)

// SignInCounters keeps the sign-in throttle's counters in PostgreSQL, so
// every `rollcall serve` process counts the same failures.
type SignInCounters struct{ pool *pgxpool.Pool }

var _ command.SignInCounters = (*SignInCounters)(nil)

// NewSignInCounters returns the counter store.
func NewSignInCounters(pool *pgxpool.Pool) *SignInCounters { return &SignInCounters{pool: pool} }

// Update locks the two keys' rows (creating them if missing, in key order so
// two attempts never deadlock), hands fn their counters and the database's
// clock (the one clock every process shares), and saves what fn left:
// a counter left at zero is deleted. One short transaction.
func (s *SignInCounters) Update(ctx context.Context, account, address throttle.Key, fn func(now time.Time, c *throttle.Counters) error) error {
	accountKey, addressKey := counterKey(account), counterKey(address)
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			INSERT INTO sign_in_throttle (key, failures, last_failure)
			SELECT k, 0, now() FROM unnest($1::bytea[]) AS k ORDER BY k
			ON CONFLICT (key) DO UPDATE SET key = excluded.key
			RETURNING key, failures, last_failure, now()`, [][]byte{accountKey, addressKey})
		if err != nil {
			return err
		}
		var c throttle.Counters
		var now time.Time
		for rows.Next() {
			var key []byte
			var counter throttle.Counter
			if err := rows.Scan(&key, &counter.Failures, &counter.Last, &now); err != nil {
				rows.Close()
				return err
			}
			if string(key) == string(accountKey) {
				c.Account = counter
			} else {
				c.Address = counter
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if now.IsZero() {
			return errors.New("postgres: the throttle counters were not returned")
		}
		if err := fn(now, &c); err != nil {
			return err
		}
		for _, kc := range []struct {
			key     []byte
			counter throttle.Counter
		}{{accountKey, c.Account}, {addressKey, c.Address}} {
			if kc.counter.Failures <= 0 {
				_, err = tx.Exec(ctx, `DELETE FROM sign_in_throttle WHERE key = $1`, kc.key)
			} else {
				_, err = tx.Exec(ctx, `UPDATE sign_in_throttle SET failures = $2, last_failure = $3 WHERE key = $1`,
					kc.key, kc.counter.Failures, kc.counter.Last)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// counterKey is what is stored of a key: its hash, so the table holds no
// email or address in clear.
func counterKey(k throttle.Key) []byte {
	h := sha256.Sum256([]byte(k))
	return h[:]
}

// Sweeper deletes what has expired: sessions past their end, throttle
// counters whose last failure is older than any rule still counts, and
// login cards (their sealed passwords) past their window.
// Several processes may sweep at once: each batch skips the rows another
// process holds, and a row is deleted once.
type Sweeper struct {
	pool        *pgxpool.Pool
	every       time.Duration
	forgetAfter time.Duration
	logger      *slog.Logger
}

// NewSweeper returns a sweeper that runs every interval (with some jitter,
// so processes started together do not sweep together). forgetAfter is the
// throttle rules' ForgetAfter.
func NewSweeper(pool *pgxpool.Pool, every, forgetAfter time.Duration, logger *slog.Logger) (*Sweeper, error) {
	if pool == nil || logger == nil || every <= 0 || forgetAfter <= 0 {
		return nil, errors.New("postgres: NewSweeper needs a pool, a logger, an interval and the throttle's forget time")
	}
	return &Sweeper{pool: pool, every: every, forgetAfter: forgetAfter, logger: logger}, nil
}

// sweepBatch bounds each delete, so a sweep after a long pause is many short
// transactions rather than one long one (a long transaction holds back every
// consumer, see docs/event-store.md).
const sweepBatch = 1000

// Sweep deletes one round of expired rows.
func (s *Sweeper) Sweep(ctx context.Context) (sessions, counters int64, err error) {
	sessions, err = s.sweep(ctx, `
		DELETE FROM sessions WHERE token_hash IN (
			SELECT token_hash FROM sessions WHERE expires_at <= now()
			ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`, sweepBatch)
	if err != nil {
		return sessions, 0, err
	}
	counters, err = s.sweep(ctx, `
		DELETE FROM sign_in_throttle WHERE key IN (
			SELECT key FROM sign_in_throttle WHERE last_failure <= now() - $2::interval
			ORDER BY last_failure LIMIT $1 FOR UPDATE SKIP LOCKED)`, sweepBatch, s.forgetAfter.String())
	return sessions, counters, err
}

func (s *Sweeper) sweep(ctx context.Context, sql string, args ...any) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, sql, args...)
		if err != nil {
			return total, err
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < sweepBatch {
			return total, nil
		}
	}
}

// Run sweeps at start and then every interval until ctx ends. A failed
// sweep is logged and tried again next time: nothing depends on it but the
// size of two tables.
func (s *Sweeper) Run(ctx context.Context) error {
	for {
		sessions, counters, err := s.Sweep(ctx)
		var changes int64
		if err == nil {
			changes, err = s.SweepEmailChanges(ctx)
		}
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			s.logger.Warn("sweeping expired sessions and sign-in counters failed; trying again later", "err", err)
		case sessions+counters+changes > 0:
			s.logger.Info("swept", "expired_sessions", sessions, "forgotten_sign_in_counters", counters, "old_email_changes", changes)
		}
		// Login cards expire by the day, not by the second: a sweep every
		// SWEEP_INTERVAL is soon enough, as downloads check the expiry too.
		if cards, err := s.SweepLoginCards(ctx); err != nil && ctx.Err() == nil {
			s.logger.Warn("destroying expired login cards failed; trying again later", "err", err)
		} else if cards > 0 {
			s.logger.Info("destroyed expired login cards", "imports", cards)
		}
		jitter := time.Duration(rand.Int64N(int64(s.every)/5 + 1))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.every - s.every/10 + jitter):
		}
	}
}
