package importing

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
)

// The ports the import jobs need, implemented in infrastructure. A job asks
// the domain what to do with a batch and hands exactly that to a unit of
// work; it never writes SQL, and no adapter decides anything.

// Job is a claimed job as its handler sees it.
type Job interface {
	// DecodePayload and DecodeProgress read what the job is about and its
	// last checkpoint ({} at first).
	DecodePayload(v any) error
	DecodeProgress(v any) error
	// LastAttempt reports whether a failure now is final.
	LastAttempt() bool
	Attempts() int
}

// UnitOfWork writes what a batch decided in one short transaction.
type UnitOfWork interface {
	// Do runs fn, which states what to write, then writes it in one
	// transaction, events first. When another writer changed a stream fn
	// read (a concurrency conflict), it runs fn again with fresh state, a
	// few times. job is checkpointed in the same transaction when fn asks
	// (nil: no job).
	Do(ctx context.Context, job Job, fn func(w Writes) error) error
}

// Writes is what one unit of work may write.
type Writes interface {
	// UpdateImport loads the import as it is now, runs fn on it and
	// appends what fn recorded.
	UpdateImport(ctx context.Context, id uuid.UUID, meta command.Metadata, fn func(*importsession.Import) error) (*importsession.Import, error)
	// CreateAccounts appends each account's pending events as a new stream
	// and stores its state, its claim on the email and its password hash.
	// An email claimed meanwhile by someone else fails the whole unit of
	// work with *EmailsTakenError.
	CreateAccounts(accounts []NewAccount, meta command.Metadata)
	// ChangeAccounts appends each account's pending events (expecting the
	// version it was loaded at), stores its new state and, where given, its
	// new password hash, ending the account's sessions.
	ChangeAccounts(accounts []ChangedAccount, meta command.Metadata)
	// WriteRows stores validated rows for the review.
	WriteRows(importID, orgID uuid.UUID, rows []ValidatedRow)
	// ReplaceRow rewrites one validated row, corrected on the review; a row
	// whose status changed goes last among the rows of its new status.
	ReplaceRow(importID uuid.UUID, row ValidatedRow)
	// StoreLoginCards keeps the sealed generated passwords of accounts the
	// import created, for its login cards, until expiresAt.
	StoreLoginCards(importID, orgID uuid.UUID, expiresAt time.Time, cards []LoginCard)
	// QueueMail puts emails in the outbox; a key queued already is skipped.
	QueueMail(mails ...Mail)
	// CancelMail cancels the emails of these keys not sent yet.
	CancelMail(keys ...string)
	// EnqueueJob adds a job unless one with its id exists.
	EnqueueJob(spec JobSpec)
	// Checkpoint records the job's progress with the work.
	Checkpoint(progress any)
}

// NewAccount is an account to create with its password hash. Seq is the
// position of the import row that creates it (0: not an import's); the
// commit records it for the import's undo.
type NewAccount struct {
	Account      *account.Account
	PasswordHash string
	Seq          int
}

// ChangedAccount is an existing account with its changes recorded, and its
// new password hash when the change replaces the password. EndSessions
// signs the account out everywhere (a deactivated account always is). Seq, for a commit's
// change, is the position of the import row, so the undo finds what
// changed and the hash it replaced.
type ChangedAccount struct {
	Account      *account.Account
	PasswordHash string
	EndSessions  bool
	Seq          int
}

// LoginCard is a generated password, sealed (Sealer.SealCard), of an
// account the import created.
type LoginCard struct {
	AccountID uuid.UUID
	Row       int
	Sealed    []byte
}

// EmailsTakenError: emails were claimed by another writer between the plan
// and the write; the batch is planned again.
type EmailsTakenError struct{ Keys []string }

func (e *EmailsTakenError) Error() string {
	return "emails were claimed concurrently"
}

// JobSpec is a job to enqueue; its ID makes enqueueing idempotent.
type JobSpec struct {
	ID      uuid.UUID
	Kind    string
	OrgID   uuid.UUID
	Payload any
}

// Mail is one email to queue. It never holds a password.
type Mail struct {
	OrgID uuid.UUID
	// ImportID is the import the email comes of (uuid.Nil: none), so the
	// import's summary can count what could not be delivered.
	ImportID       uuid.UUID
	IdempotencyKey string
	To             string
	Subject        string
	Text           string
}

// Holders finds the accounts that hold emails now, in any organization, or
// accounts by id.
type Holders interface {
	Holders(ctx context.Context, keys []string) (map[string]*account.Account, error)
	ByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*account.Account, error)
}

// ClassroomHistory reads what an organization's completed Google Classroom
// imports imported, for a re-sync to find the students who left.
type ClassroomHistory interface {
	// EarlierMembers are the people of the classes courseIDs whom completed
	// imports other than importID imported, the most recent import's first.
	EarlierMembers(ctx context.Context, orgID, importID uuid.UUID, courseIDs []string) ([]importsession.RosterMember, error)
	// InOtherClasses are the email keys of the latest completed import of
	// each class not in courseIDs.
	InOtherClasses(ctx context.Context, orgID uuid.UUID, courseIDs []string) (map[string]bool, error)
}

// ValidatedRow is a row as the review shows it and the commit applies it.
type ValidatedRow struct {
	Number    int
	Status    string // importsession.RowNew, RowExisting, RowInvalid
	FirstName string
	LastName  string
	Email     string
	EmailKey  string
	Group     string // as written in the file
	GroupID   uuid.UUID
	Tags      []string
	TagIDs    []uuid.UUID
	Problems  []importsession.Problem
	// Diff is what the row would change on its existing account, whatever
	// the policy; ChangedUnder is account.Diff.ChangedUnder.
	Diff         account.Diff
	ChangedUnder uint16
	HasPassword  bool
	// SealedPassword is the row's own password, encrypted for the commit.
	SealedPassword []byte
	// SeqAll and SeqStatus number the row among all listed rows and among
	// rows of its status, for paging.
	SeqAll, SeqStatus int
	// CourseIDs are the Google Classroom classes the row's person is in
	// (a roster row only).
	CourseIDs []string
}

// CommitRow is a validated row the commit applies.
type CommitRow struct {
	SeqAll         int
	Row            account.ImportRow
	Reviewed       account.Reviewed
	SealedPassword []byte
}

// UndoRow is what a commit did to one account, for its undo.
type UndoRow struct {
	Seq                int
	AccountID          uuid.UUID
	Created            bool
	Change             account.Diff
	PreviousHash       string
	PreviousMustChange bool
}

// Rows reads and writes an import's validated rows.
type Rows interface {
	// Delete forgets the rows of an earlier validation.
	Delete(ctx context.Context, importID uuid.UUID) error
	// FirstRows calls fn with each email key of the rows validated so far
	// and the row that first used it, in row order.
	FirstRows(ctx context.Context, importID uuid.UUID, fn func(key string, row int)) error
	// ToCommit returns up to limit new and existing rows whose position
	// among listed rows is in (after, to], in order.
	ToCommit(ctx context.Context, importID uuid.UUID, after, to, limit int) ([]CommitRow, error)
	// Row reads one validated row.
	Row(ctx context.Context, importID uuid.UUID, number int) (ValidatedRow, bool, error)
	// RowWithEmail is the first other listed row with the email key (0:
	// none).
	RowWithEmail(ctx context.Context, importID uuid.UUID, key string, except int) (int, error)
	// ToUndo returns up to limit of what the commit did, for rows whose
	// position is in (after, to], in order.
	ToUndo(ctx context.Context, importID uuid.UUID, after, to, limit int) ([]UndoRow, error)
}

// Files opens an import's upload.
type Files interface {
	// Open reads the file row by row. Errors the file itself causes (not
	// a spreadsheet, an encoding it cannot read) are *UnreadableError.
	Open(ctx context.Context, importID uuid.UUID, ref command.FileRef) (RowReader, error)
}

// RowReader streams a file's data rows.
type RowReader interface {
	Headers() []string
	// Next returns the next data row, or io.EOF.
	Next() (FileRow, error)
	Close() error
}

// FileRow is one data row: Number is the 1-based data row number.
type FileRow struct {
	Number int
	Cells  []string // aligned to the headers
	Blank  bool
}

// UnreadableError is a file that cannot be read through, with a sentence for
// the importer.
type UnreadableError struct{ Reason string }

func (e *UnreadableError) Error() string { return e.Reason }

// Sealer encrypts passwords at rest with the service key: a row's password
// for the time between validation and commit, bound to the import and the
// row; a generated password for its login card, bound to its account.
type Sealer interface {
	Seal(importID uuid.UUID, row int, pw secret.Secret) ([]byte, error)
	Open(importID uuid.UUID, row int, sealed []byte) (secret.Secret, error)
	SealCard(accountID uuid.UUID, pw secret.Secret) ([]byte, error)
}

// Hasher hashes passwords; HashMany spreads the work over the cores.
type Hasher interface {
	Hash(pw secret.Secret) (string, error)
	HashMany(ctx context.Context, pws []secret.Secret, workers int) ([]string, error)
}

// DefaultPasswords reads an open import's default password.
type DefaultPasswords interface {
	DefaultPassword(ctx context.Context, importID uuid.UUID) (secret.Secret, bool, error)
}

// AccountList tells whether the account list (a read model) shows
// everything an import did, so the import is reported complete only then.
type AccountList interface {
	ShowsImport(ctx context.Context, importID uuid.UUID) (bool, error)
}

// Organizations reads what the jobs need of an organization.
type Organizations interface {
	Organization(ctx context.Context, id uuid.UUID) (command.Organization, error)
	ListNamed(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID) ([]command.Named, error)
}

// Effects are what the saga may do in the transaction of the event it
// handles.
type Effects interface {
	EnqueueJob(ctx context.Context, spec JobSpec) error
	// ForgetSecrets deletes the import's stored default password and the
	// sealed row passwords.
	ForgetSecrets(ctx context.Context, importID uuid.UUID) error
	// DestroyLoginCards deletes the import's login cards (their sealed
	// passwords) before their window ends.
	DestroyLoginCards(ctx context.Context, importID uuid.UUID) error
}

// Uploads deletes an import's upload when it ends.
type Uploads interface {
	Delete(ctx context.Context, id uuid.UUID) error
}

// payload is what every import job is about.
type payload struct {
	ImportID uuid.UUID
	Chunk    int `json:",omitempty"`
}
