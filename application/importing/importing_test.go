package importing_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// harness is the import pipeline wired as `rollcall serve` wires it, on a
// fresh database, with the jobs driven by the test.
type harness struct {
	t        *testing.T
	pool     *pgxpool.Pool
	wizard   *command.ImportWizard
	runner   *importing.Runner
	tenancy  *postgres.Tenancy
	accounts *postgres.Accounts
	imports  *postgres.Imports
	files    *vault.FileStore
	hasher   *password.Hasher
	jobs     *postgres.JobRunner
	root     tenancy.Actor
	orgID    uuid.UUID
	// holders is what the runner plans against; a test can arm it to act
	// between a plan's read and its write.
	holders *hookedHolders
}

// hookedHolders runs afterRead once, after the next read of the holders:
// whatever it changes is missing from the plan made from that read.
type hookedHolders struct {
	*postgres.Accounts
	mu        sync.Mutex
	afterRead func()
}

func (h *hookedHolders) Holders(ctx context.Context, keys []string) (map[string]*account.Account, error) {
	got, err := h.Accounts.Holders(ctx, keys)
	h.mu.Lock()
	hook := h.afterRead
	h.afterRead = nil
	h.mu.Unlock()
	if hook != nil {
		hook()
	}
	return got, err
}

func (h *hookedHolders) arm(hook func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.afterRead = hook
}

func policy(pw secret.Secret) []command.PolicyProblem {
	var out []command.PolicyProblem
	for _, p := range password.DefaultPolicy().Check(pw) {
		out = append(out, command.PolicyProblem(p))
	}
	return out
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	pool := pgtest.MustOpenDB(t)
	codec := eventcodec.Rollcall()
	store, err := postgres.NewEventStore(pool, codec)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	key := vault.NewRandomKey()
	files, err := vault.NewFileStore(t.TempDir(), key)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, pool: pool, tenancy: postgres.NewTenancy(pool), imports: postgres.NewImports(store), files: files, hasher: hasher}
	h.accounts = postgres.NewAccounts(pool, store)
	h.holders = &hookedHolders{Accounts: h.accounts}
	uploads := vault.Uploads{Store: files}
	secrets := postgres.NewImportSecrets(pool, key)
	if h.wizard, err = command.NewImportWizard(command.ImportWizardDeps{Imports: h.imports, Uploads: uploads, Secrets: secrets, Orgs: h.tenancy,
		Inspector: spreadsheet.Inspector{}, Earlier: postgres.NewReadModels(pool, eventcodec.Rollcall()), Policy: policy, MaxUpload: 1 << 20, ChunkRows: 4, Now: time.Now, Logger: logger}); err != nil {
		t.Fatal(err)
	}
	work, err := postgres.NewUnitOfWork(pool, store, h.imports, mail.Outbox{})
	if err != nil {
		t.Fatal(err)
	}
	if h.runner, err = importing.NewRunner(importing.Deps{Imports: h.imports, Orgs: h.tenancy, Work: work, Holders: h.holders,
		Rows: postgres.NewImportRows(pool), Files: spreadsheet.Uploads{Store: uploads}, Sealer: vault.RowPasswords{Key: key}, Hasher: hasher,
		DefaultPasswords: secrets, AccountList: postgres.NewAccountList(pool, postgres.ProjectionGroup(projection.Accounts{})), Uploads: uploads,
		Classroom: postgres.NewClassroomHistory(pool),
		Policy:    policy, Logger: logger, Now: time.Now, BatchRows: 3, PublicURL: "https://rollcall.example"}); err != nil {
		t.Fatal(err)
	}
	consumers, err := postgres.NewConsumers(pool, codec, logger, postgres.ConsumerOptions{PollInterval: 20 * time.Millisecond},
		postgres.SagaConsumer(importing.SagaGroup, h.runner.HandleEvent), postgres.ProjectionConsumer(projection.Accounts{}))
	if err != nil {
		t.Fatal(err)
	}
	h.jobs, err = postgres.NewJobRunner(pool, logger, postgres.JobRunnerOptions{Workers: 2, PollInterval: 20 * time.Millisecond, Lease: 5 * time.Second},
		map[string]postgres.JobHandler{
			importing.KindValidate:    func(ctx context.Context, j *postgres.Job) error { return h.runner.Validate(ctx, j) },
			importing.KindCommitChunk: func(ctx context.Context, j *postgres.Job) error { return h.runner.CommitChunk(ctx, j) },
			importing.KindFinish:      func(ctx context.Context, j *postgres.Job) error { return h.runner.Finish(ctx, j) },
			importing.KindUndoChunk:   func(ctx context.Context, j *postgres.Job) error { return h.runner.UndoChunk(ctx, j) },
			importing.KindUndoFinish:  func(ctx context.Context, j *postgres.Job) error { return h.runner.UndoFinish(ctx, j) },
		})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{}, 2)
	go func() { _ = consumers.Run(runCtx); done <- struct{}{} }()
	go func() { _ = h.jobs.Run(runCtx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	ref, err := command.NewReferenceHandler(h.tenancy)
	if err != nil {
		t.Fatal(err)
	}
	if h.orgID, err = ref.CreateOrganization(ctx, "Lincoln High"); err != nil {
		t.Fatal(err)
	}
	h.root = tenancy.Actor{ID: h.createAccount("root@lincoln.edu", "system_admin", uuid.Nil, "root-password-1"), OrgID: h.orgID,
		Email: "root@lincoln.edu", Role: tenancy.RoleSystemAdmin}
	return h
}

func (h *harness) createAccount(email, role string, group uuid.UUID, pw string) uuid.UUID {
	h.t.Helper()
	create, err := command.NewCreateAccountHandler(h.accounts, h.tenancy, h.hasher, policy, time.Now)
	if err != nil {
		h.t.Fatal(err)
	}
	id, err := create.Handle(context.Background(), command.CreateAccount{OrgID: h.orgID, Email: email, FirstName: "Pat", LastName: "Person",
		Role: role, GroupID: group, Password: secret.New(pw)})
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

func (h *harness) named(kind command.ReferenceKind, name string) uuid.UUID {
	h.t.Helper()
	id := uuid.New()
	if err := h.tenancy.CreateNamed(context.Background(), kind, h.orgID, command.Named{ID: id, Name: name}); err != nil {
		h.t.Fatal(err)
	}
	return id
}

// validate uploads a CSV, maps it as suggested, sets the defaults and waits
// for the validation to end at want.
func (h *harness) validate(csv string, defaults command.ChooseDefaults, want importsession.State) *importsession.Import {
	return h.validateWith(command.UploadFile{}, csv, defaults, want)
}

func (h *harness) validateWith(upload command.UploadFile, csv string, defaults command.ChooseDefaults, want importsession.State) *importsession.Import {
	h.t.Helper()
	ctx := context.Background()
	stored, err := h.wizard.StoreUpload(ctx, strings.NewReader(csv))
	if err != nil {
		h.t.Fatal(err)
	}
	upload.Actor, upload.FileName, upload.File = h.root, "people.csv", stored
	imp, err := h.wizard.Upload(ctx, upload)
	if err != nil {
		h.t.Fatal(err)
	}
	id := imp.ID()
	if _, err := h.wizard.MapColumns(ctx, command.MapColumns{Actor: h.root, ImportID: id, Columns: imp.File().SuggestedMapping}); err != nil {
		h.t.Fatal(err)
	}
	defaults.Actor, defaults.ImportID = h.root, id
	if _, err := h.wizard.ChooseDefaults(ctx, defaults); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.wizard.StartValidation(ctx, command.ImportCommand{Actor: h.root, ImportID: id}); err != nil {
		h.t.Fatal(err)
	}
	return h.wait(id, want)
}

func (h *harness) wait(id uuid.UUID, state importsession.State) *importsession.Import {
	h.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		imp, err := h.imports.Load(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if imp.State() == state {
			return imp
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("import %s is %s, want %s", id, imp.State(), state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) commit(id uuid.UUID, p importsession.ExistingPolicy) *importsession.Import {
	h.t.Helper()
	ctx := context.Background()
	if _, err := h.wizard.ChooseExistingPolicy(ctx, command.ChooseExistingPolicy{Actor: h.root, ImportID: id, Policy: p}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.wizard.Verify(ctx, command.Verify{Actor: h.root, ImportID: id, Skip: true}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.wizard.Commit(ctx, command.Commit{Actor: h.root, ImportID: id}); err != nil {
		h.t.Fatal(err)
	}
	return h.wait(id, importsession.StateCompleted)
}

func (h *harness) signsIn(email, pw string) bool {
	h.t.Helper()
	login, err := h.tenancy.LoginByEmail(context.Background(), email)
	if err != nil {
		h.t.Fatal(err)
	}
	ok, _, err := h.hasher.Verify(secret.New(pw), login.PasswordHash)
	if err != nil {
		h.t.Fatal(err)
	}
	return ok
}

func (h *harness) count(sql string, args ...any) int {
	h.t.Helper()
	var n int
	if err := h.pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		h.t.Fatal(err)
	}
	return n
}

// A commit overwrites an existing account's password with the row's own
// and adds the row's and the default's tags, ending the account's sessions;
// the new account gets the default password. Once complete, the upload, the
// default password and the sealed row passwords are gone.
func TestCommitChangesExistingAccountsAndForgetsSecrets(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	kimID := h.createAccount("kim@lincoln.edu", "user", uuid.Nil, "kims-password-1")
	if err := h.tenancy.CreateSession(ctx, kimID, "kims-session-token", time.Hour); err != nil {
		t.Fatal(err)
	}
	chess, choir := h.named(command.Tags, "Chess"), h.named(command.Tags, "Choir")
	imp := h.validate("First Name,Last Name,Email,Password,Tag\nKim,Person,kim@lincoln.edu,Kims-New-Pass-9,Chess\nAna,Lima,ana@lincoln.edu,,\n",
		command.ChooseDefaults{Password: secret.New("Welcome-2026!"), ForcePasswordChange: true, TagIDs: []uuid.UUID{choir}}, importsession.StateValidated)
	if c := imp.Counts(); c.New != 1 || c.Existing != 1 || c.Invalid != 0 {
		t.Fatalf("counts %+v", c)
	}
	if n := h.count(`SELECT count(*) FROM import_rows WHERE import_id = $1 AND password_sealed IS NOT NULL`, imp.ID()); n != 1 {
		t.Fatalf("%d sealed row passwords, want Kim's", n)
	}
	done := h.commit(imp.ID(), importsession.ExistingPolicy{UpdatePassword: true, UpdateTags: true})
	if s := done.Completed(); s.Created != 1 || s.Updated != 1 || s.Failed != 0 {
		t.Fatalf("summary %+v", s)
	}
	if !h.signsIn("kim@lincoln.edu", "Kims-New-Pass-9") || h.signsIn("kim@lincoln.edu", "kims-password-1") {
		t.Fatal("Kim's password was not replaced by the row's")
	}
	if !h.signsIn("ana@lincoln.edu", "Welcome-2026!") {
		t.Fatal("the new account did not get the default password")
	}
	holders, err := h.accounts.Holders(ctx, []string{"kim@lincoln.edu"})
	if err != nil {
		t.Fatal(err)
	}
	if kim := holders["kim@lincoln.edu"].Snapshot(); len(kim.TagIDs) != 2 || kim.TagIDs[0] != chess || kim.TagIDs[1] != choir || !kim.MustChangePassword || kim.Version != 2 {
		t.Fatalf("Kim after the import: %+v (want Chess and Choir, must change password, version 2)", kim)
	}
	if _, err := h.tenancy.SessionLogin(ctx, "kims-session-token"); !errors.Is(err, command.ErrNotFound) {
		t.Fatalf("Kim's session outlived the password change: %v", err)
	}
	// The saga forgets every secret of the finished import.
	deadline := time.Now().Add(60 * time.Second)
	for h.count(`SELECT count(*) FROM import_secrets WHERE import_id = $1`, imp.ID())+
		h.count(`SELECT count(*) FROM import_rows WHERE import_id = $1 AND password_sealed IS NOT NULL`, imp.ID()) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("the default password or a sealed row password outlived the import")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := h.files.Open(ctx, imp.ID()); err == nil {
		t.Fatal("the upload outlived the import")
	}
}

// A file the reader cannot read through ends the validation with the reason
// and the import back at the defaults, not stuck validating.
func TestUnreadableFileFailsTheValidation(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	imp := h.validate("First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\n", command.ChooseDefaults{Password: secret.New("Welcome-2026!")},
		importsession.StateValidated)
	// The upload disappears before a new validation reads it.
	if err := h.files.Delete(ctx, imp.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := h.wizard.StartValidation(ctx, command.ImportCommand{Actor: h.root, ImportID: imp.ID()}); err != nil {
		t.Fatal(err)
	}
	failed := h.wait(imp.ID(), importsession.StateDefaultsChosen)
	var reason string
	for _, ev := range h.events(imp.ID()) {
		if f, ok := ev.(importsession.ValidationFailed); ok {
			reason = f.Reason
		}
	}
	if !strings.Contains(reason, "no longer stored") || failed.Counts().Total != 0 {
		t.Fatalf("validation failure: %q, counts %+v", reason, failed.Counts())
	}
}

func (h *harness) events(id uuid.UUID) []any {
	h.t.Helper()
	store, err := postgres.NewEventStore(h.pool, eventcodec.Rollcall())
	if err != nil {
		h.t.Fatal(err)
	}
	recorded, err := store.Load(context.Background(), importsession.StreamID(id))
	if err != nil {
		h.t.Fatal(err)
	}
	out := make([]any, len(recorded))
	for i, r := range recorded {
		out[i] = r.Data
	}
	return out
}

// An email another import takes between the validation and the commit
// fails its row with email_taken; the rest of the batch is committed.
func TestEmailTakenMeanwhileFailsOnlyItsRow(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	imp := h.validate("First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\nBo,Ek,bo@lincoln.edu\nCy,Oz,cy@lincoln.edu\n",
		command.ChooseDefaults{Password: secret.New("Welcome-2026!"), ForcePasswordChange: true}, importsession.StateValidated)
	if imp.Counts().New != 3 {
		t.Fatalf("counts %+v", imp.Counts())
	}
	h.createAccount("bo@lincoln.edu", "user", uuid.Nil, "bos-password-1")
	done := h.commit(imp.ID(), importsession.ExistingPolicy{})
	s := done.Completed()
	if s.Created != 2 || s.Failed != 1 || len(s.FailedRows) != 1 || s.FailedRows[0].Code != "email_taken" || s.FailedRows[0].Row != 2 {
		t.Fatalf("summary %+v", s)
	}
	if !h.signsIn("bo@lincoln.edu", "bos-password-1") {
		t.Fatal("the account made meanwhile was overwritten")
	}
	if n := h.count(`SELECT count(*) FROM account_logins WHERE org_id = $1`, h.orgID); n != 4 {
		t.Fatalf("%d accounts, want root, Ana, Bo and Cy", n)
	}
}

// A chunk that keeps failing marks the import failed with the reason on its
// last attempt, rather than leaving it committing for ever.
func TestChunkOutOfRetriesFailsTheImport(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	imp := h.validate("First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\n",
		command.ChooseDefaults{Password: secret.New("Welcome-2026!"), ForcePasswordChange: true}, importsession.StateValidated)
	// The default password vanishes and every attempt is the last one.
	if _, err := h.pool.Exec(ctx, `DELETE FROM import_secrets`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.pool.Exec(ctx, `ALTER TABLE jobs ALTER COLUMN max_attempts SET DEFAULT 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.wizard.Verify(ctx, command.Verify{Actor: h.root, ImportID: imp.ID(), Skip: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.wizard.Commit(ctx, command.Commit{Actor: h.root, ImportID: imp.ID()}); err != nil {
		t.Fatal(err)
	}
	h.wait(imp.ID(), importsession.StateFailed)
	var reason string
	for _, ev := range h.events(imp.ID()) {
		if f, ok := ev.(importsession.ImportFailed); ok {
			reason = f.Reason
		}
	}
	if !strings.Contains(reason, "default password is no longer stored") {
		t.Fatalf("failure reason %q", reason)
	}
}

// Undoing an import cancels the welcome emails not sent yet to the accounts
// it deactivates; the others are left alone.
func TestUndoCancelsUnsentWelcomeEmails(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	if err := h.tenancy.SetWelcomeEmail(ctx, h.orgID, true); err != nil {
		t.Fatal(err)
	}
	imp := h.validateWith(command.UploadFile{SendWelcomeEmail: true}, "First Name,Last Name,Email\nAna,Lima,ana@lincoln.edu\nBo,Ek,bo@lincoln.edu\n",
		command.ChooseDefaults{Password: secret.New("Welcome-2026!"), ForcePasswordChange: true}, importsession.StateValidated)
	h.commit(imp.ID(), importsession.ExistingPolicy{})
	// One welcome email went out before the undo (a dispatcher sent it).
	if _, err := h.pool.Exec(ctx, `UPDATE mail_outbox SET state = 'sent', sent_at = now() WHERE to_address = 'bo@lincoln.edu'`); err != nil {
		t.Fatal(err)
	}
	if _, err := h.wizard.Undo(ctx, command.ImportCommand{Actor: h.root, ImportID: imp.ID()}); err != nil {
		t.Fatal(err)
	}
	undone := h.wait(imp.ID(), importsession.StateUndone)
	if u := undone.Undone(); u.Deactivated != 2 {
		t.Fatalf("undone %+v", u)
	}
	states := map[string]string{}
	rows, err := h.pool.Query(ctx, `SELECT to_address, state FROM mail_outbox WHERE idempotency_key LIKE 'welcome:%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var to, state string
		if err := rows.Scan(&to, &state); err != nil {
			t.Fatal(err)
		}
		states[to] = state
	}
	if states["ana@lincoln.edu"] != "cancelled" || states["bo@lincoln.edu"] != "sent" {
		t.Fatalf("welcome emails after the undo: %v", states)
	}
	if login, err := h.tenancy.LoginByEmail(ctx, "ana@lincoln.edu"); err != nil || login.Active {
		t.Fatalf("Ana after the undo: %+v %v", login, err)
	}
}

// The check's counts add up to the file's rows as the upload counted them:
// a line without a single cell is no row, a row with something only in
// ignored columns is a blank row of the file.
func TestValidationCountsAddUpToTheFilesRows(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	imp := h.validate("First Name,Last Name,Email,Notes\nAna,Lima,ana@lincoln.edu,\n,,,left in June\n,,,\nBo,Ek,bo@\nAna,Lima,ANA@lincoln.edu,\n,,,\n",
		command.ChooseDefaults{Password: secret.New("Welcome-2026!"), ForcePasswordChange: true}, importsession.StateValidated)
	c := imp.Counts()
	if rows := imp.File().Rows; rows != 4 || c.New != 1 || c.Invalid != 2 || c.Blank != 1 || c.New+c.Existing+c.Invalid+c.Blank != rows {
		t.Fatalf("the file's %d rows, counted %+v", rows, c)
	}
}
