package main

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// BenchmarkRebuildAll times `rollcall projections rebuild all` over a store
// of ROLLCALL_BENCH_EVENTS events (default 100,000; docs/benchmarks.md gives
// the figure for 1,000,000): one real import of ROLLCALL_BENCH_REBUILD_ROWS
// rows committed through the application, so every read model has its own
// kind of events, and the rest accounts created one event each, as the
// command line and imports create them. The stored events are appended
// before the timer starts; the timer covers resetting each read model and
// replaying every event into it, one read model after the other, as the
// command does.
func BenchmarkRebuildAll(b *testing.B) {
	events := benchRows(b, "ROLLCALL_BENCH_EVENTS", 100_000)
	importRows := benchRows(b, "ROLLCALL_BENCH_REBUILD_ROWS", 5_000)
	ctx := context.Background()
	m := benchMain(b)
	defer m.Close()
	a, err := m.importing(ctx)
	if err != nil {
		b.Fatal(err)
	}
	orgID, err := a.reference.CreateOrganization(ctx, "Rebuild School")
	if err != nil {
		b.Fatal(err)
	}
	actor := tenancy.Actor{ID: uuid.New(), OrgID: orgID, Email: "bench@school.org", Role: tenancy.RoleSystemAdmin}
	stop := runBackground(b, m, a)
	imp := uploadAndValidate(b, a, actor, writeFile(b, importRows, false), true)
	commit(b, a, actor, imp.ID())
	stop()

	pool, err := m.db(ctx)
	if err != nil {
		b.Fatal(err)
	}
	store, err := postgres.NewEventStore(pool, m.codec())
	if err != nil {
		b.Fatal(err)
	}
	stored := countEvents(b, pool)
	meta := eventstore.Metadata{ActorID: actor.ID.String(), OrgID: orgID.String()}
	for n := 0; stored < events; n++ {
		batch := min(1000, events-stored)
		appends := make([]eventstore.Append, 0, batch)
		for i := range batch {
			email, _ := account.NewEmail(fmt.Sprintf("person%d.%d@rebuild.school", n, i))
			acc, err := account.Create(account.New{ID: uuid.New(), OrgID: orgID, Email: email, FirstName: "Person",
				LastName: fmt.Sprint(n*1000 + i), Role: tenancy.RoleUser}, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			appends = append(appends, eventstore.Append{StreamID: account.StreamID(acc.ID()),
				Events: []eventstore.Event{{ID: uuid.New(), Data: acc.PendingEvents()[0], Metadata: meta}}})
		}
		if err := store.Append(ctx, appends...); err != nil {
			b.Fatal(err)
		}
		stored += batch
	}
	stored = countEvents(b, pool)
	m.Stdout = os.Stdout // the command's own line per read model

	for b.Loop() {
		start := time.Now()
		if err := m.Projections(ctx, []string{"rebuild", "all"}); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		b.ReportMetric(float64(stored)/took.Seconds(), "events/s")
		fmt.Printf("rebuild all: %d read models from %d events in %s (%.0f events/s per read model)\n",
			len(projection.All()), stored, took.Round(time.Millisecond), float64(stored)*float64(len(projection.All()))/took.Seconds())
	}
}

func countEvents(b *testing.B, pool *pgxpool.Pool) int {
	b.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}
