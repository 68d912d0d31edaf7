package projection_test

import (
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// The account list follows an import's undo: an account it created is
// deactivated; one it changed gets its names and group back, loses only
// the tags the import added, and is deactivated again if the import had
// reactivated it. Redelivered and late events change nothing.
func TestAccountsProjectionFollowsUndo(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	p := projection.Accounts{}
	org, id, undo := uuid.New(), uuid.New(), uuid.New()
	g1, g2, t1, t2 := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	stream := account.StreamID(id)
	ev := func(version int64, data any) eventstore.Recorded {
		return eventstore.Recorded{ID: uuid.New(), StreamID: stream, Version: version, Data: data, RecordedAt: now}
	}
	view := func() string {
		return rows(t, pool, `SELECT first_name, last_name, active, group_id = $2 AS in_g1, group_id = $3 AS in_g2,
			(SELECT array_agg(n ORDER BY n) FROM (SELECT CASE x WHEN $4 THEN 't1' WHEN $5 THEN 't2' END AS n FROM unnest(tag_ids) x) s) AS tags,
			version FROM accounts_view WHERE id = $1`, id, g1, g2, t1, t2)
	}
	restored := ev(5, account.AccountRestored{AccountID: id, UndoOf: undo, FirstName: &account.TextChange{From: "Samuel", To: "Sam"},
		Group: &account.GroupChange{From: g2, To: g1}, TagsRemoved: []uuid.UUID{t2}, Deactivated: true, RestoredAt: now})
	steps := []struct {
		name string
		ev   eventstore.Recorded
		want string
	}{
		{"created", ev(1, account.AccountCreated{AccountID: id, OrgID: org, Email: "sam@lincoln.test", FirstName: "Sam", LastName: "Staff",
			Role: "user", GroupID: g1, TagIDs: []uuid.UUID{t1}, CreatedAt: now}), `(Sam,Staff,t,t,f,{t1},1)`},
		{"deactivated by an earlier undo", ev(2, account.AccountDeactivated{AccountID: id, UndoOf: uuid.New(), DeactivatedAt: now}), `(Sam,Staff,f,t,f,{t1},2)`},
		{"deactivated again (a redelivery)", ev(2, account.AccountDeactivated{AccountID: id, UndoOf: uuid.New(), DeactivatedAt: now}), `(Sam,Staff,f,t,f,{t1},2)`},
		{"reactivated, renamed, moved and tagged by an import", ev(3, account.AccountUpdated{AccountID: id, FirstName: &account.TextChange{From: "Sam", To: "Samuel"},
			Group: &account.GroupChange{From: g1, To: g2}, TagsAdded: []uuid.UUID{t2}, Reactivated: true}), `(Samuel,Staff,t,f,t,"{t1,t2}",3)`},
		{"a later change of the last name", ev(4, account.AccountUpdated{AccountID: id, LastName: &account.TextChange{From: "Staff", To: "Stone"}}),
			`(Samuel,Stone,t,f,t,"{t1,t2}",4)`},
		{"that import undone: names, group and tags back, deactivated again, the later change kept", restored, `(Sam,Stone,f,t,f,{t1},5)`},
		{"the undo redelivered", restored, `(Sam,Stone,f,t,f,{t1},5)`},
		{"an older update arriving late changes nothing", ev(3, account.AccountUpdated{AccountID: id, TagsAdded: []uuid.UUID{t2}, Reactivated: true}),
			`(Sam,Stone,f,t,f,{t1},5)`},
	}
	for _, s := range steps {
		handle(t, pool, p, s.ev)
		if got := view(); got != s.want {
			t.Fatalf("%s:\ngot  %s\nwant %s", s.name, got, s.want)
		}
	}
}
