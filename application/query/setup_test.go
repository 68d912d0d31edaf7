package query_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// env is the query side on its real read models, on a fresh database.
type env struct {
	pool     *pgxpool.Pool
	codec    *eventcodec.Registry
	store    *postgres.EventStore
	imports  *postgres.Imports
	tenancy  *postgres.Tenancy
	accounts *postgres.Accounts
	files    *recordingFiles
	queries  *query.Queries
	now      time.Time
}

// recordingFiles stands in for the uploaded files (their reader is tested
// with the import jobs): it records which imports the queries let through.
type recordingFiles struct {
	mu    sync.Mutex
	asked []string
}

func (f *recordingFiles) Open(_ context.Context, importID uuid.UUID, _ command.FileRef) (importing.RowReader, error) {
	f.record("open " + importID.String())
	return &oneRow{}, nil
}

// oneRow is a file of one data row.
type oneRow struct{ read bool }

func (r *oneRow) Headers() []string { return []string{"First Name", "Last Name", "Email"} }
func (r *oneRow) Close() error      { return nil }
func (r *oneRow) Next() (importing.FileRow, error) {
	if r.read {
		return importing.FileRow{}, io.EOF
	}
	r.read = true
	return importing.FileRow{Number: 1, Cells: []string{"Ana", "Lima", "ana@lincoln.test"}}, nil
}

func (f *recordingFiles) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, s)
}

func (f *recordingFiles) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.asked)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{pool: pgtest.MustOpenDB(t), codec: eventcodec.Rollcall(), files: &recordingFiles{},
		now: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)}
	var err error
	if e.store, err = postgres.NewEventStore(e.pool, e.codec); err != nil {
		t.Fatal(err)
	}
	e.imports = postgres.NewImports(e.store)
	e.tenancy = postgres.NewTenancy(e.pool)
	e.accounts = postgres.NewAccounts(e.pool, e.store)
	if e.queries, err = query.NewQueries(postgres.NewReadModels(e.pool, e.codec), e.files, e.tenancy, mail.Report{Pool: e.pool}); err != nil {
		t.Fatal(err)
	}
	return e
}

// project brings every read model up to date.
func (e *env) project(t *testing.T) {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, p := range projection.All() {
		if err := postgres.CatchUp(context.Background(), e.pool, e.codec, logger, postgres.ConsumerOptions{PollInterval: 10 * time.Millisecond},
			postgres.ProjectionConsumer(p)); err != nil {
			t.Fatal(err)
		}
	}
}

func (e *env) org(t *testing.T, name string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if err := e.tenancy.CreateOrganization(context.Background(), command.Organization{ID: id, Name: name}); err != nil {
		t.Fatal(err)
	}
	return id
}

func (e *env) group(t *testing.T, org uuid.UUID, kind command.ReferenceKind, name string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	if err := e.tenancy.CreateNamed(context.Background(), kind, org, command.Named{ID: id, Name: name}); err != nil {
		t.Fatal(err)
	}
	return id
}

// account records an account (its AccountCreated and login).
func (e *env) account(t *testing.T, a account.AccountCreated) tenancy.Actor {
	t.Helper()
	if a.AccountID == uuid.Nil {
		a.AccountID = uuid.New()
	}
	if a.FirstName == "" {
		a.FirstName, a.LastName = "Given", "Family"
	}
	a.CreatedAt = e.now
	email, err := account.NewEmail(a.Email)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := account.Create(account.New{ID: a.AccountID, OrgID: a.OrgID, Email: email, FirstName: a.FirstName, LastName: a.LastName,
		Role: tenancy.Role(a.Role), GroupID: a.GroupID, TagIDs: a.TagIDs, ImportID: a.ImportID, ImportRow: a.ImportRow}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	taken, err := e.accounts.CreateAccounts(context.Background(), []command.NewAccount{{Account: acc, PasswordHash: "$argon2id$not-used"}},
		command.Metadata{OrgID: a.OrgID})
	if err != nil || len(taken) > 0 {
		t.Fatalf("account %s: %v %v", a.Email, taken, err)
	}
	return tenancy.Actor{ID: a.AccountID, OrgID: a.OrgID, Email: a.Email, Role: tenancy.Role(a.Role), GroupID: a.GroupID}
}

// startImport records an uploaded file's import as actor, then runs steps
// on it (the command handlers' own tests cover how they get there).
func (e *env) startImport(t *testing.T, actor tenancy.Actor, steps ...func(*importsession.Import) error) uuid.UUID {
	t.Helper()
	ctx := context.Background()
	imp, err := importsession.NewImport(actor, importsession.Upload{ID: uuid.New(), Source: "csv", FileName: "people.csv", Rows: 150,
		Headers: []string{"First Name", "Last Name", "Email"}}, e.now)
	if err != nil {
		t.Fatal(err)
	}
	meta := command.Metadata{ActorID: actor.ID, OrgID: actor.OrgID}
	if err := e.imports.Add(ctx, imp, meta); err != nil {
		t.Fatal(err)
	}
	for _, step := range steps {
		if _, err := e.imports.Update(ctx, imp.ID(), meta, step); err != nil {
			t.Fatal(err)
		}
	}
	return imp.ID()
}

// Steps of the wizard, as the domain records them.
func mapped(actor tenancy.Actor, now time.Time) func(*importsession.Import) error {
	return func(imp *importsession.Import) error {
		m, err := importsession.NewMapping(imp.File().Headers, imp.File().SuggestedMapping, actor)
		if err != nil {
			return err
		}
		return imp.MapColumns(actor, m, now)
	}
}

func defaults(actor tenancy.Actor, now time.Time) func(*importsession.Import) error {
	return func(imp *importsession.Import) error {
		return imp.ChooseDefaults(actor, importsession.Defaults{PasswordSet: true, ForcePasswordChange: true}, now)
	}
}

func validated(actor tenancy.Actor, now time.Time, newRows, existing, invalid int) func(*importsession.Import) error {
	return func(imp *importsession.Import) error {
		if err := imp.StartValidation(actor, now); err != nil {
			return err
		}
		return imp.RecordValidation(importsession.RowsValidated{Total: newRows + existing + invalid, New: newRows, Existing: existing, Invalid: invalid, ValidatedAt: now})
	}
}

func committed(actor tenancy.Actor, now time.Time) func(*importsession.Import) error {
	return func(imp *importsession.Import) error {
		if err := imp.SkipVerification(actor); err != nil {
			return err
		}
		return imp.Commit(actor, importsession.CommitOptions{ChunkRows: 1000}, now)
	}
}

func cancelled(actor tenancy.Actor, now time.Time) func(*importsession.Import) error {
	return func(imp *importsession.Import) error { return imp.Cancel(actor, now) }
}

// requireCode fails unless err reads in the common vocabulary with the
// code.
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	f, ok := failure.As(err)
	if !ok || f.Code != code {
		t.Fatalf("got %T %v, want an error with the code %q", err, err, code)
	}
}
