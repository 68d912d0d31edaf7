package projection_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// The imports read model is built from each event alone: the events table
// holds nothing here, so a projection that read the stream would go wrong.
// After every event its row is the import a replay gives, and its columns
// say the same.
func TestImportsViewFoldsEachEvent(t *testing.T) {
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	id, org, actor := uuid.New(), uuid.New(), uuid.New()
	life := []any{
		importsession.FileUploaded{ImportID: id, OrgID: org, ActorID: actor, ActorEmail: "root@school.org", ActorRole: "system_admin",
			Source: importsession.SourceCSV, FileName: "people.csv", FileSHA256: "ab12", Rows: 250, Headers: []string{"Email", "Name"},
			AccountType: importsession.AccountTypeUsers, UploadedAt: now},
		importsession.ColumnsMapped{Mapping: map[string]string{"Email": "email", "Name": "full_name"}, MappedAt: now},
		importsession.DefaultsChosen{ChosenAt: now},
		importsession.ValidationStarted{StartedAt: now},
		importsession.RowsValidated{Total: 250, New: 200, Existing: 30, Invalid: 20, ChangedUnder: make([]int, 16), ValidatedAt: now},
		importsession.VerificationSkipped{},
		importsession.ImportCommitted{ExpectedNew: 200, ExpectedExisting: 30, Chunks: 2, ChunkRows: 125, CommittedAt: now},
		importsession.CommitProgressed{Chunk: 0, Done: 60, Created: 60},
		importsession.CommitChunkCompleted{Chunk: 0, Done: 125, Created: 110, Updated: 15},
		importsession.CommitChunkCompleted{Chunk: 1, Done: 125, Created: 90, Updated: 15, Failed: 0},
		importsession.ImportCompleted{Created: 200, Updated: 30, Skipped: 20, CompletedAt: now.Add(time.Minute)},
	}
	tests := []struct {
		after           int // events folded
		state           string
		rowsNew, done   int
		created         int
		completedAtNull bool
	}{
		{1, "uploaded", 0, 0, 0, true},
		{5, "validated", 200, 0, 0, true},
		{8, "committing", 200, 60, 0, true},
		{9, "committing", 200, 125, 0, true},
		{11, "completed", 200, 230, 200, false},
	}
	p := projection.Imports{}
	folded := 0
	for _, tt := range tests {
		for ; folded < tt.after; folded++ {
			tx, err := pool.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Handle(ctx, tx, eventstore.Recorded{StreamID: importsession.StreamID(id), Version: int64(folded + 1), Data: life[folded]}); err != nil {
				t.Fatalf("event %d: %v", folded+1, err)
			}
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
		got, err := postgres.ImportView(ctx, pool, id)
		if err != nil {
			t.Fatal(err)
		}
		want := importsession.Rehydrate(life[:tt.after])
		if !reflect.DeepEqual(got.Snapshot().Version, want.Version()) || got.State() != want.State() || got.Counts() != want.Counts() ||
			got.Progress() != want.Progress() || !reflect.DeepEqual(got.Mapping(), want.Mapping()) {
			t.Fatalf("after %d events: %+v, want %+v", tt.after, got.Snapshot(), want.Snapshot())
		}
		var state, name string
		var rowsNew, done, created int
		var completedAt *time.Time
		if err := pool.QueryRow(ctx, `SELECT state, file_name, rows_new, progress_done, created, completed_at FROM imports_view WHERE id = $1`, id).
			Scan(&state, &name, &rowsNew, &done, &created, &completedAt); err != nil {
			t.Fatal(err)
		}
		if state != tt.state || name != "people.csv" || rowsNew != tt.rowsNew || done != tt.done || created != tt.created || (completedAt == nil) != tt.completedAtNull {
			t.Errorf("after %d events: columns %s %s new=%d done=%d created=%d completed_at=%v", tt.after, state, name, rowsNew, done, created, completedAt)
		}
	}

	// A redelivered event changes nothing; a gap in the stream is refused
	// rather than folded onto the wrong state.
	for _, c := range []struct {
		version int64
		wantErr string
	}{{3, ""}, {13, "rebuild the projection"}} {
		tx, err := pool.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = p.Handle(ctx, tx, eventstore.Recorded{StreamID: importsession.StreamID(id), Version: c.version, Data: importsession.ImportCancelled{}})
		_ = tx.Rollback(ctx)
		if (c.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.wantErr)) {
			t.Errorf("event %d: %v, want %q", c.version, err, c.wantErr)
		}
	}
	if got, _ := postgres.ImportView(ctx, pool, id); got.State() != importsession.StateCompleted {
		t.Errorf("state after a redelivery: %s", got.State())
	}
}
