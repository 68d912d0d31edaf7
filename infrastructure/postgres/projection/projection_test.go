package projection_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

var now = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

// handle applies one event in a transaction of its own, as the consumer's
// subscriber transaction would.
func handle(t *testing.T, pool *pgxpool.Pool, p postgres.Projection, ev eventstore.Recorded) {
	t.Helper()
	ctx := context.Background()
	if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return p.Handle(ctx, tx, ev) }); err != nil {
		t.Fatalf("%s handling %s v%d: %v", p.Name(), ev.Type, ev.Version, err)
	}
}

func rows(t *testing.T, pool *pgxpool.Pool, q string, args ...any) string {
	t.Helper()
	var s *string
	if err := pool.QueryRow(context.Background(), `SELECT string_agg(r::text, E'\n') FROM (`+q+`) r`, args...).Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		return ""
	}
	return *s
}

func TestAccountsProjection(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	p := projection.Accounts{}
	org, id := uuid.New(), uuid.New()
	g1, g2, t1, t2, t3 := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	stream := account.StreamID(id)
	ev := func(version int64, data any) eventstore.Recorded {
		return eventstore.Recorded{ID: uuid.New(), StreamID: stream, Version: version, Data: data, RecordedAt: now}
	}
	view := func() string {
		return rows(t, pool, `SELECT email, email_key, first_name, role, group_id = $2 AS in_g1, group_id = $3 AS in_g2, group_id IS NULL AS no_group,
			(SELECT array_agg(n ORDER BY n) FROM (SELECT CASE x WHEN $4 THEN 't1' WHEN $5 THEN 't2' WHEN $6 THEN 't3' END AS n FROM unnest(tag_ids) x) s) AS tags,
			import_id IS NULL AS no_import, version FROM accounts_view WHERE id = $1`, id, g1, g2, t1, t2, t3)
	}
	created := ev(1, account.AccountCreated{AccountID: id, OrgID: org, Email: "Sam.Staff@Lincoln.test", FirstName: "Sam", LastName: "Staff",
		Role: "user", GroupID: g1, TagIDs: []uuid.UUID{t1}, CreatedAt: now})

	steps := []struct {
		name string
		ev   eventstore.Recorded
		want string
	}{
		{"created", created, `(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,t,f,f,{t1},t,1)`},
		{"created again (a redelivery)", created, `(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,t,f,f,{t1},t,1)`},
		{"moved to g2, tags added once each", ev(2, account.AccountUpdated{AccountID: id, Group: &account.GroupChange{From: g1, To: g2}, TagsAdded: []uuid.UUID{t2, t1, t2}}),
			`(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,f,t,f,"{t1,t2}",t,2)`},
		{"a tag added, the group kept", ev(3, account.AccountUpdated{AccountID: id, TagsAdded: []uuid.UUID{t3}}),
			`(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,f,t,f,"{t1,t2,t3}",t,3)`},
		{"an older update arriving late changes nothing", ev(2, account.AccountUpdated{AccountID: id, Group: &account.GroupChange{From: g2, To: g1}}),
			`(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,f,t,f,"{t1,t2,t3}",t,3)`},
		{"taken out of every group", ev(4, account.AccountUpdated{AccountID: id, Group: &account.GroupChange{From: g2}}),
			`(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,,,t,"{t1,t2,t3}",t,4)`},
		{"events the list does not show", ev(5, account.PasswordChanged{AccountID: id, ChangedAt: now}),
			`(Sam.Staff@Lincoln.test,sam.staff@lincoln.test,Sam,user,,,t,"{t1,t2,t3}",t,4)`},
	}
	for _, s := range steps {
		handle(t, pool, p, s.ev)
		if got := view(); got != s.want {
			t.Fatalf("%s:\ngot  %s\nwant %s", s.name, got, s.want)
		}
	}

	// No tags and no import: an empty list and no import, never NULL tags.
	other := uuid.New()
	handle(t, pool, p, eventstore.Recorded{ID: uuid.New(), StreamID: account.StreamID(other), Version: 1,
		Data: account.AccountCreated{AccountID: other, OrgID: org, Email: "a@b.test", FirstName: "A", LastName: "B", Role: "admin", CreatedAt: now}})
	if got := rows(t, pool, `SELECT tag_ids, import_id, group_id FROM accounts_view WHERE id = $1`, other); got != `({},,)` {
		t.Fatalf("an account with no tags, group or import: %s", got)
	}
}

func TestAuditTrailProjection(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	p := projection.AuditTrail{}
	org, actor, id := uuid.New(), uuid.New(), uuid.New()
	created := eventstore.Recorded{ID: uuid.New(), StreamID: account.StreamID(id), Version: 1, Type: "AccountCreated", Position: 7, RecordedAt: now,
		Data:     account.AccountCreated{AccountID: id, OrgID: org, Email: "sam@lincoln.test", FirstName: "Sam", LastName: "Staff", Role: "user", CreatedAt: now},
		Metadata: eventstore.Metadata{ActorID: actor.String(), OrgID: org.String(), CorrelationID: "req-1"}}
	handle(t, pool, p, created)
	handle(t, pool, p, created) // redelivered
	// Made on the command line: no actor; a malformed id is no actor either.
	handle(t, pool, p, eventstore.Recorded{ID: uuid.New(), StreamID: account.StreamID(id), Version: 2, Type: "PasswordChanged", Position: 9, RecordedAt: now,
		Data: account.PasswordChanged{AccountID: id, ChangedAt: now}, Metadata: eventstore.Metadata{ActorID: "cli", OrgID: org.String()}})

	got := rows(t, pool, `SELECT position, stream_version, event_type, org_id = $1, actor_id = $2, actor_id IS NULL, correlation_id,
		data->>'Email' FROM audit_trail ORDER BY position`, org, actor)
	want := "(7,1,AccountCreated,t,t,f,req-1,sam@lincoln.test)\n(9,2,PasswordChanged,t,,t,\"\",)"
	if got != want {
		t.Fatalf("audit trail:\ngot  %s\nwant %s", got, want)
	}
}

func TestImportsProjection(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	codec := eventcodec.Rollcall()
	store, err := postgres.NewEventStore(pool, codec)
	if err != nil {
		t.Fatal(err)
	}
	imports := postgres.NewImports(store)
	p := projection.Imports{}
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
	for _, step := range []func(*importsession.Import) error{
		func(imp *importsession.Import) error {
			m, err := importsession.NewMapping(imp.File().Headers, imp.File().SuggestedMapping, root)
			if err != nil {
				return err
			}
			return imp.MapColumns(root, m, now.Add(time.Minute))
		},
		func(imp *importsession.Import) error { return imp.Cancel(root, now.Add(2*time.Minute)) },
	} {
		if _, err := imports.Update(ctx, imp.ID(), meta, step); err != nil {
			t.Fatal(err)
		}
	}
	recorded, err := store.Load(ctx, importsession.StreamID(imp.ID()))
	if err != nil || len(recorded) != 3 {
		t.Fatalf("stream: %d events, %v", len(recorded), err)
	}
	view := func() string {
		return rows(t, pool, `SELECT state, version, snapshot->>'State', step, updated_at = $2 FROM imports_view WHERE id = $1`,
			imp.ID(), now.Add(time.Minute))
	}
	// Each event moves the import on by itself; a late redelivery never
	// takes it back.
	for _, s := range []struct {
		name string
		ev   eventstore.Recorded
		want string
	}{
		{"uploaded", recorded[0], "(uploaded,1,uploaded,mapping,f)"},
		{"mapped", recorded[1], "(mapped,2,mapped,defaults,t)"},
		{"the upload redelivered", recorded[0], "(mapped,2,mapped,defaults,t)"},
		{"cancelled", recorded[2], "(cancelled,3,cancelled,done,f)"},
		{"the mapping redelivered", recorded[1], "(cancelled,3,cancelled,done,f)"},
	} {
		handle(t, pool, p, s.ev)
		if got := view(); got != s.want {
			t.Fatalf("%s:\ngot  %s\nwant %s", s.name, got, s.want)
		}
	}
	var doc map[string]any
	var fileName string
	if err := pool.QueryRow(ctx, `SELECT snapshot, file_name FROM imports_view WHERE id = $1`, imp.ID()).Scan(&doc, &fileName); err != nil {
		t.Fatal(err)
	}
	if doc["ID"] != imp.ID().String() || doc["CreatedBy"] != root.ID.String() || fileName != "people.csv" || !strings.Contains(fmt.Sprint(doc["File"]), "people.csv") {
		t.Fatalf("the stored import: %s %v", fileName, doc)
	}
	if b, _ := json.Marshal(doc); strings.Contains(strings.ToLower(string(b)), "password\":\"") {
		t.Fatalf("the stored import holds a password: %s", b)
	}

	// Events of other streams are not imports.
	acc := uuid.New()
	handle(t, pool, p, eventstore.Recorded{ID: uuid.New(), StreamID: account.StreamID(acc), Version: 1,
		Data: account.AccountCreated{AccountID: acc, OrgID: root.OrgID, Email: "a@b.test", FirstName: "A", LastName: "B", Role: "user", CreatedAt: now}})
	if got := rows(t, pool, `SELECT count(*) FROM imports_view`); got != "(1)" {
		t.Fatalf("imports_view rows: %s", got)
	}
}
