package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// A consumer's next batch must be a range of the (transaction_id, offset)
// index that starts at the checkpoint. Written as "same transaction and a
// later offset, or a later transaction", PostgreSQL bounded only the top
// of the scan and walked the index from the first event at every batch, so
// a rebuild of a million events took the square of its size. The plan is
// asked for with sequential scans off, so that it shows which conditions
// the index scan is bounded by whatever the table's size.
func TestNextBatchIsAnIndexRangeFromTheCheckpoint(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.MustOpenDB(t)
	if _, err := pool.Exec(ctx, `INSERT INTO event_checkpoints (consumer_group, offset_acked, last_processed_transaction_id) VALUES ('plan.v1', 0, '0')`); err != nil {
		t.Fatal(err)
	}
	for name, query := range map[string]func() (string, []any){
		"next batch": func() (string, []any) {
			q, args, err := postgres.NextBatchQuery("plan.v1")
			if err != nil {
				t.Fatal(err)
			}
			return q, args
		},
	} {
		t.Run(name, func(t *testing.T) {
			sql, args := query()
			var plan []string
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
					return err
				}
				rows, err := tx.Query(ctx, "EXPLAIN "+sql, args...)
				if err != nil {
					return err
				}
				plan, err = pgx.CollectRows(rows, pgx.RowTo[string])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			text := strings.Join(plan, "\n")
			if !strings.Contains(text, `Index Cond: ((ROW(transaction_id, "offset") > ROW(`) {
				t.Errorf("the batch is not an index range starting at the checkpoint:\n%s", text)
			}
		})
	}
}
