package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// An import is loaded from the imports read model's snapshot and the events
// after it; whatever the read model has folded so far (nothing, some, all),
// the import is the one the whole stream gives.
func TestLoadStartsFromTheReadModel(t *testing.T) {
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	codec := eventcodec.Rollcall()
	store, err := postgres.NewEventStore(pool, codec)
	if err != nil {
		t.Fatal(err)
	}
	imports := postgres.NewImports(store)
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	root := tenancy.Actor{ID: uuid.New(), OrgID: uuid.New(), Email: "root@lincoln.test", Role: tenancy.RoleSystemAdmin}
	meta := command.Metadata{ActorID: root.ID, OrgID: root.OrgID}
	imp, err := importsession.NewImport(root, importsession.Upload{ID: uuid.New(), Source: "csv", FileName: "people.csv", Rows: 2,
		Headers: []string{"First Name", "Last Name", "Email"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := imports.Add(ctx, imp, meta); err != nil {
		t.Fatal(err)
	}
	steps := []func(*importsession.Import) error{
		func(imp *importsession.Import) error {
			m, err := importsession.NewMapping(imp.File().Headers, imp.File().SuggestedMapping, root)
			if err != nil {
				return err
			}
			return imp.MapColumns(root, m, now)
		},
		func(imp *importsession.Import) error {
			return imp.ChooseDefaults(root, importsession.Defaults{PasswordSet: true}, now)
		},
		func(imp *importsession.Import) error { return imp.StartValidation(root, now) },
	}
	for _, step := range steps {
		if _, err := imports.Update(ctx, imp.ID(), meta, step); err != nil {
			t.Fatal(err)
		}
	}
	recorded, err := store.Load(ctx, importsession.StreamID(imp.ID()))
	if err != nil {
		t.Fatal(err)
	}
	events := make([]any, len(recorded))
	for i, r := range recorded {
		events[i] = r.Data
	}
	want := importsession.Rehydrate(events)
	rm := postgres.NewReadModels(pool, codec)
	for folded := 0; folded <= len(recorded); folded++ {
		if folded > 0 {
			project(t, pool, recorded[folded-1])
		}
		got, err := imports.Load(ctx, imp.ID())
		if err != nil {
			t.Fatal(err)
		}
		// Printed, as a stored empty list and no list are alike.
		if fmt.Sprintf("%+v", got.Snapshot()) != fmt.Sprintf("%+v", want.Snapshot()) {
			t.Fatalf("with %d events in the read model:\n got  %+v\n want %+v", folded, got.Snapshot(), want.Snapshot())
		}
		current, err := rm.CurrentImport(ctx, root.OrgID, imp.ID())
		if err != nil || current.Version() != want.Version() || current.State() != importsession.StateValidating {
			t.Fatalf("with %d events in the read model, the reader sees version %d (%v), want %d", folded, current.Version(), err, want.Version())
		}
		stored, err := rm.StoredImport(ctx, root.OrgID, imp.ID())
		if folded == 0 {
			if err == nil {
				t.Fatal("the read model answered before it held the import")
			}
		} else if err != nil || stored.Version() != int64(folded) {
			t.Fatalf("the read model alone: version %v (%v), want %d", stored, err, folded)
		}
	}
	if _, err := rm.CurrentImport(ctx, uuid.New(), imp.ID()); err == nil {
		t.Fatal("another organization read the import")
	}
}

// project folds one event into the imports read model.
func project(t *testing.T, pool *pgxpool.Pool, ev eventstore.Recorded) {
	t.Helper()
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if err := (projection.Imports{}).Handle(ctx, tx, ev); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}
