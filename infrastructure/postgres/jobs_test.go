package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

const itemsPerJob, batchSize = 200, 10

// countingJob writes items 1..itemsPerJob in batches, each batch and its
// checkpoint in one short transaction, as a real commit job does.
func countingJob(pool *pgxpool.Pool, afterBatch func(done int)) postgres.JobHandler {
	return func(ctx context.Context, job *postgres.Job) error {
		var progress struct{ Done int }
		if err := json.Unmarshal(job.Progress, &progress); err != nil {
			return err
		}
		for progress.Done < itemsPerJob {
			next := progress.Done + batchSize
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `INSERT INTO job_items (job_id, item) SELECT $1, generate_series($2::int, $3::int)`,
					job.ID, progress.Done+1, next); err != nil {
					return err
				}
				return job.Checkpoint(ctx, tx, struct{ Done int }{next})
			})
			if err != nil {
				return err
			}
			progress.Done = next
			if afterBatch != nil {
				afterBatch(progress.Done)
			}
		}
		return nil
	}
}

func newJobPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := pgtest.MustOpenDB(t)
	if _, err := pool.Exec(context.Background(), `CREATE TABLE job_items (job_id uuid, item int)`); err != nil {
		t.Fatal(err)
	}
	return pool
}

func assertEveryItemOnce(t *testing.T, pool *pgxpool.Pool, jobID uuid.UUID) {
	t.Helper()
	var total, distinct int
	err := pool.QueryRow(context.Background(), `SELECT count(*), count(DISTINCT item) FROM job_items WHERE job_id = $1`, jobID).Scan(&total, &distinct)
	if err != nil {
		t.Fatal(err)
	}
	if total != itemsPerJob || distinct != itemsPerJob {
		t.Fatalf("job wrote %d items (%d distinct), want each of %d exactly once", total, distinct, itemsPerJob)
	}
}

func waitForJob(t *testing.T, pool *pgxpool.Pool, id uuid.UUID, state string) postgres.JobState {
	t.Helper()
	var last postgres.JobState
	waitFor(t, "job "+state, time.Minute, func() (bool, error) {
		var err error
		last, err = postgres.LoadJob(context.Background(), pool, id)
		return last.State == state, err
	})
	return last
}

func TestJobInterruptedByShutdownIsFinishedByAnotherRunner(t *testing.T) {
	t.Parallel()
	pool := newJobPool(t)
	ctx := context.Background()
	id := uuid.New()
	if err := postgres.EnqueueJob(ctx, pool, postgres.JobSpec{ID: id, Kind: "count", Payload: map[string]int{"n": itemsPerJob}}); err != nil {
		t.Fatal(err)
	}
	// Enqueueing the same job again (a redelivered event) changes nothing.
	if err := postgres.EnqueueJob(ctx, pool, postgres.JobSpec{ID: id, Kind: "count"}); err != nil {
		t.Fatal(err)
	}

	// The first runner is stopped half-way through.
	firstCtx, stopFirst := context.WithCancel(ctx)
	first, err := postgres.NewJobRunner(pool, discardLogger(), postgres.JobRunnerOptions{Owner: "first", PollInterval: 10 * time.Millisecond},
		map[string]postgres.JobHandler{"count": countingJob(pool, func(done int) {
			if done >= itemsPerJob/2 {
				stopFirst()
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Run(firstCtx); err != nil {
		t.Fatal(err)
	}
	state, err := postgres.LoadJob(ctx, pool, id)
	if err != nil {
		t.Fatal(err)
	}
	var progress struct{ Done int }
	_ = json.Unmarshal(state.Progress, &progress)
	if state.State != "pending" || progress.Done < itemsPerJob/2 || progress.Done >= itemsPerJob {
		t.Fatalf("after the first runner stopped: %+v (progress %d)", state, progress.Done)
	}

	second, err := postgres.NewJobRunner(pool, discardLogger(), postgres.JobRunnerOptions{Owner: "second", PollInterval: 10 * time.Millisecond},
		map[string]postgres.JobHandler{"count": countingJob(pool, nil)})
	if err != nil {
		t.Fatal(err)
	}
	runSecond(t, second)
	waitForJob(t, pool, id, "done")
	assertEveryItemOnce(t, pool, id)
}

// A runner that dies holding a job (no release, no renewal) loses it when its
// lease expires; the next runner resumes from the last checkpoint, and the
// dead runner's late checkpoint is refused.
func TestJobOfDeadRunnerIsTakenOverAfterLease(t *testing.T) {
	t.Parallel()
	pool := newJobPool(t)
	ctx := context.Background()
	id := uuid.New()
	if err := postgres.EnqueueJob(ctx, pool, postgres.JobSpec{ID: id, Kind: "count"}); err != nil {
		t.Fatal(err)
	}
	dead, err := postgres.NewJobRunner(pool, discardLogger(), postgres.JobRunnerOptions{Owner: "dead", Lease: 500 * time.Millisecond},
		map[string]postgres.JobHandler{"count": countingJob(pool, nil)})
	if err != nil {
		t.Fatal(err)
	}
	// The dead runner claimed the job and committed three batches, then died.
	job, err := dead.Claim(ctx)
	if err != nil || job == nil || job.ID != id {
		t.Fatalf("claim: %v, %v", job, err)
	}
	for done := batchSize; done <= 3*batchSize; done += batchSize {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO job_items SELECT $1, generate_series($2::int, $3::int)`, id, done-batchSize+1, done); err != nil {
				return err
			}
			return job.Checkpoint(ctx, tx, struct{ Done int }{done})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if again, err := dead.Claim(ctx); err != nil || again != nil {
		t.Fatalf("a leased job was claimed twice: %v, %v", again, err)
	}

	var ran atomic.Int32
	next, err := postgres.NewJobRunner(pool, discardLogger(), postgres.JobRunnerOptions{Owner: "next", PollInterval: 20 * time.Millisecond},
		map[string]postgres.JobHandler{"count": func(ctx context.Context, j *postgres.Job) error {
			ran.Add(1)
			return countingJob(pool, nil)(ctx, j)
		}})
	if err != nil {
		t.Fatal(err)
	}
	runSecond(t, next)
	state := waitForJob(t, pool, id, "done")
	if ran.Load() != 1 || state.Attempts != 2 {
		t.Fatalf("takeover ran %d times, attempts %d; want 1 and 2", ran.Load(), state.Attempts)
	}
	assertEveryItemOnce(t, pool, id)

	// The dead runner wakes up and tries to go on: its checkpoint is refused,
	// so its batch rolls back.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO job_items VALUES ($1, 999)`, id); err != nil {
			return err
		}
		return job.Checkpoint(ctx, tx, struct{ Done int }{999})
	})
	if !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("stale checkpoint: %v, want ErrLeaseLost", err)
	}
	assertEveryItemOnce(t, pool, id)
}

func TestFailingJobIsRetriedThenMarkedFailed(t *testing.T) {
	t.Parallel()
	pool := newJobPool(t)
	ctx := context.Background()
	id := uuid.New()
	if err := postgres.EnqueueJob(ctx, pool, postgres.JobSpec{ID: id, Kind: "broken"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE jobs SET max_attempts = 2 WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	runner, err := postgres.NewJobRunner(pool, discardLogger(), postgres.JobRunnerOptions{PollInterval: 10 * time.Millisecond},
		map[string]postgres.JobHandler{"broken": func(context.Context, *postgres.Job) error {
			return errors.New("the file is gone")
		}})
	if err != nil {
		t.Fatal(err)
	}
	runSecond(t, runner)
	// The retry waits for its backoff (2 s after the first attempt).
	state := waitForJob(t, pool, id, "failed")
	if state.Attempts != 2 || state.LastError != "the file is gone" {
		t.Fatalf("failed job: %+v", state)
	}
}

func runSecond(t *testing.T, r *postgres.JobRunner) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = r.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// A job runs outside any transaction: while one is half-way, no session of
// the database holds a transaction with an id (Watermill's delivery would
// wait for it), and a projection applies an event appended meanwhile.
func TestRunningJobHoldsNoTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, store, codec := newStore(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE job_items (job_id uuid, item int);
		CREATE TABLE bench_counts (stream_id text PRIMARY KEY, version bigint NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	runConsumers(t, pool, codec, postgres.ProjectionConsumer(countingProjection{}))

	id := uuid.New()
	if err := postgres.EnqueueJob(ctx, pool, postgres.JobSpec{ID: id, Kind: "count"}); err != nil {
		t.Fatal(err)
	}
	halfway, resume := make(chan struct{}), make(chan struct{})
	var once sync.Once
	runner, err := postgres.NewJobRunner(pool, discardLogger(), postgres.JobRunnerOptions{PollInterval: 10 * time.Millisecond},
		map[string]postgres.JobHandler{"count": countingJob(pool, func(done int) {
			if done >= itemsPerJob/2 {
				once.Do(func() {
					close(halfway)
					<-resume
				})
			}
		})})
	if err != nil {
		t.Fatal(err)
	}
	runSecond(t, runner)
	// Cleanups run last-in first-out: the paused job is let go before the
	// runner is stopped, also when the test fails half-way.
	var release sync.Once
	letGo := func() { release.Do(func() { close(resume) }) }
	t.Cleanup(letGo)
	select {
	case <-halfway:
	case <-time.After(time.Minute):
		t.Fatal("the job did not get half-way")
	}

	waitFor(t, "no session holding a transaction id while the job runs", 10*time.Second, func() (bool, error) {
		var holding int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()`).Scan(&holding)
		return holding == 0, err
	})
	if err := store.Append(ctx, eventstore.Append{StreamID: "while-the-job-runs", ExpectedVersion: eventstore.NoStream,
		Events: []eventstore.Event{event(1)}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the projection to apply an event appended while the job runs", 60*time.Second, func() (bool, error) {
		var n int
		err := pool.QueryRow(ctx, `SELECT count(*) FROM bench_counts WHERE stream_id = 'while-the-job-runs'`).Scan(&n)
		return n == 1, err
	})

	letGo()
	waitForJob(t, pool, id, "done")
	assertEveryItemOnce(t, pool, id)
}
