package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
)

// benchRows reads ROLLCALL_BENCH_ROWS (default 100,000; the figures in
// docs/benchmarks.md use 1,000,000 for validation).
func benchRows(b *testing.B, name string, fallback int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		return n
	}
	return fallback
}

// BenchmarkImport times each stage of an import through the application
// layer (the wizard, the saga, the jobs, every read model) against
// PostgreSQL, and reports it as a ratio to its floor measured in the same
// run on the same database: COPY of the same file for the validation, COPY
// of the same accounts (unique lower(email) index) and of their events
// (a table like ours) for the commit, and the same number of argon2id
// hashes on every core for per-row passwords. The targets (issue 10):
// validation ≤ 1.5× its floor with peak RSS ≤ 300 MiB; a shared-password
// commit until the account list shows every account ≤ 3×; per-row
// passwords ≤ 1.1× the hashing alone.
func BenchmarkImport(b *testing.B) {
	validateRows := benchRows(b, "ROLLCALL_BENCH_ROWS", 100_000)
	commitRows := min(validateRows, benchRows(b, "ROLLCALL_BENCH_COMMIT_ROWS", 100_000))
	passwordRows := benchRows(b, "ROLLCALL_BENCH_PASSWORD_ROWS", 2_000)
	ctx := context.Background()
	m := benchMain(b)
	defer m.Close()
	a, err := m.importing(ctx)
	if err != nil {
		b.Fatal(err)
	}
	orgID, err := a.reference.CreateOrganization(ctx, "Bench School")
	if err != nil {
		b.Fatal(err)
	}
	actor := tenancy.Actor{ID: uuid.New(), OrgID: orgID, Email: "bench@school.org", Role: tenancy.RoleSystemAdmin}
	stop := runBackground(b, m, a)
	defer stop()

	for b.Loop() {
		// Validation against COPY of the same file.
		path := writeFile(b, validateRows, false)
		floor := copyFileFloor(b, m, path)
		resetPeakRSS()
		start := time.Now()
		imp := uploadAndValidate(b, a, actor, path, true)
		validated := time.Since(start)
		peak := peakRSS()
		b.ReportMetric(validated.Seconds()/floor.Seconds(), "validate/floor")
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		fmt.Printf("validate: %d rows uploaded and validated in %s; COPY of the same file %s: %.2f× the floor; peak RSS %d MiB\n",
			validateRows, validated.Round(time.Millisecond), floor.Round(time.Millisecond), validated.Seconds()/floor.Seconds(), peak>>20)

		p95 := pageLatency(b, a, actor, imp.ID(), imp.Pages())
		b.ReportMetric(float64(p95.Microseconds())/1000, "page-p95-ms")
		fmt.Printf("verification page of a %d-row import: p95 %s over 200 random pages\n", validateRows, p95)

		// The commit of a shared default password, until the account list
		// shows every account, against COPY of the same accounts and events.
		if commitRows != validateRows {
			path = writeFile(b, commitRows, false)
			imp = uploadAndValidate(b, a, actor, path, true)
		}
		floor = copyAccountsFloor(b, m, commitRows)
		hashBefore := a.jobs.HashingTime()
		start = time.Now()
		commit(b, a, actor, imp.ID())
		committed := time.Since(start)
		shown := accountsShown(b, a, actor, imp.ID())
		if shown != commitRows {
			b.Fatalf("completed, but the account list shows %d of %d accounts", shown, commitRows)
		}
		b.ReportMetric(committed.Seconds()/floor.Seconds(), "commit/floor")
		fmt.Printf("commit: %d accounts (shared default password) until the account list shows them all in %s; COPY of the same accounts and events %s: %.2f× the floor; hashing %s (GOMAXPROCS=%d)\n",
			commitRows, committed.Round(time.Millisecond), floor.Round(time.Millisecond), committed.Seconds()/floor.Seconds(),
			(a.jobs.HashingTime() - hashBefore).Round(time.Millisecond), runtime.GOMAXPROCS(0))

		// Per-row passwords against hashing the same number on every core.
		if passwordRows > 0 {
			path = writeFile(b, passwordRows, true)
			imp = uploadAndValidate(b, a, actor, path, false)
			hashFloor := hashingFloor(b, a, passwordRows)
			start = time.Now()
			commit(b, a, actor, imp.ID())
			took := time.Since(start)
			b.ReportMetric(took.Seconds()/hashFloor.Seconds(), "passwords/hashing")
			fmt.Printf("commit: %d accounts with their own passwords in %s; %d argon2id hashes on every core %s: %.2f× the hashing\n",
				passwordRows, took.Round(time.Millisecond), passwordRows, hashFloor.Round(time.Millisecond), took.Seconds()/hashFloor.Seconds())
		}
	}
}

// copyFileFloor is COPY of the file into a table of its columns, as psql's
// \copy sends it.
func copyFileFloor(b *testing.B, m *Main, path string) time.Duration {
	ctx := context.Background()
	conn, err := m.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS floor_file; CREATE TABLE floor_file (first text, last text, email text, homeroom text, tag text, password text)`); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if _, err := conn.Conn().PgConn().CopyFrom(ctx, f, `COPY floor_file (first, last, email, homeroom, tag) FROM STDIN WITH (FORMAT csv, HEADER true)`); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// copyAccountsFloor is COPY of n accounts into a table with a unique
// lower(email) index plus COPY of their n AccountCreated events into a
// table like the events table.
func copyAccountsFloor(b *testing.B, m *Main, n int) time.Duration {
	ctx := context.Background()
	if _, err := m.pool.Exec(ctx, `
		DROP TABLE IF EXISTS floor_accounts, floor_events;
		CREATE TABLE floor_accounts (id uuid PRIMARY KEY, org_id uuid NOT NULL, email text NOT NULL, first_name text, last_name text,
			role text, password_hash text, must_change_password bool);
		CREATE UNIQUE INDEX ON floor_accounts (lower(email));
		CREATE TABLE floor_events (LIKE events INCLUDING ALL)`); err != nil {
		b.Fatal(err)
	}
	org, hash := uuid.New(), strings.Repeat("h", 97)
	run := uuid.NewString()[:8]
	start := time.Now()
	if _, err := m.pool.CopyFrom(ctx, pgx.Identifier{"floor_accounts"}, []string{"id", "org_id", "email", "first_name", "last_name", "role", "password_hash", "must_change_password"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			return []any{uuid.New(), org, fmt.Sprintf("s%d.%s@district.example.org", i, run), fmt.Sprintf("Given%d", i), fmt.Sprintf("Family%d", i), "user", hash, true}, nil
		})); err != nil {
		b.Fatal(err)
	}
	if _, err := m.pool.CopyFrom(ctx, pgx.Identifier{"floor_events"}, []string{"uuid", "stream_id", "stream_version", "event_type", "payload", "metadata"},
		pgx.CopyFromSlice(n, func(i int) ([]any, error) {
			id := uuid.New()
			payload := fmt.Sprintf(`{"AccountID":%q,"OrgID":%q,"Email":"s%d.%s@district.example.org","FirstName":"Given%d","LastName":"Family%d","Role":"user"}`, id, org, i, run, i, i)
			return []any{uuid.NewString(), "account-" + id.String(), 1, "AccountCreated", payload, `{"org_id":"` + org.String() + `"}`}, nil
		})); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// hashingFloor hashes n passwords on every core, as the commit does.
func hashingFloor(b *testing.B, a *app, n int) time.Duration {
	pws := make([]secret.Secret, n)
	for i := range pws {
		pws[i] = secret.New(fmt.Sprintf("Own-Password-%d", i))
	}
	start := time.Now()
	if _, err := a.hasher.HashMany(context.Background(), pws, 0); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

func accountsShown(b *testing.B, a *app, actor tenancy.Actor, id uuid.UUID) int {
	page, err := a.queries.Accounts(context.Background(), actor, query.AccountFilter{ImportID: id})
	if err != nil {
		b.Fatal(err)
	}
	return page.Total
}

// benchMain is the application as `rollcall serve` configures it, on a
// database of the benchmark's own.
func benchMain(b *testing.B) *Main {
	return &Main{Config: Config{
		DatabaseURL: pgtest.NewDatabase(b), SecretKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", UploadDir: b.TempDir(),
		PublicURL: "http://localhost:8080", MaxUploadSize: 1 << 30, CommitBatch: benchRows(b, "IMPORT_BATCH_ROWS", 2000),
		ChunkRows: benchRows(b, "IMPORT_CHUNK_ROWS", 10000), Argon2: password.DefaultParams(), SessionTTL: time.Hour,
		PollInterval: 50 * time.Millisecond, UndoWindow: time.Hour,
	}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard}
}

func runBackground(b *testing.B, m *Main, a *app) func() {
	// Every read model runs, as in `rollcall serve`: an import completes
	// only once the account list shows its accounts.
	all := []postgres.Consumer{postgres.SagaConsumer(importing.SagaGroup, a.jobs.HandleEvent)}
	for _, p := range projection.All() {
		all = append(all, postgres.ProjectionConsumer(p))
	}
	consumers, err := postgres.NewConsumers(m.pool, m.codec(), m.Logger, m.consumerOptions(), all...)
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := postgres.NewJobRunner(m.pool, m.Logger, postgres.JobRunnerOptions{Workers: 2, PollInterval: 50 * time.Millisecond}, jobHandlers(a.jobs))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { _ = consumers.Run(ctx); done <- struct{}{} }()
	go func() { _ = jobs.Run(ctx); done <- struct{}{} }()
	return func() {
		cancel()
		<-done
		<-done
	}
}

func writeFile(b *testing.B, rows int, passwords bool) string {
	path := filepath.Join(b.TempDir(), "people.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	header := "First Name [Required],Last Name [Required],Email Address [Required],Homeroom,Tag"
	if passwords {
		header += ",Password"
	}
	fmt.Fprintln(w, header)
	run := uuid.NewString()[:8]
	for i := range rows {
		if passwords {
			fmt.Fprintf(w, "Given%d,Family%d,s%d.%s@district.example.org,,,Own-Password-%d\n", i, i, i, run, i)
			continue
		}
		fmt.Fprintf(w, "Given%d,Family%d,s%d.%s@district.example.org,,\n", i, i, i, run)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

func uploadAndValidate(b *testing.B, a *app, actor tenancy.Actor, path string, defaultPassword bool) *importsession.Import {
	ctx := context.Background()
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	stored, err := a.wizard.StoreUpload(ctx, f)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	imp, err := a.wizard.Upload(ctx, command.UploadFile{Actor: actor, FileName: "people.csv", File: stored})
	if err != nil {
		b.Fatal(err)
	}
	id := imp.ID()
	if _, err = a.wizard.MapColumns(ctx, command.MapColumns{Actor: actor, ImportID: id, Columns: imp.File().SuggestedMapping}); err != nil {
		b.Fatal(err)
	}
	defaults := command.ChooseDefaults{Actor: actor, ImportID: id, ForcePasswordChange: true}
	if defaultPassword {
		defaults.Password = secret.New("Bench-Start-2026")
	}
	if _, err = a.wizard.ChooseDefaults(ctx, defaults); err != nil {
		b.Fatal(err)
	}
	if _, err = a.wizard.StartValidation(ctx, command.ImportCommand{Actor: actor, ImportID: id}); err != nil {
		b.Fatal(err)
	}
	return waitState(b, a, id, importsession.StateValidated)
}

func commit(b *testing.B, a *app, actor tenancy.Actor, id uuid.UUID) {
	ctx := context.Background()
	if _, err := a.wizard.Verify(ctx, command.Verify{Actor: actor, ImportID: id, Skip: true}); err != nil {
		b.Fatal(err)
	}
	if _, err := a.wizard.Commit(ctx, command.Commit{Actor: actor, ImportID: id}); err != nil {
		b.Fatal(err)
	}
	waitState(b, a, id, importsession.StateCompleted)
}

func waitState(b *testing.B, a *app, id uuid.UUID, state importsession.State) *importsession.Import {
	deadline := time.Now().Add(30 * time.Minute)
	for time.Now().Before(deadline) {
		imp, err := a.imports.Load(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
		if imp.State() == state {
			return imp
		}
		if imp.State() == importsession.StateDefaultsChosen || imp.State() == importsession.StateFailed {
			b.Fatalf("import stopped at %s", imp.State())
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("import never reached %s", state)
	return nil
}

func pageLatency(b *testing.B, a *app, actor tenancy.Actor, id uuid.UUID, pages int) time.Duration {
	var took []time.Duration
	for range 200 {
		page := rand.IntN(pages) + 1
		start := time.Now()
		out, err := a.queries.Rows(context.Background(), actor, id, "", page)
		if err != nil || len(out.Rows) == 0 {
			b.Fatalf("page %d: %v", page, err)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	return took[len(took)*95/100]
}

// resetPeakRSS and peakRSS read Linux's high-water mark of resident memory.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

func peakRSS() int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(line, "VmHWM:"), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
