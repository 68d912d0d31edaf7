package postgres

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/importsession"
)

// SagaConsumer runs the import saga as a consumer: its effects (jobs to
// start, secrets to forget) are written in the transaction that moves the
// saga's checkpoint past the event, so each happens exactly once.
func SagaConsumer(group string, handle func(ctx context.Context, ev eventstore.Recorded, fx importing.Effects) error) Consumer {
	return Consumer{Group: group, Handle: func(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
		return handle(ctx, ev, sagaEffects{tx: tx})
	}}
}

type sagaEffects struct{ tx pgx.Tx }

func (fx sagaEffects) EnqueueJob(ctx context.Context, spec importing.JobSpec) error {
	return EnqueueJob(ctx, fx.tx, JobSpec(spec))
}

func (fx sagaEffects) ForgetSecrets(ctx context.Context, importID uuid.UUID) error {
	if _, err := fx.tx.Exec(ctx, `DELETE FROM import_secrets WHERE import_id = $1`, importID); err != nil {
		return err
	}
	_, err := fx.tx.Exec(ctx, `UPDATE import_rows SET password_sealed = NULL WHERE import_id = $1 AND password_sealed IS NOT NULL`, importID)
	return err
}

func (fx sagaEffects) DestroyLoginCards(ctx context.Context, importID uuid.UUID) error {
	_, err := fx.tx.Exec(ctx, `DELETE FROM login_card_windows WHERE import_id = $1`, importID)
	return err
}

// AccountList tells whether the accounts read model has applied every event
// of an import: the import's newest event was appended after all its
// accounts' events committed, and consumers apply events in transaction
// order, so once the read model's checkpoint is past that event it shows
// them all.
type AccountList struct {
	pool  *pgxpool.Pool
	group string
}

var _ importing.AccountList = (*AccountList)(nil)

// NewAccountList watches the consumer group of the accounts read model.
func NewAccountList(pool *pgxpool.Pool, group string) *AccountList {
	return &AccountList{pool: pool, group: group}
}

// ShowsImport reports whether the read model is past the import's newest
// event.
func (l *AccountList) ShowsImport(ctx context.Context, importID uuid.UUID) (bool, error) {
	var shown bool
	err := l.pool.QueryRow(ctx, `
		SELECT coalesce((
			SELECT c.last_processed_transaction_id > e.transaction_id
			    OR (c.last_processed_transaction_id = e.transaction_id AND c.offset_acked >= e."offset")
			FROM event_checkpoints c,
			     (SELECT transaction_id, "offset" FROM events WHERE stream_id = $1 ORDER BY stream_version DESC LIMIT 1) e
			WHERE c.consumer_group = $2), false)`, importsession.StreamID(importID), l.group).Scan(&shown)
	return shown, err
}
