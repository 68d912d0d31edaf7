package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
)

// Projection builds one read model from the events.
type Projection interface {
	// Name is the read model's name in `rollcall projections rebuild NAME`.
	Name() string
	// Version goes up when the read model's shape changes; a new version is a
	// new consumer group that builds from zero.
	Version() int
	// Tables are emptied by a rebuild.
	Tables() []string
	// Handle applies one event inside the subscriber's transaction; it must
	// be idempotent and ignore events it has no use for.
	Handle(ctx context.Context, tx pgx.Tx, event eventstore.Recorded) error
}

// ProjectionGroup is the projection's consumer group: proj.<name>.v<N>.
func ProjectionGroup(p Projection) string {
	return fmt.Sprintf("proj.%s.v%d", p.Name(), p.Version())
}

// ProjectionConsumer runs a projection as a consumer.
func ProjectionConsumer(p Projection) Consumer {
	return Consumer{Group: ProjectionGroup(p), Handle: p.Handle, Deferred: true}
}

// Lag is how far a consumer group is behind the event store.
type Lag struct {
	Group string
	// Pending counts stored events the group has not processed yet.
	Pending int64
	// LastProcessed is when the group's newest processed event was
	// recorded; zero when it has processed none.
	LastProcessed time.Time
}

// ConsumerLag measures each group's lag (a group without a checkpoint is
// behind every event). Counting is a scan of the events at a million
// (~0.5 s): fine for `projections status`, not for polling (hasPending).
func ConsumerLag(ctx context.Context, pool *pgxpool.Pool, groups ...string) ([]Lag, error) {
	out := make([]Lag, 0, len(groups))
	for _, g := range groups {
		l := Lag{Group: g}
		var last *time.Time
		err := pool.QueryRow(ctx, `
			WITH c AS (SELECT * FROM event_checkpoints WHERE consumer_group = $1)
			SELECT
				(SELECT count(*) FROM events e
				 WHERE (e.transaction_id, e."offset") > (coalesce((SELECT last_processed_transaction_id FROM c), '0'),
				                                         coalesce((SELECT offset_acked FROM c), 0))),
				(SELECT e.created_at FROM events e, c
				 WHERE e.transaction_id = c.last_processed_transaction_id AND e."offset" = c.offset_acked)`,
			g).Scan(&l.Pending, &last)
		if err != nil {
			return nil, fmt.Errorf("lag of %s: %w", g, err)
		}
		if last != nil {
			l.LastProcessed = *last
		}
		out = append(out, l)
	}
	return out, nil
}

// ResetProjection empties the projection's tables and moves its checkpoint
// back to the start, in one transaction: a reader sees either the old read
// model or an empty one that is filling up, never a mix. A running consumer of
// the same group simply replays from the start.
func ResetProjection(ctx context.Context, pool *pgxpool.Pool, p Projection) error {
	group := ProjectionGroup(p)
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// Lock the checkpoint before the tables, the same order a running
		// subscriber takes them in, so the two cannot deadlock.
		if _, err := tx.Exec(ctx, `
			INSERT INTO event_checkpoints (consumer_group, offset_acked, last_processed_transaction_id)
			VALUES ($1, 0, '0') ON CONFLICT DO NOTHING`, group); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM event_checkpoints WHERE consumer_group = $1 FOR UPDATE`, group); err != nil {
			return err
		}
		for _, table := range p.Tables() {
			if _, err := tx.Exec(ctx, "TRUNCATE "+pgx.Identifier{table}.Sanitize()); err != nil {
				return fmt.Errorf("truncate %s: %w", table, err)
			}
		}
		_, err := tx.Exec(ctx, `
			UPDATE event_checkpoints SET offset_acked = 0, last_processed_transaction_id = '0'
			WHERE consumer_group = $1`, group)
		return err
	})
}

// RebuildProjection resets the projection and replays every event into it,
// returning once it has caught up with the store.
func RebuildProjection(ctx context.Context, pool *pgxpool.Pool, codec Codec, logger *slog.Logger, opts ConsumerOptions, p Projection) error {
	if err := ResetProjection(ctx, pool, p); err != nil {
		return fmt.Errorf("reset %s: %w", p.Name(), err)
	}
	return CatchUp(ctx, pool, codec, logger, opts, ProjectionConsumer(p))
}

// CatchUp runs one consumer until it has no pending events left.
func CatchUp(ctx context.Context, pool *pgxpool.Pool, codec Codec, logger *slog.Logger, opts ConsumerOptions, c Consumer) error {
	consumers, err := NewConsumers(pool, codec, logger, opts, c)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- consumers.Run(ctx) }()
	defer func() {
		_ = consumers.Close()
		<-runErr
	}()

	ticker := time.NewTicker(100 * time.Millisecond)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-runErr:
			runErr <- err
			return errors.Join(errors.New("consumer stopped before catching up"), err)
		case <-ticker.C:
			pending, err := hasPending(ctx, pool, c.Group)
			if err != nil {
				return err
			}
			if !pending {
				return nil
			}
		}
	}
}

// hasPending reports whether the group has an event left to process. It
// asks for the first such event in index order rather than counting them:
// PostgreSQL cannot estimate a row comparison on xid8 and counts a million
// events by a full scan, which a catch-up polling ten times a second would
// pay again and again.
func hasPending(ctx context.Context, pool *pgxpool.Pool, group string) (bool, error) {
	var pending bool
	err := pool.QueryRow(ctx, `
		WITH c AS (SELECT * FROM event_checkpoints WHERE consumer_group = $1)
		SELECT (SELECT e."offset" FROM events e
		        WHERE (e.transaction_id, e."offset") > (coalesce((SELECT last_processed_transaction_id FROM c), '0'),
		                                                coalesce((SELECT offset_acked FROM c), 0))
		        ORDER BY e.transaction_id, e."offset" LIMIT 1) IS NOT NULL`, group).Scan(&pending)
	if err != nil {
		return false, fmt.Errorf("pending events of %s: %w", group, err)
	}
	return pending, nil
}
