package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrLeaseLost means another worker took the job over (this worker's lease
// expired); whatever the transaction holding the checkpoint did is rolled
// back with it.
var ErrLeaseLost = errors.New("job lease lost to another worker")

// JobSpec describes a job to enqueue. A job's ID makes enqueueing idempotent:
// derive it from what the job is about (e.g. the import and the step) so a
// redelivered event cannot start the same work twice.
type JobSpec struct {
	ID      uuid.UUID
	Kind    string
	OrgID   uuid.UUID
	Payload any
}

// Execer is a pool or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// EnqueueJob adds a job unless one with the same ID exists. Pass a
// transaction to make the job appear only if that transaction commits.
func EnqueueJob(ctx context.Context, db Execer, spec JobSpec) error {
	if spec.ID == uuid.Nil || spec.Kind == "" {
		return errors.New("postgres: a job needs an id and a kind")
	}
	payload, err := json.Marshal(spec.Payload)
	if err != nil {
		return fmt.Errorf("job payload: %w", err)
	}
	var org *uuid.UUID
	if spec.OrgID != uuid.Nil {
		org = &spec.OrgID
	}
	_, err = db.Exec(ctx, `
		INSERT INTO jobs (id, kind, org_id, payload) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO NOTHING`, spec.ID, spec.Kind, org, payload)
	return err
}

// Job is a claimed job, handed to its handler.
type Job struct {
	ID       uuid.UUID
	Kind     string
	OrgID    uuid.UUID
	Payload  json.RawMessage
	Progress json.RawMessage // the last checkpoint, "{}" at first
	Attempt  int
	// MaxAttempts is when the runner gives up; a handler on its last
	// attempt can record the failure where people will see it.
	MaxAttempts int

	leaseToken uuid.UUID
}

// Checkpoint records progress inside the caller's transaction, the same one
// that did the work, so work and progress commit together and a resumed job
// starts exactly after the last committed batch. It fails with ErrLeaseLost if
// another worker owns the job now; the caller must then roll back.
func (j *Job) Checkpoint(ctx context.Context, tx pgx.Tx, progress any) error {
	b, err := json.Marshal(progress)
	if err != nil {
		return fmt.Errorf("job progress: %w", err)
	}
	tag, err := tx.Exec(ctx, `
		UPDATE jobs SET progress = $3, updated_at = now()
		WHERE id = $1 AND lease_token = $2 AND state = 'running'`, j.ID, j.leaseToken, b)
	if err != nil {
		return fmt.Errorf("checkpoint job %s: %w", j.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return ErrLeaseLost
	}
	j.Progress = b
	return nil
}

// JobHandler does a job's work outside any database transaction, in short
// transactions of its own that each end with Job.Checkpoint. Returning nil
// marks the job done; an error schedules a retry with backoff.
type JobHandler func(ctx context.Context, job *Job) error

// JobRunnerOptions tune a runner; zero values take the defaults.
type JobRunnerOptions struct {
	Owner        string        // names this process in the jobs table (default: a random id)
	Workers      int           // jobs run at once by this process (default 2)
	Lease        time.Duration // how long a claim lasts without renewal (default 30s)
	PollInterval time.Duration // idle wait between claims (default 250ms)
}

// JobRunner claims and runs jobs. Several runners, in one process or many,
// share the queue: FOR UPDATE SKIP LOCKED gives each job to one of them, and
// the lease hands a job over when its runner dies.
type JobRunner struct {
	pool     *pgxpool.Pool
	handlers map[string]JobHandler
	opts     JobRunnerOptions
	logger   *slog.Logger
}

// NewJobRunner returns a runner for the given kinds of job.
func NewJobRunner(pool *pgxpool.Pool, logger *slog.Logger, opts JobRunnerOptions, handlers map[string]JobHandler) (*JobRunner, error) {
	if pool == nil || logger == nil {
		return nil, errors.New("postgres: NewJobRunner needs a pool and a logger")
	}
	if opts.Owner == "" {
		opts.Owner = "runner-" + uuid.NewString()[:8]
	}
	if opts.Workers <= 0 {
		opts.Workers = 2
	}
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	return &JobRunner{pool: pool, handlers: handlers, opts: opts, logger: logger.With("job_runner", opts.Owner)}, nil
}

// Run works until ctx is cancelled. A job interrupted by the cancellation
// keeps its last checkpoint and is released for any runner to resume.
func (r *JobRunner) Run(ctx context.Context) error {
	if len(r.handlers) == 0 {
		<-ctx.Done()
		return nil
	}
	var wg sync.WaitGroup
	for range r.opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work(ctx)
		}()
	}
	wg.Wait()
	return nil
}

func (r *JobRunner) work(ctx context.Context) {
	for ctx.Err() == nil {
		job, err := r.Claim(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.logger.Error("claim job", "err", err)
			}
		}
		if job == nil {
			select {
			case <-ctx.Done():
			case <-time.After(r.opts.PollInterval):
			}
			continue
		}
		r.run(ctx, job)
	}
}

// Claim takes the oldest runnable job: pending, or running under an expired
// lease. It returns nil when there is none.
func (r *JobRunner) Claim(ctx context.Context) (*Job, error) {
	kinds := make([]string, 0, len(r.handlers))
	for k := range r.handlers {
		kinds = append(kinds, k)
	}
	job := &Job{leaseToken: uuid.New()}
	var org *uuid.UUID
	err := r.pool.QueryRow(ctx, `
		UPDATE jobs SET state = 'running', attempts = attempts + 1,
			lease_token = $1, lease_owner = $2, lease_until = now() + $3::interval, updated_at = now()
		WHERE id = (
			SELECT id FROM jobs
			WHERE kind = ANY($4) AND run_after <= now()
			  AND (state = 'pending' OR (state = 'running' AND lease_until < now()))
			ORDER BY run_after, created_at
			LIMIT 1
			FOR UPDATE SKIP LOCKED)
		RETURNING id, kind, org_id, payload, progress, attempts, max_attempts`,
		job.leaseToken, r.opts.Owner, r.opts.Lease.String(), kinds,
	).Scan(&job.ID, &job.Kind, &org, &job.Payload, &job.Progress, &job.Attempt, &job.MaxAttempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if org != nil {
		job.OrgID = *org
	}
	return job, nil
}

func (r *JobRunner) run(ctx context.Context, job *Job) {
	logger := r.logger.With("job_id", job.ID, "kind", job.Kind, "attempt", job.Attempt)
	jobCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// The lease is renewed while the handler works; losing it stops the
	// handler, whose next checkpoint would fail anyway.
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		ticker := time.NewTicker(r.opts.Lease / 3)
		defer ticker.Stop()
		for {
			select {
			case <-jobCtx.Done():
				return
			case <-ticker.C:
				tag, err := r.pool.Exec(jobCtx, `
					UPDATE jobs SET lease_until = now() + $3::interval
					WHERE id = $1 AND lease_token = $2 AND state = 'running'`,
					job.ID, job.leaseToken, r.opts.Lease.String())
				if err == nil && tag.RowsAffected() == 0 {
					cancel(ErrLeaseLost)
					return
				}
			}
		}
	}()

	err := r.handlers[job.Kind](jobCtx, job)
	if errors.Is(context.Cause(jobCtx), ErrLeaseLost) {
		err = ErrLeaseLost
	}
	cancel(nil)
	<-renewed

	// Finishing uses its own context: a shutdown must still record the outcome.
	finishCtx, done := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer done()
	switch {
	case err == nil:
		_, err = r.pool.Exec(finishCtx, `
			UPDATE jobs SET state = 'done', finished_at = now(), lease_token = NULL, lease_until = NULL, updated_at = now()
			WHERE id = $1 AND lease_token = $2`, job.ID, job.leaseToken)
		if err != nil {
			logger.Error("mark job done", "err", err)
		}
	case errors.Is(err, ErrLeaseLost):
		logger.Warn("job taken over by another runner")
	case ctx.Err() != nil:
		// Shutting down: hand the job back at once rather than after the lease.
		_, err = r.pool.Exec(finishCtx, `
			UPDATE jobs SET state = 'pending', attempts = attempts - 1, lease_token = NULL, lease_until = NULL, updated_at = now()
			WHERE id = $1 AND lease_token = $2`, job.ID, job.leaseToken)
		if err != nil {
			logger.Error("release job", "err", err)
		}
		logger.Info("job released for another runner")
	default:
		logger.Error("job failed", "err", err)
		delay := time.Duration(1<<min(job.Attempt, 8)) * time.Second
		_, uerr := r.pool.Exec(finishCtx, `
			UPDATE jobs SET
				state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'pending' END,
				finished_at = CASE WHEN attempts >= max_attempts THEN now() END,
				last_error = $3, run_after = now() + $4::interval,
				lease_token = NULL, lease_until = NULL, updated_at = now()
			WHERE id = $1 AND lease_token = $2`, job.ID, job.leaseToken, err.Error(), delay.String())
		if uerr != nil {
			logger.Error("record job failure", "err", uerr)
		}
	}
}

// JobState is a job's row as operations see it.
type JobState struct {
	ID        uuid.UUID
	Kind      string
	State     string
	Attempts  int
	Progress  json.RawMessage
	LastError string
}

// LoadJob reads one job.
func LoadJob(ctx context.Context, pool *pgxpool.Pool, id uuid.UUID) (JobState, error) {
	var s JobState
	var lastErr *string
	err := pool.QueryRow(ctx, `SELECT id, kind, state, attempts, progress, last_error FROM jobs WHERE id = $1`, id).
		Scan(&s.ID, &s.Kind, &s.State, &s.Attempts, &s.Progress, &lastErr)
	if lastErr != nil {
		s.LastError = *lastErr
	}
	return s, err
}

// LastAttempt reports whether a failure now is final.
func (j *Job) LastAttempt() bool { return j.Attempt >= j.MaxAttempts }

// Attempts is the number of this attempt, from 1.
func (j *Job) Attempts() int { return j.Attempt }

// DecodePayload reads what the job is about.
func (j *Job) DecodePayload(v any) error { return json.Unmarshal(j.Payload, v) }

// DecodeProgress reads the job's last checkpoint ({} at first).
func (j *Job) DecodeProgress(v any) error { return json.Unmarshal(j.Progress, v) }
