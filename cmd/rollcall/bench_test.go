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

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
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

// BenchmarkImport times upload → validated and commit → completed through
// the application layer (the wizard, the saga, the jobs) against PostgreSQL,
// then the verification page latency. It reports rows/s, peak memory (the
// process's peak RSS), and the share of the commit spent hashing.
func BenchmarkImport(b *testing.B) {
	validateRows := benchRows(b, "ROLLCALL_BENCH_ROWS", 100_000)
	commitRows := min(validateRows, benchRows(b, "ROLLCALL_BENCH_COMMIT_ROWS", 100_000))
	ctx := context.Background()
	m := &Main{Config: Config{
		DatabaseURL: pgtest.NewDatabase(b), SecretKey: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", UploadDir: b.TempDir(),
		MaxUploadSize: 1 << 30, CommitBatch: 2000, Argon2: password.DefaultParams(), SessionTTL: time.Hour, PollInterval: 50 * time.Millisecond,
	}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Stdout: io.Discard}
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
		path := writeFile(b, validateRows)
		resetPeakRSS()
		start := time.Now()
		imp := uploadAndValidate(b, a, actor, path)
		validated := time.Since(start)
		peak := peakRSS()
		b.ReportMetric(float64(validateRows)/validated.Seconds(), "validated-rows/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
		fmt.Printf("validate: %d rows in %s (%.0f rows/s), peak RSS %d MiB\n", validateRows, validated.Round(time.Millisecond), float64(validateRows)/validated.Seconds(), peak>>20)

		p95 := pageLatency(b, a, actor, imp.ID(), imp.Pages())
		b.ReportMetric(float64(p95.Microseconds())/1000, "page-p95-ms")
		fmt.Printf("verification page of a %d-row import: p95 %s over 200 random pages\n", validateRows, p95)

		// The commit: a fresh import of commitRows, shared default password.
		if commitRows != validateRows {
			path = writeFile(b, commitRows)
			imp = uploadAndValidate(b, a, actor, path)
		}
		hashBefore := a.jobs.HashingTime()
		start = time.Now()
		commit(b, a, actor, imp.ID())
		committed := time.Since(start)
		hashing := a.jobs.HashingTime() - hashBefore
		b.ReportMetric(float64(commitRows)/committed.Seconds(), "committed-rows/s")
		fmt.Printf("commit: %d accounts in %s (%.0f accounts/s); hashing %s = %.1f%% of it (shared default password hashed once, GOMAXPROCS=%d)\n",
			commitRows, committed.Round(time.Millisecond), float64(commitRows)/committed.Seconds(), hashing.Round(time.Millisecond),
			100*hashing.Seconds()/committed.Seconds(), runtime.GOMAXPROCS(0))
	}
}

func runBackground(b *testing.B, m *Main, a *app) func() {
	// The account list's read model runs too: an import completes only once
	// the list shows its accounts.
	consumers, err := postgres.NewConsumers(m.pool, m.codec(), m.Logger, m.consumerOptions(),
		postgres.SagaConsumer(importing.SagaGroup, a.jobs.HandleEvent), postgres.ProjectionConsumer(projection.Accounts{}))
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := postgres.NewJobRunner(m.pool, m.Logger, postgres.JobRunnerOptions{Workers: 1, PollInterval: 50 * time.Millisecond}, jobHandlers(a.jobs))
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

func writeFile(b *testing.B, rows int) string {
	path := filepath.Join(b.TempDir(), "people.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "First Name [Required],Last Name [Required],Email Address [Required],Homeroom,Tag")
	run := uuid.NewString()[:8]
	for i := range rows {
		fmt.Fprintf(w, "Given%d,Family%d,s%d.%s@district.example.org,,\n", i, i, i, run)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

func uploadAndValidate(b *testing.B, a *app, actor tenancy.Actor, path string) *importsession.Import {
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
	if _, err = a.wizard.ChooseDefaults(ctx, command.ChooseDefaults{Actor: actor, ImportID: id, Password: secret.New("Bench-Start-2026"), ForcePasswordChange: true}); err != nil {
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
