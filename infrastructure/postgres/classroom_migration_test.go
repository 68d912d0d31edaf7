package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
	"github.com/rollcall/rollcall/migrations"
)

// Migration 00080 fills in, for imports made before it, which classes each
// import read (from the read model's snapshot) and, where the import read
// one class only, each roster row's class; rows of a several-class import
// cannot be told apart and stay without. The migration's own UPDATEs are
// run again on rows made to look old.
func TestClassroomResyncMigrationBackfill(t *testing.T) {
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	org := uuid.New()
	one, two := uuid.New(), uuid.New()
	for id, courses := range map[uuid.UUID][]string{one: {"bio"}, two: {"bio", "art"}} {
		var cs []importsession.ClassroomCourse
		for _, c := range courses {
			cs = append(cs, importsession.ClassroomCourse{ID: c})
		}
		imp := importsession.Rehydrate([]any{importsession.ClassroomRosterFetched{ImportID: id, OrgID: org, ActorID: uuid.New(), ActorRole: string(tenancy.RoleSystemAdmin), Courses: cs, FetchedAt: time.Now()}})
		if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return projection.SaveImport(ctx, tx, imp) }); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `INSERT INTO import_rows (import_id, row_number, org_id, status, seq_all, seq_status) VALUES ($1, 1, $2, 'new', 1, 1)`, id, org); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE imports_view SET course_ids = '{}'`); err != nil {
		t.Fatal(err)
	}
	raw, err := migrations.FS.ReadFile("00080_classroom_resync.sql")
	if err != nil {
		t.Fatal(err)
	}
	up := strings.Split(strings.Split(string(raw), "-- +goose Down")[0], ";")
	ran := 0
	for _, stmt := range up {
		if strings.Contains(stmt, "UPDATE") {
			if _, err := pool.Exec(ctx, stmt[strings.Index(stmt, "UPDATE"):]); err != nil {
				t.Fatal(err)
			}
			ran++
		}
	}
	if ran != 2 {
		t.Fatalf("found %d UPDATE statements in the migration, want 2", ran)
	}
	var oneRows, twoRows, twoView []string
	for _, q := range []struct {
		sql  string
		id   uuid.UUID
		into *[]string
	}{
		{`SELECT course_ids FROM import_rows WHERE import_id = $1`, one, &oneRows},
		{`SELECT course_ids FROM import_rows WHERE import_id = $1`, two, &twoRows},
		{`SELECT course_ids FROM imports_view WHERE id = $1`, two, &twoView},
	} {
		if err := pool.QueryRow(ctx, q.sql, q.id).Scan(q.into); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Join(oneRows, ",") != "bio" || len(twoRows) != 0 || strings.Join(twoView, ",") != "bio,art" {
		t.Fatalf("one-class import's rows %v, two-class import's rows %v and classes %v", oneRows, twoRows, twoView)
	}
}
