package query_test

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// people is one organization's staff and another organization's
// administrator, as the tests below need them.
type people struct {
	lincoln, other        uuid.UUID
	staff, science        uuid.UUID // groups of Lincoln
	robotics              uuid.UUID // a tag of Lincoln
	root, ada, ben, carla tenancy.Actor
	uma, otherRoot        tenancy.Actor
}

func newPeople(t *testing.T, e *env) people {
	t.Helper()
	p := people{lincoln: e.org(t, "Lincoln High"), other: e.org(t, "Other District")}
	p.staff = e.group(t, p.lincoln, command.Groups, "Staff")
	p.science = e.group(t, p.lincoln, command.Groups, "Science")
	p.robotics = e.group(t, p.lincoln, command.Tags, "Robotics")
	p.root = e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "root@lincoln.test", Role: "system_admin"})
	p.ada = e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "ada@lincoln.test", Role: "admin", GroupID: p.staff})
	p.ben = e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "ben@lincoln.test", Role: "admin", GroupID: p.staff})
	p.carla = e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "carla@lincoln.test", Role: "admin", GroupID: p.science})
	p.uma = e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "uma@lincoln.test", Role: "user", GroupID: p.staff})
	p.otherRoot = e.account(t, account.AccountCreated{OrgID: p.other, Email: "root@other.test", Role: "system_admin"})
	return p
}

// An import is seen by its importer and the organization's system
// administrators; to anyone else it does not exist.
func TestOneImportIsTheImportersAndTheSystemAdministrators(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	id := e.startImport(t, p.ada, mapped(p.ada, e.now), defaults(p.ada, e.now), validated(p.ada, e.now, 140, 5, 5))
	e.project(t)

	reads := map[string]func(tenancy.Actor) error{
		"import": func(a tenancy.Actor) error {
			imp, err := e.queries.Import(ctx, a, id)
			if err == nil && imp.ID != id {
				t.Fatalf("asked for %s, got %s", id, imp.ID)
			}
			return err
		},
		"rows": func(a tenancy.Actor) error { _, err := e.queries.Rows(ctx, a, id, "", 1); return err },
		"audit trail": func(a tenancy.Actor) error {
			events, err := e.queries.ImportTrail(ctx, a, id)
			if err == nil && (len(events) == 0 || events[0].Type != "FileUploaded") {
				t.Fatalf("audit trail %v", events)
			}
			return err
		},
		"rejected rows": func(a tenancy.Actor) error {
			return e.queries.Rejected(ctx, a, id, func() io.Writer { return io.Discard })
		},
		"preview": func(a tenancy.Actor) error { _, err := e.queries.Preview(ctx, a, id, 5); return err },
	}
	for name, read := range reads {
		for _, tt := range []struct {
			who     string
			actor   tenancy.Actor
			visible bool
		}{
			{"the importer", p.ada, true},
			{"a system administrator", p.root, true},
			{"another administrator of the same group", p.ben, false},
			{"an administrator of another group", p.carla, false},
			{"a user", p.uma, false},
			{"another organization's system administrator", p.otherRoot, false},
		} {
			t.Run(name+" by "+tt.who, func(t *testing.T) {
				err := read(tt.actor)
				if tt.visible && err != nil {
					t.Fatal(err)
				}
				if !tt.visible {
					requireCode(t, err, "not_found")
				}
			})
		}
	}
	// No id of another organization reaches the files either.
	if n := e.files.calls(); n != 4 {
		t.Fatalf("the uploaded files were read %d times, want 4 (rejected rows and preview, for the importer and the system administrator)", n)
	}
	if _, err := e.queries.Import(ctx, p.root, uuid.New()); err == nil {
		t.Fatal("an unknown import was found")
	} else {
		requireCode(t, err, "not_found")
	}
}

func TestListImports(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	adaOpen := e.startImport(t, p.ada, mapped(p.ada, e.now))
	adaDone := e.startImport(t, p.ada, mapped(p.ada, e.now), defaults(p.ada, e.now), validated(p.ada, e.now, 3, 0, 0), committed(p.ada, e.now))
	adaCancelled := e.startImport(t, p.ada, cancelled(p.ada, e.now))
	rootOpen := e.startImport(t, p.root)
	otherOpen := e.startImport(t, p.otherRoot)
	e.project(t)

	ids := func(actor tenancy.Actor, openOnly bool) string {
		t.Helper()
		list, err := e.queries.ListImports(ctx, actor, openOnly)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, imp := range list {
			out = append(out, name(imp.ID, map[uuid.UUID]string{adaOpen: "adaOpen", adaDone: "adaCommitting", adaCancelled: "adaCancelled", rootOpen: "rootOpen", otherOpen: "otherOpen"}))
		}
		slices.Sort(out)
		return strings.Join(out, ",")
	}
	tests := []struct {
		who      string
		actor    tenancy.Actor
		openOnly bool
		want     string
	}{
		{"the importer, all", p.ada, false, "adaCancelled,adaCommitting,adaOpen"},
		{"the importer, open", p.ada, true, "adaOpen"},
		{"another administrator", p.ben, false, ""},
		{"a system administrator, all", p.root, false, "adaCancelled,adaCommitting,adaOpen,rootOpen"},
		{"a system administrator, open", p.root, true, "adaOpen,rootOpen"},
		{"another organization", p.otherRoot, false, "otherOpen"},
	}
	for _, tt := range tests {
		if got := ids(tt.actor, tt.openOnly); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.who, got, tt.want)
		}
	}
	// A user is told the list is for administrators (403), as the API
	// contract says of a role refusal.
	_, err := e.queries.ListImports(ctx, p.uma, false)
	requireCode(t, err, "forbidden")
}

// The totals come from the validation's counts, per filter; an unknown
// filter is refused with the ones there are.
func TestRowsTotalsAndFilters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	id := e.startImport(t, p.ada, mapped(p.ada, e.now), defaults(p.ada, e.now), validated(p.ada, e.now, 140, 5, 7))
	for _, tt := range []struct {
		status         string
		page, wantPage int
		wantTotal      int
	}{
		{"", 1, 1, 152},
		{importsession.RowNew, 2, 2, 140},
		{importsession.RowExisting, 1, 1, 5},
		{importsession.RowInvalid, 0, 1, 7},
		{importsession.RowInvalid, -3, 1, 7},
	} {
		page, err := e.queries.Rows(ctx, p.ada, id, tt.status, tt.page)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != tt.wantTotal || page.Page != tt.wantPage || page.PageSize != 100 || page.Rows == nil {
			t.Errorf("status %q page %d: %+v", tt.status, tt.page, page)
		}
	}
	_, err := e.queries.Rows(ctx, p.ada, id, "bogus", 1)
	requireCode(t, err, "invalid_value")
}

// A group administrator lists their own group's accounts only; a system
// administrator the whole organization's; nobody another organization's.
func TestAccountsByRoleAndFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	imp := uuid.New()
	e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "Sam@Lincoln.test", Role: "user", GroupID: p.staff, TagIDs: []uuid.UUID{p.robotics}, ImportID: imp})
	e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "sol@lincoln.test", Role: "user", GroupID: p.science, ImportID: imp,
		FirstName: "Solène", LastName: "Da Silva"})
	e.account(t, account.AccountCreated{OrgID: p.lincoln, Email: "nogroup@lincoln.test", Role: "user"})
	e.account(t, account.AccountCreated{OrgID: p.other, Email: "theirs@other.test", Role: "user", ImportID: imp})
	e.project(t)

	tests := []struct {
		who    string
		actor  tenancy.Actor
		filter query.AccountFilter
		want   string
	}{
		{"a group administrator", p.ada, query.AccountFilter{}, "ada,ben,sam,uma"},
		{"a group administrator asking for another group", p.ada, query.AccountFilter{GroupID: p.science}, ""},
		{"a group administrator asking for their group", p.ada, query.AccountFilter{GroupID: p.staff, TagID: p.robotics}, "sam"},
		{"a group administrator looking for an account of no group", p.ada, query.AccountFilter{Email: "nogroup@lincoln.test"}, ""},
		{"a system administrator", p.root, query.AccountFilter{}, "ada,ben,carla,nogroup,root,sam,sol,uma"},
		{"by email, in another case", p.root, query.AccountFilter{Email: " SAM@lincoln.TEST "}, "sam"},
		{"by import", p.root, query.AccountFilter{ImportID: imp}, "sam,sol"},
		{"by group", p.root, query.AccountFilter{GroupID: p.science}, "carla,sol"},
		{"by tag", p.root, query.AccountFilter{TagID: p.robotics}, "sam"},
		{"part of a name, across first and last", p.root, query.AccountFilter{Q: "LÈNE DA SIL"}, "sol"},
		{"part of an email", p.root, query.AccountFilter{Q: "am@lin"}, "sam"},
		{"part of a name outside a group administrator's group", p.ada, query.AccountFilter{Q: "da silva"}, ""},
		{"part of an email in a group administrator's group", p.ada, query.AccountFilter{Q: "SAM"}, "sam"},
		{"a LIKE wildcard taken as written", p.root, query.AccountFilter{Q: "s_l"}, ""},
		{"another organization, by part of an email", p.otherRoot, query.AccountFilter{Q: "lincoln"}, ""},
		{"another organization, by the same import id", p.otherRoot, query.AccountFilter{ImportID: imp}, "theirs"},
		{"another organization, by email", p.otherRoot, query.AccountFilter{Email: "sam@lincoln.test"}, ""},
	}
	for _, tt := range tests {
		page, err := e.queries.Accounts(ctx, tt.actor, tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range page.Accounts {
			local, _, _ := strings.Cut(strings.ToLower(a.Email), "@")
			got = append(got, local)
		}
		if strings.Join(got, ",") != tt.want || page.Total != len(got) || page.Page != 1 || page.Accounts == nil {
			t.Errorf("%s: %v (total %d, page %d), want %s", tt.who, got, page.Total, page.Page, tt.want)
		}
	}
	_, err := e.queries.Accounts(ctx, p.uma, query.AccountFilter{})
	requireCode(t, err, "forbidden")
}

func TestAccountAuditStaysInItsOrganization(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	e.project(t)
	events, err := e.queries.AccountTrail(ctx, p.root, "ADA@lincoln.test")
	if err != nil || len(events) != 1 || events[0].Type != "AccountCreated" || !strings.Contains(events[0].Sentence, "ada@lincoln.test") {
		t.Fatalf("ada's audit trail: %v %v", events, err)
	}
	_, err = e.queries.AccountTrail(ctx, p.otherRoot, "ada@lincoln.test")
	requireCode(t, err, "not_found")
}

// The rejected rows need the upload, which is kept only while the import
// is open; so does the preview.
func TestRejectedRowsAndPreviewNeedAnOpenImport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := newPeople(t, e)
	open := e.startImport(t, p.root, mapped(p.root, e.now))
	done := e.startImport(t, p.root, mapped(p.root, e.now), defaults(p.root, e.now), validated(p.root, e.now, 2, 0, 1), committed(p.root, e.now))
	gone := e.startImport(t, p.root, cancelled(p.root, e.now))

	var out bytes.Buffer
	for _, id := range []uuid.UUID{open, done, gone} {
		err := e.queries.Rejected(ctx, p.root, id, func() io.Writer { return &out })
		requireCode(t, err, "wrong_wizard_step")
	}
	if rows, err := e.queries.Preview(ctx, p.root, open, 5); err != nil || len(rows) != 1 {
		t.Fatalf("preview of an open import: %v %v", rows, err)
	}
	for _, id := range []uuid.UUID{done, gone} {
		if rows, err := e.queries.Preview(ctx, p.root, id, 5); err != nil || rows != nil {
			t.Fatalf("preview of a closed import: %v %v", rows, err)
		}
	}
	if out.Len() != 0 || e.files.calls() != 1 {
		t.Fatalf("the files were read %d times (%q); want once, for the open import's preview", e.files.calls(), out.String())
	}
}

func name(id uuid.UUID, names map[uuid.UUID]string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return id.String()
}
