package postgres_test

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// classroomFixture is one Google Classroom import as the read models and
// the event store hold it: its classes, its roster rows (email → classes),
// and how far it went.
type classroomFixture struct {
	org     uuid.UUID
	courses []string
	rows    map[string][]string
	state   string // "completed", "undone", "validated"
	at      time.Time
}

// Which earlier imports of a class count for a re-sync, and for the
// classes page: completed (not undone) ones, of the organization only.
func TestClassroomHistory(t *testing.T) {
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	orgA, orgB := uuid.New(), uuid.New()
	base := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	fixtures := map[string]classroomFixture{
		"first":     {orgA, []string{"bio"}, map[string][]string{"ana@a.test": {"bio"}, "bo@a.test": {"bio"}}, "completed", base},
		"second":    {orgA, []string{"bio", "art"}, map[string][]string{"ana@a.test": {"bio"}, "cy@a.test": {"art"}}, "completed", base.Add(time.Hour)},
		"undone":    {orgA, []string{"bio"}, map[string][]string{"dan@a.test": {"bio"}}, "undone", base.Add(2 * time.Hour)},
		"open":      {orgA, []string{"bio"}, map[string][]string{"eve@a.test": {"bio"}}, "validated", base.Add(3 * time.Hour)},
		"other org": {orgB, []string{"bio"}, map[string][]string{"zed@b.test": {"bio"}}, "completed", base.Add(4 * time.Hour)},
	}
	ids := map[string]uuid.UUID{}
	for name, f := range fixtures {
		ids[name] = uuid.New()
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return seedClassroomImport(ctx, tx, ids[name], f) }); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	h := postgres.NewClassroomHistory(pool)

	last, err := h.LastImports(ctx, orgA, []string{"bio", "art", "chem"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]command.LastImport{"bio": {ID: ids["second"], At: base.Add(time.Hour)}, "art": {ID: ids["second"], At: base.Add(time.Hour)}}
	if !reflect.DeepEqual(last, want) {
		t.Fatalf("last imports %v\nwant         %v", last, want)
	}
	if last, err := h.LastImports(ctx, orgB, []string{"bio", "art"}); err != nil || len(last) != 1 || last["bio"].ID != ids["other org"] {
		t.Fatalf("the other organization's last imports: %v %v", last, err)
	}

	members, err := h.EarlierMembers(ctx, orgA, uuid.New(), []string{"bio"})
	if err != nil {
		t.Fatal(err)
	}
	var emails []string
	for _, m := range members {
		emails = append(emails, m.Email)
	}
	// Most recent import first; Cy was in Art only; Dan's import was
	// undone, Eve's is not committed, Zed is another organization's.
	if want := []string{"ana@a.test", "ana@a.test", "bo@a.test"}; !reflect.DeepEqual(emails, want) {
		t.Fatalf("earlier members of Biology %v, want %v", emails, want)
	}
	if members, err := h.EarlierMembers(ctx, orgA, ids["second"], []string{"bio"}); err != nil || len(members) != 2 {
		t.Fatalf("the import itself is not its own earlier import: %v %v", members, err)
	}

	elsewhere, err := h.InOtherClasses(ctx, orgA, []string{"bio"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(elsewhere, map[string]bool{"cy@a.test": true}) {
		t.Fatalf("in other classes than Biology: %v", elsewhere)
	}

	for name, read := range map[string]func() error{
		"last imports":     func() error { _, err := h.LastImports(ctx, uuid.Nil, []string{"bio"}); return err },
		"earlier members":  func() error { _, err := h.EarlierMembers(ctx, uuid.Nil, uuid.New(), []string{"bio"}); return err },
		"in other classes": func() error { _, err := h.InOtherClasses(ctx, uuid.Nil, []string{"bio"}); return err },
	} {
		if read() == nil {
			t.Errorf("%s without an organization is not refused", name)
		}
	}
}

// seedClassroomImport writes an import's read-model row (through the
// projection's own SaveImport), its roster rows, and the events that say
// it completed or was undone.
func seedClassroomImport(ctx context.Context, tx pgx.Tx, id uuid.UUID, f classroomFixture) error {
	actor := tenancy.Actor{ID: uuid.New(), OrgID: f.org, Email: "root@school.test", Role: tenancy.RoleSystemAdmin}
	var courses []importsession.ClassroomCourse
	for _, c := range f.courses {
		courses = append(courses, importsession.ClassroomCourse{ID: c, Name: c})
	}
	events := []any{
		importsession.ClassroomRosterFetched{ImportID: id, OrgID: f.org, ActorID: actor.ID, ActorRole: string(actor.Role), Courses: courses, People: len(f.rows), FetchedAt: f.at},
		importsession.DefaultsChosen{PasswordSet: true, ChosenAt: f.at}, importsession.ValidationStarted{StartedAt: f.at},
		importsession.RowsValidated{Total: len(f.rows), New: len(f.rows), ValidatedAt: f.at},
	}
	stored := []string{}
	if f.state != "validated" {
		events = append(events, importsession.VerificationSkipped{}, importsession.ImportCommitted{ExpectedNew: len(f.rows), Chunks: 1, ChunkRows: 100, CommittedAt: f.at},
			importsession.CommitChunkCompleted{Chunk: 0, Done: len(f.rows), Created: len(f.rows)}, importsession.ImportCompleted{Created: len(f.rows), CompletedAt: f.at})
		stored = append(stored, "ImportCompleted")
	}
	if f.state == "undone" {
		events = append(events, importsession.UndoStarted{Chunks: 1, ChunkRows: 100, StartedAt: f.at})
		stored = append(stored, "UndoStarted")
	}
	if err := projection.SaveImport(ctx, tx, importsession.Rehydrate(events)); err != nil {
		return err
	}
	for i, typ := range stored {
		if _, err := tx.Exec(ctx, `INSERT INTO events (uuid, stream_id, stream_version, event_type, payload, created_at) VALUES ($1, $2, $3, $4, '{}', $5)`,
			uuid.NewString(), importsession.StreamID(id), 100+i, typ, f.at); err != nil {
			return err
		}
	}
	row := 0
	for _, email := range slices.Sorted(maps.Keys(f.rows)) {
		row++
		if _, err := tx.Exec(ctx, `INSERT INTO import_rows (import_id, row_number, org_id, status, email, email_key, seq_all, seq_status, course_ids)
			VALUES ($1, $2, $3, 'new', $4, $4, $2, $2, $5)`, id, row, f.org, email, f.rows[email]); err != nil {
			return err
		}
	}
	return nil
}
