// Package importing runs the long work of an import: validating every row
// (the review's dry run), committing the accounts in chunks that any
// process may take, completing the import once the account list shows it,
// and the saga that starts each of these from the import's events.
//
// It coordinates the domain through ports: the domain decides what each
// row means (importsession.ValidateRow, account.PlanBatch) and this package
// hands exactly that to a unit of work, in short transactions that each end
// with the job's checkpoint, so a crash resumes after the last committed
// batch and nothing is done twice.
package importing

import (
	"errors"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
)

// Job kinds.
const (
	KindValidate    = "validate_import"
	KindCommitChunk = "commit_import_chunk"
	KindFinish      = "finish_import"
)

// jobNamespace derives job and event ids from what they are about, so a
// redelivered event or a repeated batch writes nothing new.
var jobNamespace = uuid.MustParse("6f1d7c1e-3b8e-4c52-9a51-0c9e3f0b7a11")

func derivedID(parts ...string) uuid.UUID {
	key := ""
	for _, p := range parts {
		key += p + ":"
	}
	return uuid.NewSHA1(jobNamespace, []byte(key))
}

// ValidateJobID is the job of one validation run (the stream version of
// its ValidationStarted tells runs apart).
func ValidateJobID(importID uuid.UUID, version int64) uuid.UUID {
	return derivedID(importID.String(), "validate", strconv.FormatInt(version, 10))
}

// ChunkJobID is the job of one chunk of the import's commit.
func ChunkJobID(importID uuid.UUID, chunk int) uuid.UUID {
	return derivedID(importID.String(), "commit", strconv.Itoa(chunk))
}

// FinishJobID is the import's one completion job.
func FinishJobID(importID uuid.UUID) uuid.UUID {
	return derivedID(importID.String(), "finish")
}

// Deps are what the jobs need.
type Deps struct {
	Imports          command.Imports
	Orgs             Organizations
	Work             UnitOfWork
	Holders          Holders
	Rows             Rows
	Files            Files
	Sealer           Sealer
	Hasher           Hasher
	DefaultPasswords DefaultPasswords
	AccountList      AccountList
	Uploads          Uploads
	Classroom        ClassroomHistory
	Policy           command.PasswordPolicy
	Logger           *slog.Logger
	Now              func() time.Time
	// BatchRows is the number of rows a transaction writes (default 1000).
	BatchRows int
	// PublicURL is how people reach the service, for links in emails.
	PublicURL string
	// Observer counts what the jobs did, for metrics; nil counts nothing.
	Observer Observer
}

// Observer is told what the jobs did.
type Observer interface {
	RowsValidated(n int)
	AccountsCommitted(created, updated int)
	StageFinished(stage string, took time.Duration)
}

type noObserver struct{}

func (noObserver) RowsValidated(int)                   {}
func (noObserver) AccountsCommitted(int, int)          {}
func (noObserver) StageFinished(string, time.Duration) {}

// Runner runs the import jobs and the import saga.
type Runner struct {
	d Deps
	// hashing adds up the time spent hashing passwords, for the benchmarks.
	hashing atomic.Int64
}

// NewRunner refuses missing dependencies.
func NewRunner(d Deps) (*Runner, error) {
	if d.Imports == nil || d.Orgs == nil || d.Work == nil || d.Holders == nil || d.Rows == nil || d.Files == nil ||
		d.Sealer == nil || d.Hasher == nil || d.DefaultPasswords == nil || d.AccountList == nil || d.Uploads == nil ||
		d.Classroom == nil || d.Policy == nil || d.Logger == nil || d.Now == nil {
		return nil, errors.New("importing: NewRunner needs every dependency")
	}
	if d.BatchRows <= 0 {
		d.BatchRows = 1000
	}
	if d.Observer == nil {
		d.Observer = noObserver{}
	}
	return &Runner{d: d}, nil
}

// HashingTime is the wall time spent hashing passwords so far.
func (r *Runner) HashingTime() time.Duration { return time.Duration(r.hashing.Load()) }

// errStale marks a job whose import moved on (cancelled, revalidated): it
// ends without doing anything.
var errStale = errors.New("import is no longer at this step")
