package importsession

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Events of an import's stream (import-<id>): past-tense facts, data only.
// They carry references, counts and digests, never row data in bulk and never
// a password; their names are stable strings chosen once.

// FileUploaded starts a CSV or Excel import.
type FileUploaded struct {
	ImportID     uuid.UUID
	OrgID        uuid.UUID
	ActorID      uuid.UUID
	ActorEmail   string
	ActorGroupID uuid.UUID
	// ActorRole is the importer's role when they uploaded: their reach
	// bounds which existing accounts the import may change. Events from
	// before it was recorded read as an administrator's, the narrower reach.
	ActorRole        string
	Source           string
	FileName         string
	FileSize         int64
	FileSHA256       string
	Rows             int
	Headers          []string
	Encoding         string
	Delimiter        string
	HeaderLine       int
	AccountType      string
	SendWelcomeEmail bool
	PresetID         uuid.UUID
	SuggestedMapping map[string]string
	UploadedAt       time.Time
}

// FileReread: the importer chose how to read the CSV (its encoding or
// delimiter were detected wrong); its columns, rows and suggested mapping
// are read again, and the mapping starts over.
type FileReread struct {
	Encoding         string
	Delimiter        string
	Headers          []string
	HeaderLine       int
	Rows             int
	SuggestedMapping map[string]string
	RereadAt         time.Time
}

// FollowUpStarted: the file is the fixed rejected rows of an earlier import
// (its rejected.csv), continued with that import's mapping, defaults and
// existing-accounts policy.
type FollowUpStarted struct {
	Of             uuid.UUID
	UpdatePassword bool
	UpdateGroup    bool
	UpdateTags     bool
	UpdateNames    bool
}

// ColumnsMapped records which column holds what.
type ColumnsMapped struct {
	Mapping  map[string]string
	MappedAt time.Time
}

// DefaultsChosen records the defaults. PasswordSet says a default password
// was given; the password itself is kept encrypted outside the event.
// GeneratePasswords says each new account gets a generated password; the
// passwords exist only sealed, for the login cards, never in an event.
type DefaultsChosen struct {
	PasswordSet         bool
	GeneratePasswords   bool
	ForcePasswordChange bool
	GroupID             uuid.UUID
	TagIDs              []uuid.UUID
	DeactivateDeparted  bool
	ChosenAt            time.Time
}

// ValidationStarted: every row is being checked in the background.
type ValidationStarted struct {
	StartedAt time.Time
}

// RowsValidated holds the outcome of the validation.
type RowsValidated struct {
	Total    int
	New      int
	Existing int
	Invalid  int
	Blank    int
	// ChangedUnder counts, for each of the account.Policies policies (by
	// account.Policy.Bits), the existing rows that would change under it,
	// so choosing a policy re-counts changed and unchanged rows without
	// reading them again. Empty in events from before it was recorded:
	// every existing row then counts as changed.
	ChangedUnder  []int
	ProblemCounts map[string]int
	ValidatedAt   time.Time
}

// ValidationFailed: the file could not be read through (not a row problem).
type ValidationFailed struct {
	Reason   string
	FailedAt time.Time
}

// ExistingAccountsPolicyChosen says what to change on accounts that exist.
type ExistingAccountsPolicyChosen struct {
	UpdatePassword bool
	UpdateGroup    bool
	UpdateTags     bool
	UpdateNames    bool
}

// VerificationPageViewed: the importer looked at one page of rows.
type VerificationPageViewed struct {
	Page int
}

// VerificationSkipped: the importer chose not to look at the rows.
type VerificationSkipped struct{}

// ImportCommitted: the accounts are to be created now.
type ImportCommitted struct {
	ExpectedNew      int
	ExpectedExisting int
	// ExpectedChanged is how many existing accounts the review said would
	// change; ConfirmedChanged is the figure the importer typed when that
	// crossed the organization's change threshold (0: not asked).
	ExpectedChanged  int
	ConfirmedChanged int
	// Chunks is the number of chunk jobs the commit is split into, each
	// ChunkRows consecutive data rows, so several processes share it.
	Chunks      int
	ChunkRows   int
	CommittedAt time.Time
}

// CommitProgressed is recorded after each batch of a chunk; its counts are
// the chunk's so far (not the batch's), so a lost or repeated one is
// corrected by the next.
type CommitProgressed struct {
	Chunk     int
	Done      int
	Created   int
	Updated   int
	Unchanged int
	Failed    int
}

// CommitChunkCompleted: one chunk of the commit is applied; its counts are
// final, and FailedRows are its rows that could not be applied.
type CommitChunkCompleted struct {
	Chunk      int
	Done       int
	Created    int
	Updated    int
	Unchanged  int
	Failed     int
	FailedRows []FailedRow
}

// FailedRow is a row the commit could not apply.
type FailedRow struct {
	Row   int
	Email string
	Code  string
}

// ImportCompleted: the commit is over, and the account list shows it.
type ImportCompleted struct {
	Created   int
	Updated   int
	Unchanged int
	Skipped   int
	Failed    int
	// Deactivated counts the departed students' accounts a Google
	// Classroom re-sync deactivated.
	Deactivated int
	FailedRows  []FailedRow // the first MaxFailedRows
	CompletedAt time.Time
}

// ImportFailed: the commit stopped for good.
type ImportFailed struct {
	Reason   string
	FailedAt time.Time
}

// ImportCancelled: the importer gave up before committing.
type ImportCancelled struct {
	CancelledAt time.Time
}

// ClassroomCourse is one Google Classroom class an import reads.
type ClassroomCourse struct {
	ID       string
	Name     string
	Section  string
	Students int
	Teachers int
}

// ClassroomRosterFetched starts a Google Classroom import.
type ClassroomRosterFetched struct {
	ImportID        uuid.UUID
	OrgID           uuid.UUID
	ActorID         uuid.UUID
	ActorEmail      string
	ActorGroupID    uuid.UUID
	ActorRole       string
	GoogleEmail     string
	Courses         []ClassroomCourse
	IncludeTeachers bool
	People          int
	GroupID         uuid.UUID
	// SendWelcomeEmail and RosterSHA256 (of the stored roster CSV) tell an
	// auditor what was imported and how.
	SendWelcomeEmail bool
	RosterSHA256     string
	FetchedAt        time.Time
}

// UndoStarted: an importer or a system administrator undoes a completed
// import, in chunks over the same rows as its commit.
type UndoStarted struct {
	ByActor   uuid.UUID
	ByEmail   string
	Chunks    int
	ChunkRows int
	StartedAt time.Time
}

// UndoProgressed is recorded after each batch of an undo chunk; its counts
// are the chunk's so far.
type UndoProgressed struct {
	Chunk       int
	Done        int
	Deactivated int
	Restored    int
	Kept        int
}

// KeptAccount is an account whose fields, changed again since the import,
// the undo kept.
type KeptAccount struct {
	Email  string
	Fields []string
}

// UndoChunkCompleted: one chunk of the undo is applied.
type UndoChunkCompleted struct {
	Chunk        int
	Done         int
	Deactivated  int
	Restored     int
	Kept         int
	KeptAccounts []KeptAccount
}

// ImportUndone: every account the import created is deactivated, every one
// it changed is back as it was (but for the fields kept), and the account
// list shows it.
type ImportUndone struct {
	Deactivated int
	Restored    int
	Kept        int
	// Reactivated counts the accounts of departed students the undone
	// re-sync had deactivated, active again.
	Reactivated  int
	KeptAccounts []KeptAccount // the first MaxFailedRows
	UndoneAt     time.Time
}

// FieldChange is one field of a row, before and after a correction.
type FieldChange struct {
	Field    string
	From, To string
}

// RowCorrected: the importer fixed a row on the review, and it was checked
// again at once. The statuses and masks before and after keep the counts
// right without reading the rows again.
type RowCorrected struct {
	Row                int
	ByActor            uuid.UUID
	Changes            []FieldChange
	StatusBefore       string
	StatusAfter        string
	ChangedUnderBefore uint16
	ChangedUnderAfter  uint16
	ProblemsBefore     []string // problem codes
	ProblemsAfter      []string
	CorrectedAt        time.Time
}

// ImportSummaryEmailed: the importer was sent the summary.
type ImportSummaryEmailed struct {
	To string
}

// MaxFailedRows bounds the failed rows an event lists.
const MaxFailedRows = 1000

func (FileUploaded) EventType() string                 { return "FileUploaded" }
func (ColumnsMapped) EventType() string                { return "ColumnsMapped" }
func (DefaultsChosen) EventType() string               { return "DefaultsChosen" }
func (ValidationStarted) EventType() string            { return "ValidationStarted" }
func (RowsValidated) EventType() string                { return "RowsValidated" }
func (ValidationFailed) EventType() string             { return "ValidationFailed" }
func (ExistingAccountsPolicyChosen) EventType() string { return "ExistingAccountsPolicyChosen" }
func (VerificationPageViewed) EventType() string       { return "VerificationPageViewed" }
func (VerificationSkipped) EventType() string          { return "VerificationSkipped" }
func (ImportCommitted) EventType() string              { return "ImportCommitted" }
func (CommitProgressed) EventType() string             { return "CommitProgressed" }
func (CommitChunkCompleted) EventType() string         { return "CommitChunkCompleted" }
func (ImportCompleted) EventType() string              { return "ImportCompleted" }
func (ImportFailed) EventType() string                 { return "ImportFailed" }
func (ImportCancelled) EventType() string              { return "ImportCancelled" }
func (ClassroomRosterFetched) EventType() string       { return "ClassroomRosterFetched" }
func (ImportSummaryEmailed) EventType() string         { return "ImportSummaryEmailed" }
func (UndoStarted) EventType() string                  { return "UndoStarted" }
func (RowCorrected) EventType() string                 { return "RowCorrected" }
func (FollowUpStarted) EventType() string              { return "FollowUpStarted" }
func (FileReread) EventType() string                   { return "FileReread" }
func (UndoProgressed) EventType() string               { return "UndoProgressed" }
func (UndoChunkCompleted) EventType() string           { return "UndoChunkCompleted" }
func (ImportUndone) EventType() string                 { return "ImportUndone" }

// Events lists a sample of every import event, for the codec registry.
func Events() []interface{ EventType() string } {
	return []interface{ EventType() string }{
		FileUploaded{}, ColumnsMapped{}, DefaultsChosen{}, ValidationStarted{}, RowsValidated{},
		ValidationFailed{}, ExistingAccountsPolicyChosen{}, VerificationPageViewed{}, VerificationSkipped{},
		ImportCommitted{}, CommitProgressed{}, CommitChunkCompleted{}, ImportCompleted{}, ImportFailed{}, ImportCancelled{},
		ClassroomRosterFetched{}, ImportSummaryEmailed{}, UndoStarted{}, UndoProgressed{}, UndoChunkCompleted{}, ImportUndone{}, RowCorrected{}, FollowUpStarted{}, FileReread{}, LoginCardsDownloaded{},
		DepartedFound{}, DeactivateDepartedChosen{}, DeparturesDeactivated{}, DeparturesUndone{},
	}
}

// StreamPrefix starts every import stream's id.
const StreamPrefix = "import-"

// StreamID is the import's event stream.
func StreamID(id uuid.UUID) string { return StreamPrefix + id.String() }

// IDOfStream is the import whose stream this is (ok false: another
// aggregate's).
func IDOfStream(streamID string) (uuid.UUID, bool) {
	rest, ok := strings.CutPrefix(streamID, StreamPrefix)
	if !ok {
		return uuid.Nil, false
	}
	id, err := uuid.Parse(rest)
	return id, err == nil
}

// LoginCardsDownloaded: the importer downloaded the login cards of the
// accounts the import created with generated passwords. It says who and
// when, and how many cards; never a password.
type LoginCardsDownloaded struct {
	ByActor      uuid.UUID
	ByEmail      string
	Cards        int
	DownloadedAt time.Time
}

func (LoginCardsDownloaded) EventType() string { return "LoginCardsDownloaded" }
