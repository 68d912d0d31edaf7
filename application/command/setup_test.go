package command_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// env is the application layer wired to its real adapters on a fresh
// database, as cmd/rollcall wires it.
type env struct {
	pool      *pgxpool.Pool
	store     *postgres.EventStore
	tenancy   *postgres.Tenancy
	imports   *postgres.Imports
	secrets   *postgres.ImportSecrets
	key       vault.Key
	uploadDir string
	hasher    *password.Hasher
	reference *command.ReferenceHandler
	create    *command.CreateAccountHandler
	wizard    *command.ImportWizard
	now       time.Time
}

const maxUpload = 1 << 20

func newCodec() *eventcodec.Registry { return eventcodec.Rollcall() }

func policy() command.PasswordPolicy {
	p := password.DefaultPolicy()
	return func(pw secret.Secret) []command.PolicyProblem {
		var out []command.PolicyProblem
		for _, problem := range p.Check(pw) {
			out = append(out, command.PolicyProblem(problem))
		}
		return out
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{pool: pgtest.MustOpenDB(t), key: vault.NewRandomKey(), uploadDir: t.TempDir(),
		now: time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)}
	var err error
	if e.store, err = postgres.NewEventStore(e.pool, newCodec()); err != nil {
		t.Fatal(err)
	}
	e.tenancy = postgres.NewTenancy(e.pool)
	e.imports = postgres.NewImports(e.store)
	e.secrets = postgres.NewImportSecrets(e.pool, e.key)
	if e.hasher, err = password.NewHasher(password.Params{Memory: 8 << 10, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return e.now }
	if e.reference, err = command.NewReferenceHandler(e.tenancy); err != nil {
		t.Fatal(err)
	}
	if e.create, err = command.NewCreateAccountHandler(postgres.NewAccounts(e.pool, e.store), e.tenancy, e.hasher, policy(), now); err != nil {
		t.Fatal(err)
	}
	files, err := vault.NewFileStore(e.uploadDir, e.key)
	if err != nil {
		t.Fatal(err)
	}
	if e.wizard, err = command.NewImportWizard(command.ImportWizardDeps{
		Imports: e.imports, Uploads: vault.Uploads{Store: files}, Secrets: e.secrets, Orgs: e.tenancy,
		Inspector: spreadsheet.Inspector{}, Earlier: postgres.NewReadModels(e.pool, newCodec()), Policy: policy(), MaxUpload: maxUpload,
		ChunkRows: 1000, UndoWindow: 24 * time.Hour, Now: now, Logger: discard(),
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// org creates an organization.
func (e *env) org(t *testing.T, name string, welcomeEmails bool) uuid.UUID {
	t.Helper()
	id, err := e.reference.CreateOrganization(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	if welcomeEmails {
		if err := e.tenancy.SetWelcomeEmail(context.Background(), id, true); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// actor creates an account and returns it as the actor of commands.
func (e *env) actor(t *testing.T, org uuid.UUID, email string, role tenancy.Role, group uuid.UUID) tenancy.Actor {
	t.Helper()
	id, err := e.create.Handle(context.Background(), command.CreateAccount{OrgID: org, Email: email, FirstName: "Given", LastName: "Family",
		Role: string(role), GroupID: group, Password: secret.New("a long enough password")})
	if err != nil {
		t.Fatal(err)
	}
	return tenancy.Actor{ID: id, OrgID: org, Email: email, Role: role, GroupID: group}
}

// named creates a group, tag or preset as the organization's system
// administrator.
func (e *env) named(t *testing.T, admin tenancy.Actor, kind command.ReferenceKind, name string) uuid.UUID {
	t.Helper()
	n, err := e.reference.CreateNamed(context.Background(), command.CreateNamed{Actor: admin, Kind: kind, Name: name})
	if err != nil {
		t.Fatal(err)
	}
	return n.ID
}

// upload stores a CSV and starts an import of it.
func (e *env) upload(t *testing.T, actor tenancy.Actor, csv string) *importsession.Import {
	t.Helper()
	ctx := context.Background()
	stored, err := e.wizard.StoreUpload(ctx, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	imp, err := e.wizard.Upload(ctx, command.UploadFile{Actor: actor, FileName: "people.csv", File: stored})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

const peopleCSV = "First Name,Last Name,Email,Password\nAna,Lima,ana@school.test,\nBo,Ek,bo@school.test,Own-Pass-1234\n"

// mapped uploads peopleCSV and maps its columns.
func (e *env) mapped(t *testing.T, actor tenancy.Actor) *importsession.Import {
	t.Helper()
	imp := e.upload(t, actor, peopleCSV)
	imp, err := e.wizard.MapColumns(context.Background(), command.MapColumns{Actor: actor, ImportID: imp.ID(), Columns: imp.File().SuggestedMapping})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// validated takes an import with defaults through a validation, recording
// the outcome the validation job would (its own tests live with it).
func (e *env) validated(t *testing.T, actor tenancy.Actor, id uuid.UUID, newRows, existing, invalid int) *importsession.Import {
	t.Helper()
	ctx := context.Background()
	if _, err := e.wizard.StartValidation(ctx, command.ImportCommand{Actor: actor, ImportID: id}); err != nil {
		t.Fatal(err)
	}
	imp, err := e.imports.Update(ctx, id, command.Metadata{OrgID: actor.OrgID}, func(imp *importsession.Import) error {
		return imp.RecordValidation(importsession.RowsValidated{Total: newRows + existing + invalid, New: newRows, Existing: existing,
			Invalid: invalid, ValidatedAt: e.now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return imp
}

// requireAppError fails unless err is an application error of that kind
// and slug.
func requireAppError(t *testing.T, err error, kind failure.Kind, slug string) *failure.Error {
	t.Helper()
	appErr, ok := failure.As(err)
	if !ok {
		t.Fatalf("got %T %v, want the application error %s", err, err, slug)
	}
	if appErr.Kind != kind || appErr.Code != slug {
		t.Fatalf("got %v %q (%s), want %v %q", appErr.Kind, appErr.Code, appErr.Message, kind, slug)
	}
	return appErr
}

// requireCode fails unless err reads in the common vocabulary with the
// code (domain errors describe themselves without being failure.Errors).
func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	f, ok := failure.As(err)
	if !ok || f.Code != code {
		t.Fatalf("got %T %v, want an error with the code %q", err, err, code)
	}
}
