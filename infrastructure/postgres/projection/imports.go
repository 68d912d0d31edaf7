package projection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// Imports keeps one row per import: the columns lists, filters and
// operators use, and the import's state as of the row's version. Each
// event is folded onto that state by the aggregate's own apply, so the
// read model shows exactly what the domain decided with no second copy of
// the state machine, and no event stream is read: a million-row commit's
// thousand progress events cost a thousand small updates, not a thousand
// replays.
type Imports struct{}

func (Imports) Name() string     { return "imports" }
func (Imports) Version() int     { return 2 }
func (Imports) Tables() []string { return []string{"imports_view"} }

func (Imports) Handle(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	id, ok := importsession.IDOfStream(ev.StreamID)
	if !ok {
		return nil
	}
	imp, err := postgres.ImportView(ctx, tx, id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		imp = importsession.FromSnapshot(importsession.Snapshot{})
	case err != nil:
		return err
	}
	if ev.Version <= imp.Version() {
		return nil // a redelivery: folded already
	}
	if ev.Version != imp.Version()+1 {
		return fmt.Errorf("imports view: %s is at version %d and got event %d; rebuild the projection (rollcall projections rebuild imports)",
			ev.StreamID, imp.Version(), ev.Version)
	}
	imp.Fold(ev.Data)
	return SaveImport(ctx, tx, imp)
}

// SaveImport writes the import's row.
func SaveImport(ctx context.Context, tx pgx.Tx, imp *importsession.Import) error {
	snapshot, err := json.Marshal(imp.Snapshot())
	if err != nil {
		return fmt.Errorf("imports view: %w", err)
	}
	f, c, p := imp.File(), imp.Counts(), imp.Progress()
	headers, err := json.Marshal(nonNil(f.Headers))
	if err != nil {
		return err
	}
	var done importsession.ImportCompleted
	var completedAt any
	if st := imp.State(); st == importsession.StateCompleted || st == importsession.StateUndoing || st == importsession.StateUndone {
		done, completedAt = imp.Completed(), imp.Completed().CompletedAt
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO imports_view (id, org_id, created_by, created_by_email, source, account_type, state, step,
			file_name, file_sha256, file_rows, file_headers,
			rows_total, rows_new, rows_existing, rows_changed, rows_unchanged, rows_invalid, rows_blank,
			progress_done, progress_total, created, updated, failed, follow_up_of, completed_at,
			created_at, updated_at, version, snapshot, course_ids)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
			$20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31)
		ON CONFLICT (id) DO UPDATE SET created_by_email = excluded.created_by_email, source = excluded.source,
			account_type = excluded.account_type, state = excluded.state, step = excluded.step,
			file_name = excluded.file_name, file_sha256 = excluded.file_sha256, file_rows = excluded.file_rows,
			file_headers = excluded.file_headers, rows_total = excluded.rows_total, rows_new = excluded.rows_new,
			rows_existing = excluded.rows_existing, rows_changed = excluded.rows_changed,
			rows_unchanged = excluded.rows_unchanged, rows_invalid = excluded.rows_invalid, rows_blank = excluded.rows_blank,
			progress_done = excluded.progress_done, progress_total = excluded.progress_total, created = excluded.created,
			updated = excluded.updated, failed = excluded.failed, follow_up_of = excluded.follow_up_of,
			completed_at = excluded.completed_at, updated_at = excluded.updated_at, version = excluded.version,
			snapshot = excluded.snapshot, course_ids = excluded.course_ids
		WHERE imports_view.version < excluded.version`,
		imp.ID(), imp.OrgID(), imp.CreatedBy(), imp.CreatedByEmail(), imp.Source(), imp.AccountType(), string(imp.State()),
		string(imp.State().Step()), imp.Name(), f.FileSHA256, f.Rows, headers,
		c.Total, c.New, c.Existing, c.Changed, c.Unchanged, c.Invalid, c.Blank,
		p.Done, p.Total, done.Created, done.Updated, done.Failed, optionalID(imp.FollowUpOf()), completedAt,
		imp.CreatedAt(), imp.UpdatedAt(), imp.Version(), snapshot, courseIDs(imp))
	return err
}

// courseIDs are the Google Classroom classes the import read.
func courseIDs(imp *importsession.Import) []string {
	ids := []string{}
	for _, c := range imp.Classroom().Courses {
		ids = append(ids, c.ID)
	}
	return ids
}

func optionalID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
