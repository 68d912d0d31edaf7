// Package importjob runs the long work of an import — validating every row
// and committing the accounts — as jobs: streaming the file, outside any
// long transaction, in short batches that each commit with their checkpoint,
// so a crash resumes after the last committed batch and nothing is done
// twice. The rules themselves are the domain's (importsession.ValidateRow,
// account.Create); this package moves the data.
package importjob

import (
	"context"
	"encoding/json"
	"errors"
	"hash/maphash"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
)

// Job kinds.
const (
	KindValidate = "validate_import"
	KindCommit   = "commit_import"
)

// jobNamespace derives job ids from what they are about, so a redelivered
// event enqueues nothing new.
var jobNamespace = uuid.MustParse("6f1d7c1e-3b8e-4c52-9a51-0c9e3f0b7a11")

// ValidateJobID is the job of one validation run (the stream version of
// its ValidationStarted tells runs apart).
func ValidateJobID(importID uuid.UUID, version int64) uuid.UUID {
	return uuid.NewSHA1(jobNamespace, []byte(importID.String()+":validate:"+itoa(version)))
}

// CommitJobID is the import's one commit job.
func CommitJobID(importID uuid.UUID) uuid.UUID {
	return uuid.NewSHA1(jobNamespace, []byte(importID.String()+":commit"))
}

// Payload is what an import job is about.
type Payload struct {
	ImportID uuid.UUID
}

// Runner holds what the jobs need.
type Runner struct {
	Pool      *pgxpool.Pool
	Imports   *postgres.Imports
	Tenancy   *postgres.Tenancy
	Uploads   command.Uploads
	Secrets   *postgres.ImportSecrets
	Hasher    *password.Hasher
	Policy    command.PasswordPolicy
	Reader    spreadsheet.Options
	Mail      Mailer
	Logger    *slog.Logger
	BatchSize int // rows per transaction (default 1000)
	Now       func() time.Time
	Metrics   Metrics // optional

	// hashing adds up the time spent hashing passwords, for the benchmarks.
	hashing atomic.Int64
}

// HashingTime is the wall time spent hashing passwords so far.
func (r *Runner) HashingTime() time.Duration { return time.Duration(r.hashing.Load()) }

// Metrics hears what the jobs did (infrastructure/metrics counts it).
type Metrics interface {
	RowsValidated(n int)
	AccountsCommitted(created, updated int)
	StageFinished(stage string, took time.Duration)
}

func (r *Runner) metrics() Metrics {
	if r.Metrics == nil {
		return noMetrics{}
	}
	return r.Metrics
}

type noMetrics struct{}

func (noMetrics) RowsValidated(int)                   {}
func (noMetrics) AccountsCommitted(int, int)          {}
func (noMetrics) StageFinished(string, time.Duration) {}

// Mailer writes emails into the outbox inside a transaction.
type Mailer interface {
	Enqueue(ctx context.Context, tx pgx.Tx, msgs ...Mail) error
}

// Mail is one email to queue.
type Mail struct {
	OrgID          uuid.UUID
	ImportID       uuid.UUID
	IdempotencyKey string
	To             string
	Subject        string
	Text           string
}

// Handlers returns the job handlers by kind.
func (r *Runner) Handlers() map[string]postgres.JobHandler {
	return map[string]postgres.JobHandler{KindValidate: r.Validate, KindCommit: r.Commit}
}

func (r *Runner) batchSize() int {
	if r.BatchSize <= 0 {
		return 1000
	}
	return r.BatchSize
}

// names maps lower-cased names of groups or tags to their ids.
func (r *Runner) names(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID) (map[string]uuid.UUID, error) {
	list, err := r.Tenancy.ListNamed(ctx, kind, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uuid.UUID, len(list))
	for _, n := range list {
		out[strings.ToLower(n.Name)] = n.ID
	}
	return out, nil
}

// emailSet remembers the first row of each email key in a file in 12 bytes
// an entry (a 64-bit hash and the row), so a million-row file needs tens of
// megabytes, not hundreds. Two different emails sharing a hash is a 1 in
// 10^10 event for a million rows; it would show as a false duplicate, which
// the importer sees and can question, never as a lost account.
type emailSet struct {
	seed  maphash.Seed
	first map[uint64]int32
}

func newEmailSet() *emailSet {
	return &emailSet{seed: maphash.MakeSeed(), first: map[uint64]int32{}}
}

func (s *emailSet) firstRowWith(key string, row int) int {
	h := maphash.String(s.seed, key)
	if first, ok := s.first[h]; ok {
		return int(first)
	}
	s.first[h] = int32(row)
	return row
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// loadImport reads the job's import; ok is false when the import has moved
// past the step the job is for (cancelled, revalidated), and the job ends
// without doing anything.
func (r *Runner) loadImport(ctx context.Context, job *postgres.Job, step importsession.State) (imp *importsession.Import, ok bool, err error) {
	var p Payload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return nil, false, err
	}
	if imp, err = r.Imports.Load(ctx, p.ImportID); err != nil {
		return nil, false, err
	}
	if imp.State() != step {
		r.Logger.InfoContext(ctx, "job for an import no longer at its step", "kind", job.Kind, "import_id", p.ImportID, "state", imp.State())
		return imp, false, nil
	}
	return imp, true, nil
}

// errStale marks a job whose import moved on (cancelled, revalidated): it
// ends without doing anything.
var errStale = errors.New("import is no longer at this step")
