// Package importsession holds the Import aggregate: the wizard that turns a
// spreadsheet or a Google Classroom roster into accounts, as a state machine
// whose every step is an event. It also holds the column mapping, the
// suggested mapping and the per-row validation rules.
package importsession

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// State is where an import is in its life.
type State string

const (
	StateUploaded       State = "uploaded"
	StateMapped         State = "mapped"
	StateDefaultsChosen State = "defaults_chosen"
	StateValidating     State = "validating"
	StateValidated      State = "validated"
	StateCommitting     State = "committing"
	StateCompleted      State = "completed"
	StateFailed         State = "failed"
	StateCancelled      State = "cancelled"
	StateUndoing        State = "undoing"
	StateUndone         State = "undone"
)

// Step is the wizard page an import resumes at.
type Step string

const (
	StepMapping      Step = "mapping"
	StepDefaults     Step = "defaults"
	StepValidation   Step = "validation"
	StepVerification Step = "verification"
	StepCommit       Step = "commit"
	StepDone         Step = "done"
)

// Step maps a state to the page that continues it.
func (s State) Step() Step {
	switch s {
	case StateUploaded:
		return StepMapping
	case StateMapped:
		return StepDefaults
	case StateDefaultsChosen, StateValidating:
		return StepValidation
	case StateValidated:
		return StepVerification
	case StateCommitting:
		return StepCommit
	}
	return StepDone
}

// Open reports whether the import can still be resumed or cancelled.
func (s State) Open() bool {
	switch s {
	case StateUploaded, StateMapped, StateDefaultsChosen, StateValidating, StateValidated:
		return true
	}
	return false
}

// Sources and account types.
const (
	SourceCSV       = "csv"
	SourceXLSX      = "xlsx"
	SourceClassroom = "google_classroom"

	AccountTypeUsers          = "users"
	AccountTypeAdministrators = "administrators"
)

// PageSize is the number of rows on a verification page.
const PageSize = 100

// Defaults are the values for what the rows leave out.
type Defaults struct {
	PasswordSet bool
	// GeneratePasswords: every new account gets a password of its own,
	// generated at the commit and handed over on a login card.
	GeneratePasswords   bool
	ForcePasswordChange bool
	GroupID             uuid.UUID
	TagIDs              []uuid.UUID
	// DeactivateDeparted: a Google Classroom re-sync deactivates the
	// students who left the class (off unless chosen).
	DeactivateDeparted bool
}

// ExistingPolicy says what to change on accounts that already exist; the
// account package decides what each switch means.
type ExistingPolicy = account.Policy

// Counts are the validation's outcome under the chosen policy: Existing
// rows are Changed or Unchanged.
type Counts struct {
	Total, New, Existing, Changed, Unchanged, Invalid, Blank int
}

// Import is the aggregate. Its fields change only in apply.
type Import struct {
	id, orgID, createdBy, actorGroup uuid.UUID
	actorRole                        tenancy.Role
	createdByEmail                   string
	source                           string
	state                            State
	accountType                      string
	sendWelcomeEmail                 bool
	presetID                         uuid.UUID
	file                             FileUploaded
	classroom                        ClassroomRosterFetched
	mapping                          map[string]string
	defaults                         Defaults
	defaultsChosen                   bool
	existing                         ExistingPolicy
	validated                        RowsValidated
	pagesViewed                      map[int]bool
	verificationSkipped              bool
	committed                        ImportCommitted
	chunkProgress                    map[int]CommitProgressed
	chunksDone                       map[int]CommitChunkCompleted
	completed                        ImportCompleted
	undo                             UndoStarted
	undoProgress                     map[int]UndoProgressed
	undoDone                         map[int]UndoChunkCompleted
	undone                           ImportUndone
	followUp                         FollowUpStarted
	cardDownloads                    int
	departed                         DepartedFound
	departures                       DeparturesDeactivated
	departuresUndone                 DeparturesUndone
	createdAt, updatedAt             time.Time

	version int64
	pending []any
}

// Upload is what starts a file import.
type Upload struct {
	ID               uuid.UUID
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
	// WelcomeEmailEnabled is the organization's setting.
	WelcomeEmailEnabled bool
}

// NewImport checks an upload's options against the actor's role and the
// organization's settings, and starts the import.
func NewImport(actor tenancy.Actor, u Upload, now time.Time) (*Import, error) {
	if !actor.Role.CanImport() {
		return nil, &ForbiddenError{"Only administrators can import accounts."}
	}
	if u.Source != SourceCSV && u.Source != SourceXLSX {
		return nil, &InvalidValueError{fmt.Sprintf("%q is not a file source; use csv or xlsx.", u.Source)}
	}
	if u.AccountType == "" {
		u.AccountType = AccountTypeUsers
	}
	switch u.AccountType {
	case AccountTypeUsers:
	case AccountTypeAdministrators:
		if !actor.Role.IsSystemAdmin() {
			return nil, &ForbiddenError{"Only a system administrator can import administrators. Import them as users, or ask a system administrator."}
		}
		if u.PresetID != uuid.Nil {
			return nil, &InvalidValueError{"A preset applies to users only; remove it or import users."}
		}
	default:
		return nil, &InvalidValueError{fmt.Sprintf("%q is not an account type; use users or administrators.", u.AccountType)}
	}
	if u.SendWelcomeEmail && !u.WelcomeEmailEnabled {
		return nil, &InvalidValueError{"Welcome emails are turned off for your organization. A system administrator can turn them on in the organization settings."}
	}
	if len(u.Headers) == 0 {
		return nil, &InvalidValueError{"The file has no header row."}
	}
	imp := &Import{}
	imp.record(FileUploaded{
		ImportID: u.ID, OrgID: actor.OrgID, ActorID: actor.ID, ActorEmail: actor.Email, ActorGroupID: actor.GroupID, ActorRole: string(actor.Role),
		Source: u.Source, FileName: u.FileName, FileSize: u.FileSize, FileSHA256: u.FileSHA256, Rows: u.Rows,
		Headers: u.Headers, Encoding: u.Encoding, Delimiter: u.Delimiter, HeaderLine: u.HeaderLine,
		AccountType: u.AccountType, SendWelcomeEmail: u.SendWelcomeEmail, PresetID: u.PresetID,
		SuggestedMapping: SuggestMapping(u.Headers, actor.Role.IsSystemAdmin()), UploadedAt: now.UTC(),
	})
	return imp, nil
}

// ClassroomImport is what starts a Google Classroom import.
type ClassroomImport struct {
	ID                  uuid.UUID
	GoogleEmail         string
	Courses             []ClassroomCourse
	IncludeTeachers     bool
	People              int
	GroupID             uuid.UUID
	SendWelcomeEmail    bool
	WelcomeEmailEnabled bool
	RosterSHA256        string
}

// NewClassroomImport starts an import of Google Classroom rosters. Its
// mapping is fixed, so it starts at the defaults step.
func NewClassroomImport(actor tenancy.Actor, c ClassroomImport, now time.Time) (*Import, error) {
	if !actor.Role.CanImport() {
		return nil, &ForbiddenError{"Only administrators can import accounts."}
	}
	if len(c.Courses) == 0 {
		return nil, &InvalidValueError{"Pick at least one class."}
	}
	if c.GroupID != uuid.Nil && !actor.Role.IsSystemAdmin() {
		return nil, &ForbiddenError{"Only a system administrator can choose the group; your imports go to your own group."}
	}
	if c.SendWelcomeEmail && !c.WelcomeEmailEnabled {
		return nil, &InvalidValueError{"Welcome emails are turned off for your organization. A system administrator can turn them on in the organization settings."}
	}
	imp := &Import{}
	imp.record(ClassroomRosterFetched{
		ImportID: c.ID, OrgID: actor.OrgID, ActorID: actor.ID, ActorEmail: actor.Email, ActorGroupID: actor.GroupID, ActorRole: string(actor.Role),
		GoogleEmail: c.GoogleEmail, Courses: c.Courses, IncludeTeachers: c.IncludeTeachers, People: c.People,
		GroupID: c.GroupID, SendWelcomeEmail: c.SendWelcomeEmail, RosterSHA256: c.RosterSHA256, FetchedAt: now.UTC(),
	})
	return imp, nil
}

// The roster of a Google Classroom import, as the CSV it is stored as.
const ClassroomRosterFile = "google-classroom-roster.csv"

// ClassroomHeaders are the roster CSV's columns. Course IDs (the classes'
// ids, ";"-separated) tell a re-sync who was in which class; rosters
// stored before it was added lack it.
var ClassroomHeaders = []string{"First Name", "Last Name", "Email", "Google ID", "Role", "Classes", ClassroomCourseIDsColumn}

// ClassroomCourseIDsColumn is the roster CSV's column of class ids.
const ClassroomCourseIDsColumn = "Course IDs"

// ClassroomMapping is the fixed mapping of the roster CSV.
func ClassroomMapping() map[string]string {
	return map[string]string{"First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail,
		"Google ID": FieldIgnore, "Role": FieldIgnore, "Classes": FieldIgnore, ClassroomCourseIDsColumn: FieldIgnore}
}

// Rehydrate rebuilds an import from its stored events.
func Rehydrate(events []any) *Import {
	imp := &Import{}
	for _, e := range events {
		imp.Fold(e)
	}
	return imp
}

// record applies a new event and keeps it to be saved.
func (imp *Import) record(e any) {
	imp.apply(e)
	imp.pending = append(imp.pending, e)
}

// PendingEvents are the events recorded since loading.
func (imp *Import) PendingEvents() []any { return imp.pending }

// Version is the stream version the import was loaded at.
func (imp *Import) Version() int64 { return imp.version }

// apply changes state without checking anything: it replays what happened.
func (imp *Import) apply(e any) {
	switch e := e.(type) {
	case FileUploaded:
		imp.id, imp.orgID, imp.createdBy, imp.actorGroup = e.ImportID, e.OrgID, e.ActorID, e.ActorGroupID
		imp.actorRole = recordedRole(e.ActorRole)
		imp.createdByEmail, imp.source, imp.state = e.ActorEmail, e.Source, StateUploaded
		imp.accountType, imp.sendWelcomeEmail, imp.presetID = e.AccountType, e.SendWelcomeEmail, e.PresetID
		imp.file, imp.createdAt, imp.updatedAt = e, e.UploadedAt, e.UploadedAt
		imp.resetValidation()
	case ClassroomRosterFetched:
		imp.id, imp.orgID, imp.createdBy, imp.actorGroup = e.ImportID, e.OrgID, e.ActorID, e.ActorGroupID
		imp.actorRole = recordedRole(e.ActorRole)
		imp.createdByEmail, imp.source, imp.state = e.ActorEmail, SourceClassroom, StateMapped
		imp.accountType, imp.classroom, imp.sendWelcomeEmail = AccountTypeUsers, e, e.SendWelcomeEmail
		imp.defaults.GroupID = e.GroupID
		// The roster is stored as a CSV under the import's id, so validation
		// and commit read it as they read an upload.
		imp.mapping = ClassroomMapping()
		imp.file = FileUploaded{FileName: ClassroomRosterFile, Headers: ClassroomHeaders, Rows: e.People, Source: SourceClassroom}
		imp.createdAt, imp.updatedAt = e.FetchedAt, e.FetchedAt
		imp.resetValidation()
	case ColumnsMapped:
		imp.mapping, imp.state, imp.updatedAt = e.Mapping, StateMapped, e.MappedAt
		imp.resetValidation()
	case DefaultsChosen:
		imp.defaults = Defaults{PasswordSet: e.PasswordSet, GeneratePasswords: e.GeneratePasswords, ForcePasswordChange: e.ForcePasswordChange, GroupID: e.GroupID, TagIDs: e.TagIDs,
			DeactivateDeparted: e.DeactivateDeparted}
		imp.defaultsChosen, imp.state, imp.updatedAt = true, StateDefaultsChosen, e.ChosenAt
		imp.resetValidation()
	case ValidationStarted:
		// A new run replaces the rows, so the old outcome and review go.
		imp.state, imp.updatedAt = StateValidating, e.StartedAt
		imp.resetValidation()
	case RowsValidated:
		// Copies: corrections adjust the counts, never the event.
		imp.validated = e
		imp.validated.ChangedUnder, imp.validated.ProblemCounts = slices.Clone(e.ChangedUnder), maps.Clone(e.ProblemCounts)
		imp.state, imp.updatedAt = StateValidated, e.ValidatedAt
	case ValidationFailed:
		imp.state, imp.updatedAt = StateDefaultsChosen, e.FailedAt
	case FileReread:
		imp.file.Encoding, imp.file.Delimiter, imp.file.Headers, imp.file.HeaderLine = e.Encoding, e.Delimiter, e.Headers, e.HeaderLine
		imp.file.Rows, imp.file.SuggestedMapping = e.Rows, e.SuggestedMapping
		imp.mapping, imp.defaultsChosen, imp.state, imp.updatedAt = nil, false, StateUploaded, e.RereadAt
		imp.resetValidation()
	case FollowUpStarted:
		imp.followUp = e
		imp.existing = imp.defaultPolicy()
	case RowCorrected:
		imp.validated.adjust(e.StatusBefore, e.ChangedUnderBefore, e.ProblemsBefore, -1)
		imp.validated.adjust(e.StatusAfter, e.ChangedUnderAfter, e.ProblemsAfter, +1)
		imp.departed = imp.departed.afterCorrection(e)
		imp.updatedAt = e.CorrectedAt
	case DepartedFound:
		imp.departed = e
	case DeactivateDepartedChosen:
		imp.defaults.DeactivateDeparted, imp.updatedAt = e.Deactivate, e.ChosenAt
	case DeparturesDeactivated:
		imp.departures = e
	case DeparturesUndone:
		imp.departuresUndone = e
	case ExistingAccountsPolicyChosen:
		imp.existing = ExistingPolicy{UpdatePassword: e.UpdatePassword, UpdateGroup: e.UpdateGroup, UpdateTags: e.UpdateTags, UpdateNames: e.UpdateNames}
	case VerificationPageViewed:
		imp.pagesViewed[e.Page] = true
	case VerificationSkipped:
		imp.verificationSkipped = true
	case ImportCommitted:
		imp.committed = e
		imp.state, imp.updatedAt = StateCommitting, e.CommittedAt
	case CommitProgressed:
		imp.chunkProgress[e.Chunk] = e
	case CommitChunkCompleted:
		imp.chunksDone[e.Chunk] = e
	case ImportCompleted:
		imp.completed, imp.state, imp.updatedAt = e, StateCompleted, e.CompletedAt
	case ImportFailed:
		imp.state, imp.updatedAt = StateFailed, e.FailedAt
	case ImportCancelled:
		imp.state, imp.updatedAt = StateCancelled, e.CancelledAt
	case UndoStarted:
		imp.undo, imp.undoProgress, imp.undoDone = e, map[int]UndoProgressed{}, map[int]UndoChunkCompleted{}
		imp.state, imp.updatedAt = StateUndoing, e.StartedAt
	case UndoProgressed:
		imp.undoProgress[e.Chunk] = e
	case UndoChunkCompleted:
		imp.undoDone[e.Chunk] = e
	case ImportUndone:
		imp.undone, imp.state, imp.updatedAt = e, StateUndone, e.UndoneAt
	case LoginCardsDownloaded:
		imp.cardDownloads++
	}
}

func (imp *Import) resetValidation() {
	imp.validated = RowsValidated{}
	imp.departed = DepartedFound{}
	imp.pagesViewed = map[int]bool{}
	imp.verificationSkipped = false
	imp.existing = imp.defaultPolicy()
	imp.chunkProgress = map[int]CommitProgressed{}
	imp.chunksDone = map[int]CommitChunkCompleted{}
}

// defaultPolicy changes nothing on existing accounts, except names from
// Google Classroom: a class re-synced is the source of its students' names.
func (imp *Import) defaultPolicy() ExistingPolicy {
	if f := imp.followUp; f.Of != uuid.Nil {
		return ExistingPolicy{UpdatePassword: f.UpdatePassword, UpdateGroup: f.UpdateGroup, UpdateTags: f.UpdateTags, UpdateNames: f.UpdateNames}
	}
	return ExistingPolicy{UpdateNames: imp.source == SourceClassroom}
}

// ProblemsColumn is the last column of a rejected.csv: the reasons, which a
// follow-up ignores.
const ProblemsColumn = "problems"

// ContinueFrom makes a freshly uploaded file the follow-up of an earlier
// import (the fixed rows of its rejected.csv): the same mapping, column by
// column, the same defaults and, once checked, the same existing-accounts
// policy. When the earlier import's default password is no longer kept
// (it is destroyed when an import ends), the follow-up stops at the
// defaults for the importer to type it again; otherwise it goes straight on
// to checking the rows.
func (imp *Import) ContinueFrom(actor tenancy.Actor, original *Import, defaultPasswordKept bool, now time.Time) error {
	if err := imp.requireState(actor, StateUploaded); err != nil {
		return err
	}
	if !original.CanSee(actor) || original.orgID != imp.orgID {
		return &NotFoundError{}
	}
	if original.source == SourceClassroom || len(original.mapping) == 0 {
		return &InvalidValueError{"Only the rejected rows of a spreadsheet import whose columns were matched can be uploaded as its follow-up."}
	}
	if original.accountType != imp.accountType {
		return &InvalidValueError{fmt.Sprintf("The first import created %s; upload the follow-up with the same account type.", original.accountType)}
	}
	columns := map[string]string{}
	for _, h := range imp.file.Headers {
		field, ok := original.mapping[h]
		switch {
		case ok:
			columns[h] = field
		case strings.EqualFold(h, ProblemsColumn):
			columns[h] = FieldIgnore
		default:
			return &InvalidValueError{fmt.Sprintf("The file has a column %q the first import did not have. Upload the rejected rows with the columns they were downloaded with, or start a new import.", h)}
		}
	}
	m, err := NewMapping(imp.file.Headers, columns, actor)
	if err != nil {
		return err
	}
	p := original.existing
	imp.record(FollowUpStarted{Of: original.id, UpdatePassword: p.UpdatePassword, UpdateGroup: p.UpdateGroup, UpdateTags: p.UpdateTags, UpdateNames: p.UpdateNames})
	if err := imp.MapColumns(actor, m, now); err != nil {
		return err
	}
	d := original.defaults
	if !original.defaultsChosen || (d.PasswordSet && !defaultPasswordKept) {
		return nil
	}
	if !actor.Role.IsSystemAdmin() {
		d.GroupID = uuid.Nil // their own group, which ChooseDefaults fills in
	}
	if err := imp.ChooseDefaults(actor, d, now); err != nil {
		return err
	}
	return imp.StartValidation(actor, now)
}

// Reread records the file read again with the encoding and delimiter the
// importer chose; the mapping starts over, as the columns may differ.
func (imp *Import) Reread(actor tenancy.Actor, info Upload, now time.Time) error {
	if err := imp.requireState(actor, StateUploaded, StateMapped, StateDefaultsChosen, StateValidated); err != nil {
		return err
	}
	if imp.source != SourceCSV {
		return &InvalidValueError{"Only a CSV file has an encoding and a separator to choose; a workbook says its own."}
	}
	if len(info.Headers) == 0 {
		return &InvalidValueError{"Read that way, the file has no header row. Choose another encoding or separator."}
	}
	imp.record(FileReread{Encoding: info.Encoding, Delimiter: info.Delimiter, Headers: info.Headers, HeaderLine: info.HeaderLine,
		Rows: info.Rows, SuggestedMapping: SuggestMapping(info.Headers, imp.actorRole.IsSystemAdmin()), RereadAt: now.UTC()})
	return nil
}

// FollowUpOf is the import whose rejected rows this one fixes (uuid.Nil:
// none).
func (imp *Import) FollowUpOf() uuid.UUID { return imp.followUp.Of }

// recordedRole reads the importer's role from an event; events from before
// it was recorded read as an administrator's, the narrower reach.
func recordedRole(s string) tenancy.Role {
	if r, err := tenancy.ParseRole(s); err == nil {
		return r
	}
	return tenancy.RoleAdmin
}

// authorize hides imports of other organizations, and other importers'
// imports from a group-scoped administrator.
func (imp *Import) authorize(actor tenancy.Actor) error {
	if actor.OrgID != imp.orgID || !actor.Role.CanImport() {
		return &NotFoundError{}
	}
	if !actor.Role.IsSystemAdmin() && actor.ID != imp.createdBy {
		return &NotFoundError{}
	}
	return nil
}

// CanSee reports whether the actor may read this import.
func (imp *Import) CanSee(actor tenancy.Actor) bool { return imp.authorize(actor) == nil }

func (imp *Import) requireState(actor tenancy.Actor, wanted ...State) error {
	if err := imp.authorize(actor); err != nil {
		return err
	}
	if !slices.Contains(wanted, imp.state) {
		return &WrongStepError{Current: imp.state, Wanted: wanted}
	}
	return nil
}

// MapColumns records the mapping; going back to it discards later steps'
// results.
func (imp *Import) MapColumns(actor tenancy.Actor, m Mapping, now time.Time) error {
	if err := imp.requireState(actor, StateUploaded, StateMapped, StateDefaultsChosen, StateValidated); err != nil {
		return err
	}
	if imp.source == SourceClassroom {
		return &WrongStepError{Current: imp.state, Wanted: nil}
	}
	imp.record(ColumnsMapped{Mapping: m.Columns(), MappedAt: now.UTC()})
	return nil
}

// ChooseDefaults records the defaults. An administrator's accounts always go
// to the administrator's own group.
func (imp *Import) ChooseDefaults(actor tenancy.Actor, d Defaults, now time.Time) error {
	if err := imp.requireState(actor, StateMapped, StateDefaultsChosen, StateValidated); err != nil {
		return err
	}
	if !actor.Role.IsSystemAdmin() {
		if d.GroupID != uuid.Nil {
			return &ForbiddenError{"Only a system administrator can choose the group; your imports go to your own group."}
		}
		d.GroupID = actor.GroupID
	}
	if imp.source == SourceClassroom && d.GroupID == uuid.Nil {
		d.GroupID = imp.classroom.GroupID
	}
	if d.DeactivateDeparted && imp.source != SourceClassroom {
		return errNoDeparted
	}
	if d.GeneratePasswords {
		if err := imp.canGeneratePasswords(d); err != nil {
			return err
		}
		// A password read off a paper card is changed at once.
		d.ForcePasswordChange = true
	}
	imp.record(DefaultsChosen{
		PasswordSet: d.PasswordSet, GeneratePasswords: d.GeneratePasswords, ForcePasswordChange: d.ForcePasswordChange, GroupID: d.GroupID,
		TagIDs: slices.Clone(d.TagIDs), DeactivateDeparted: d.DeactivateDeparted, ChosenAt: now.UTC(),
	})
	return nil
}

// StartValidation begins (or repeats) the validation of every row.
func (imp *Import) StartValidation(actor tenancy.Actor, now time.Time) error {
	if err := imp.requireState(actor, StateDefaultsChosen, StateValidated); err != nil {
		return err
	}
	imp.record(ValidationStarted{StartedAt: now.UTC()})
	return nil
}

// requireOwnState guards the steps the background jobs record; they act for
// the import itself, so there is no actor to check.
func (imp *Import) requireOwnState(s State) error {
	if imp.state != s {
		return &WrongStepError{Current: imp.state, Wanted: []State{s}}
	}
	return nil
}

// RecordValidation stores the background validation's outcome.
func (imp *Import) RecordValidation(result RowsValidated) error {
	if err := imp.requireOwnState(StateValidating); err != nil {
		return err
	}
	imp.record(result)
	return nil
}

// FailValidation returns the import to the defaults step so the importer
// can fix the cause and validate again.
func (imp *Import) FailValidation(reason string, now time.Time) error {
	if err := imp.requireOwnState(StateValidating); err != nil {
		return err
	}
	imp.record(ValidationFailed{Reason: reason, FailedAt: now.UTC()})
	return nil
}

// ChooseExistingPolicy says what to change on accounts that already exist.
func (imp *Import) ChooseExistingPolicy(actor tenancy.Actor, p ExistingPolicy) error {
	if err := imp.requireState(actor, StateValidated); err != nil {
		return err
	}
	if p.UpdateGroup && !actor.Role.IsSystemAdmin() {
		return &ForbiddenError{"Only a system administrator can move existing accounts to another group."}
	}
	imp.record(ExistingAccountsPolicyChosen{UpdatePassword: p.UpdatePassword, UpdateGroup: p.UpdateGroup, UpdateTags: p.UpdateTags, UpdateNames: p.UpdateNames})
	return nil
}

// Counts are the validation's outcome under the chosen policy.
func (imp *Import) Counts() Counts {
	v := imp.validated
	c := Counts{Total: v.Total, New: v.New, Existing: v.Existing, Invalid: v.Invalid, Blank: v.Blank, Changed: v.Existing}
	if len(v.ChangedUnder) == account.Policies {
		c.Changed = v.ChangedUnder[imp.existing.Bits()]
	}
	c.Unchanged = c.Existing - c.Changed
	return c
}

// Pages is the number of verification pages.
func (imp *Import) Pages() int {
	c := imp.Counts()
	rows := c.New + c.Existing + c.Invalid
	return (rows + PageSize - 1) / PageSize
}

// VerifyPage records that the importer looked at a page.
func (imp *Import) VerifyPage(actor tenancy.Actor, page int) error {
	if err := imp.requireState(actor, StateValidated); err != nil {
		return err
	}
	if page < 1 || page > imp.Pages() {
		return &InvalidValueError{fmt.Sprintf("There is no page %d; the rows fill %d page(s).", page, imp.Pages())}
	}
	if !imp.pagesViewed[page] {
		imp.record(VerificationPageViewed{Page: page})
	}
	return nil
}

// ReviewedPages are the pages the importer marked as looked at, in order.
func (imp *Import) ReviewedPages() []int {
	pages := make([]int, 0, len(imp.pagesViewed))
	for p := range imp.pagesViewed {
		pages = append(pages, p)
	}
	slices.Sort(pages)
	return pages
}

// VerificationSkipped reports whether the importer chose not to review.
func (imp *Import) VerificationSkipped() bool { return imp.verificationSkipped }

// SkipVerification records that the importer chose not to look at the rows.
func (imp *Import) SkipVerification(actor tenancy.Actor) error {
	if err := imp.requireState(actor, StateValidated); err != nil {
		return err
	}
	if !imp.verificationSkipped {
		imp.record(VerificationSkipped{})
	}
	return nil
}

// CommitOptions are what the commit needs besides the import: how to split
// it, and the organization's guard against changing too many accounts.
type CommitOptions struct {
	// ChunkRows is how many rows one chunk job applies.
	ChunkRows int
	// ConfirmChanged is the number of changed accounts the importer typed to
	// confirm a change over the threshold (0: none typed).
	ConfirmChanged int
	// ThresholdPercent is the organization's change_threshold_percent
	// (0: no guard); OrgAccounts its number of accounts now.
	ThresholdPercent int
	OrgAccounts      int
}

// minGuardedChanges: changing this many accounts or fewer never needs a
// confirmation, however small the organization.
const minGuardedChanges = 20

// Commit starts creating the accounts. A commit that would change more than
// the organization's threshold share of its accounts (and more than 20)
// needs the importer to confirm the exact number first, as Canvas's
// change_threshold and ClassLink's sync thresholds do.
func (imp *Import) Commit(actor tenancy.Actor, o CommitOptions, now time.Time) error {
	if err := imp.requireState(actor, StateValidated); err != nil {
		return err
	}
	c := imp.Counts()
	// A re-sync whose only effect is deactivating the students who left is
	// worth committing.
	departures := imp.defaults.DeactivateDeparted && len(imp.departed.Departed) > 0
	if c.New+c.Changed == 0 && !departures {
		return &NothingToImportError{Unchanged: c.Unchanged}
	}
	if left := imp.Pages() - len(imp.pagesViewed); !imp.verificationSkipped && left > 0 {
		return &VerificationIncompleteError{PagesLeft: left}
	}
	// Deactivating a departed student changes an existing account too: a
	// class that comes back empty from Classroom (archived, or a roster
	// Google failed to list) must not deactivate a school unconfirmed.
	deactivating := 0
	if departures {
		deactivating = len(imp.departed.Departed)
	}
	guarded, confirmed := c.Changed+deactivating, 0
	if o.ThresholdPercent > 0 && guarded > minGuardedChanges && guarded*100 > o.ThresholdPercent*o.OrgAccounts {
		if o.ConfirmChanged != guarded {
			return &ChangeThresholdError{Changed: guarded, Deactivated: deactivating, Accounts: o.OrgAccounts, Threshold: o.ThresholdPercent, Typed: o.ConfirmChanged}
		}
		confirmed = guarded
	}
	if o.ChunkRows <= 0 {
		return fmt.Errorf("importsession: a commit needs a positive chunk size")
	}
	imp.record(ImportCommitted{ExpectedNew: c.New, ExpectedExisting: c.Existing, ExpectedChanged: c.Changed, ConfirmedChanged: confirmed,
		Chunks: max(1, (c.Total+o.ChunkRows-1)/o.ChunkRows), ChunkRows: o.ChunkRows, CommittedAt: now.UTC()})
	return nil
}

// Chunk is one chunk job's share of the commit: the listed rows whose
// position (among new, existing and invalid rows, in file order) is in
// (From, To].
type Chunk struct {
	Index    int
	From, To int
}

// chunking is how a stage that runs as chunk jobs (the commit, the undo)
// was cut: count chunks of rows rows each.
type chunking struct {
	stage       string
	count, rows int
}

func (c chunking) list() []Chunk {
	out := make([]Chunk, c.count)
	for i := range out {
		out[i] = Chunk{Index: i, From: i * c.rows, To: (i + 1) * c.rows}
	}
	return out
}

// requireOpen refuses a chunk the stage does not have, and one already
// complete: a repeated chunk job cannot count twice.
func (c chunking) requireOpen(chunk int, done bool) error {
	if chunk < 0 || chunk >= c.count {
		return fmt.Errorf("importsession: the %s has no chunk %d", c.stage, chunk)
	}
	if done {
		return &ChunkDoneError{Chunk: chunk}
	}
	return nil
}

// Chunks are the commit's chunks.
func (imp *Import) Chunks() []Chunk {
	return chunking{"commit", imp.committed.Chunks, imp.committed.ChunkRows}.list()
}

// RecordProgress is called by a chunk after each batch.
func (imp *Import) RecordProgress(p CommitProgressed) error {
	if err := imp.requireOwnState(StateCommitting); err != nil {
		return err
	}
	if err := imp.requireOpenChunk(p.Chunk); err != nil {
		return err
	}
	imp.record(p)
	return nil
}

// CompleteChunk records a chunk's final counts; it is refused for a chunk
// already complete, so a repeated chunk job cannot count twice.
func (imp *Import) CompleteChunk(c CommitChunkCompleted) error {
	if err := imp.requireOwnState(StateCommitting); err != nil {
		return err
	}
	if err := imp.requireOpenChunk(c.Chunk); err != nil {
		return err
	}
	imp.record(c)
	return nil
}

func (imp *Import) requireOpenChunk(chunk int) error {
	_, done := imp.chunksDone[chunk]
	return chunking{"commit", imp.committed.Chunks, imp.committed.ChunkRows}.requireOpen(chunk, done)
}

// ChunksLeft is the number of chunks not complete yet.
func (imp *Import) ChunksLeft() int { return imp.committed.Chunks - len(imp.chunksDone) }

// Complete ends the commit once every chunk is applied; the summary adds
// the chunks up, so it always agrees with them.
func (imp *Import) Complete(now time.Time) error {
	if err := imp.requireOwnState(StateCommitting); err != nil {
		return err
	}
	if left := imp.ChunksLeft(); left > 0 {
		return fmt.Errorf("importsession: %d chunk(s) of the commit are not applied yet", left)
	}
	if len(imp.DeparturesToApply()) > 0 {
		return fmt.Errorf("importsession: the departed students are not deactivated yet")
	}
	s := ImportCompleted{Skipped: imp.Counts().Invalid, Deactivated: imp.departures.Deactivated, CompletedAt: now.UTC()}
	for i := range imp.committed.Chunks {
		c := imp.chunksDone[i]
		s.Created += c.Created
		s.Updated += c.Updated
		s.Unchanged += c.Unchanged
		s.Failed += c.Failed
		for _, fr := range c.FailedRows {
			if len(s.FailedRows) < MaxFailedRows {
				s.FailedRows = append(s.FailedRows, fr)
			}
		}
	}
	imp.record(s)
	return nil
}

// Fail ends the commit for good.
func (imp *Import) Fail(reason string, now time.Time) error {
	if err := imp.requireOwnState(StateCommitting); err != nil {
		return err
	}
	imp.record(ImportFailed{Reason: reason, FailedAt: now.UTC()})
	return nil
}

// Cancel gives the import up; only before it is committed.
func (imp *Import) Cancel(actor tenancy.Actor, now time.Time) error {
	if err := imp.authorize(actor); err != nil {
		return err
	}
	if !imp.state.Open() {
		return &WrongStepError{Current: imp.state, Wanted: []State{StateUploaded, StateMapped, StateDefaultsChosen, StateValidating, StateValidated}}
	}
	imp.record(ImportCancelled{CancelledAt: now.UTC()})
	return nil
}

// RecordSummaryEmailed notes that the importer was sent the summary.
func (imp *Import) RecordSummaryEmailed(to string) {
	imp.record(ImportSummaryEmailed{To: to})
}

// adjust counts one row of a status in or out.
func (v *RowsValidated) adjust(status string, changedUnder uint16, problems []string, by int) {
	switch status {
	case RowNew:
		v.New += by
	case RowExisting:
		v.Existing += by
		if len(v.ChangedUnder) == account.Policies {
			for p := range account.Policies {
				if changedUnder&(1<<p) != 0 {
					v.ChangedUnder[p] += by
				}
			}
		}
	case RowInvalid:
		v.Invalid += by
	}
	if len(problems) > 0 && v.ProblemCounts == nil {
		v.ProblemCounts = map[string]int{}
	}
	for _, code := range problems {
		v.ProblemCounts[code] += by
		if v.ProblemCounts[code] <= 0 {
			delete(v.ProblemCounts, code)
		}
	}
}

// CorrectRow records a row fixed on the review and checked again; only
// while the import waits for its review, and only a change.
func (imp *Import) CorrectRow(actor tenancy.Actor, c RowCorrected, now time.Time) error {
	if err := imp.requireState(actor, StateValidated); err != nil {
		return err
	}
	if len(c.Changes) == 0 {
		return &InvalidValueError{"Nothing to correct: the values are the row's already."}
	}
	c.ByActor, c.CorrectedAt = actor.ID, now.UTC()
	imp.record(c)
	return nil
}

// UndoWindowClosedError: the import ended too long ago to be undone.
type UndoWindowClosedError struct {
	CompletedAt time.Time
	Window      time.Duration
}

func (e *UndoWindowClosedError) Error() string {
	return fmt.Sprintf("This import completed on %s; an import can be undone for %s after it completes. Change the accounts one by one, or import a corrected file.",
		e.CompletedAt.Format("2 January 2006"), humanDuration(e.Window))
}
func (e *UndoWindowClosedError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Conflict, Code: "undo_window_closed", Message: e.Error()}
}

func humanDuration(d time.Duration) string {
	if days := int(d.Hours() / 24); days >= 1 && d%(24*time.Hour) == 0 {
		if days == 1 {
			return "1 day"
		}
		return fmt.Sprintf("%d days", days)
	}
	return d.String()
}

// Undo starts undoing a completed import: its importer or a system
// administrator of the organization may, within the window after it
// completed. The undo runs in chunks over the commit's rows.
func (imp *Import) Undo(actor tenancy.Actor, window time.Duration, chunkRows int, now time.Time) error {
	if actor.OrgID != imp.orgID || !actor.Role.CanImport() {
		return &NotFoundError{}
	}
	if actor.ID != imp.createdBy && !actor.Role.IsSystemAdmin() {
		if imp.CanSee(actor) {
			return &ForbiddenError{"Only the person who ran this import or a system administrator can undo it."}
		}
		return &NotFoundError{}
	}
	if imp.state != StateCompleted {
		return &WrongStepError{Current: imp.state, Wanted: []State{StateCompleted}}
	}
	if now.Sub(imp.completed.CompletedAt) > window {
		return &UndoWindowClosedError{CompletedAt: imp.completed.CompletedAt, Window: window}
	}
	if chunkRows <= 0 {
		return fmt.Errorf("importsession: an undo needs a positive chunk size")
	}
	c := imp.Counts()
	imp.record(UndoStarted{ByActor: actor.ID, ByEmail: actor.Email, Chunks: max(1, (c.Total+chunkRows-1)/chunkRows), ChunkRows: chunkRows, StartedAt: now.UTC()})
	return nil
}

// UndoChunks are the undo's chunks (the commit's rows, in order).
func (imp *Import) UndoChunks() []Chunk {
	return chunking{"undo", imp.undo.Chunks, imp.undo.ChunkRows}.list()
}

func (imp *Import) requireOpenUndoChunk(chunk int) error {
	if err := imp.requireOwnState(StateUndoing); err != nil {
		return err
	}
	_, done := imp.undoDone[chunk]
	return chunking{"undo", imp.undo.Chunks, imp.undo.ChunkRows}.requireOpen(chunk, done)
}

// RecordUndoProgress is called by an undo chunk after each batch.
func (imp *Import) RecordUndoProgress(p UndoProgressed) error {
	if err := imp.requireOpenUndoChunk(p.Chunk); err != nil {
		return err
	}
	imp.record(p)
	return nil
}

// CompleteUndoChunk records an undo chunk's final counts, once.
func (imp *Import) CompleteUndoChunk(c UndoChunkCompleted) error {
	if err := imp.requireOpenUndoChunk(c.Chunk); err != nil {
		return err
	}
	imp.record(c)
	return nil
}

// UndoChunksLeft is the number of undo chunks not complete yet.
func (imp *Import) UndoChunksLeft() int { return imp.undo.Chunks - len(imp.undoDone) }

// CompleteUndo ends the undo once every chunk is applied.
func (imp *Import) CompleteUndo(now time.Time) error {
	if err := imp.requireOwnState(StateUndoing); err != nil {
		return err
	}
	if left := imp.UndoChunksLeft(); left > 0 {
		return fmt.Errorf("importsession: %d chunk(s) of the undo are not applied yet", left)
	}
	if len(imp.DeparturesToUndo()) > 0 {
		return fmt.Errorf("importsession: the departed students' accounts are not reactivated yet")
	}
	u := ImportUndone{Reactivated: imp.departuresUndone.Reactivated, UndoneAt: now.UTC()}
	for i := range imp.undo.Chunks {
		c := imp.undoDone[i]
		u.Deactivated += c.Deactivated
		u.Restored += c.Restored
		u.Kept += c.Kept
		for _, k := range c.KeptAccounts {
			if len(u.KeptAccounts) < MaxFailedRows {
				u.KeptAccounts = append(u.KeptAccounts, k)
			}
		}
	}
	imp.record(u)
	return nil
}

// UndoProgress adds up the undo chunks' counts.
type UndoProgress struct {
	Done, Total, Deactivated, Restored, Kept int
}

// UndoProgress is the undo's progress: every chunk's latest counts.
func (imp *Import) UndoProgress() UndoProgress {
	p := UndoProgress{Total: imp.completed.Created + imp.completed.Updated}
	for i := range imp.undo.Chunks {
		if c, ok := imp.undoDone[i]; ok {
			p.Done, p.Deactivated, p.Restored, p.Kept = p.Done+c.Done, p.Deactivated+c.Deactivated, p.Restored+c.Restored, p.Kept+c.Kept
		} else if c, ok := imp.undoProgress[i]; ok {
			p.Done, p.Deactivated, p.Restored, p.Kept = p.Done+c.Done, p.Deactivated+c.Deactivated, p.Restored+c.Restored, p.Kept+c.Kept
		}
	}
	if imp.state == StateUndone {
		p.Done = p.Total
	}
	return p
}

// Undone is the outcome of a finished undo.
func (imp *Import) Undone() ImportUndone { return imp.undone }

// UndoStarted says who undoes it and when.
func (imp *Import) UndoStarted() UndoStarted { return imp.undo }

// Read access for the application layer.

func (imp *Import) ID() uuid.UUID          { return imp.id }
func (imp *Import) OrgID() uuid.UUID       { return imp.orgID }
func (imp *Import) CreatedBy() uuid.UUID   { return imp.createdBy }
func (imp *Import) CreatedByEmail() string { return imp.createdByEmail }
func (imp *Import) Source() string         { return imp.source }
func (imp *Import) State() State           { return imp.state }
func (imp *Import) AccountType() string    { return imp.accountType }
func (imp *Import) SendWelcomeEmail() bool { return imp.sendWelcomeEmail }
func (imp *Import) PresetID() uuid.UUID    { return imp.presetID }
func (imp *Import) File() FileUploaded     { return imp.file }

// Name is what people call the import: the file's name, or Google
// Classroom for a roster.
func (imp *Import) Name() string {
	if imp.source == SourceClassroom {
		return "Google Classroom"
	}
	return imp.file.FileName
}
func (imp *Import) Classroom() ClassroomRosterFetched { return imp.classroom }
func (imp *Import) Mapping() map[string]string        { return imp.mapping }
func (imp *Import) Defaults() Defaults                { return imp.defaults }
func (imp *Import) DefaultsChosen() bool              { return imp.defaultsChosen }
func (imp *Import) ExistingPolicy() ExistingPolicy    { return imp.existing }
func (imp *Import) Committed() ImportCommitted        { return imp.committed }
func (imp *Import) Completed() ImportCompleted        { return imp.completed }
func (imp *Import) CreatedAt() time.Time              { return imp.createdAt }
func (imp *Import) UpdatedAt() time.Time              { return imp.updatedAt }

// Progress is the commit's progress: every chunk's latest counts added up.
type Progress struct {
	Done, Total, Created, Updated, Unchanged, Failed int
}

// Progress adds up the chunks' counts.
func (imp *Import) Progress() Progress {
	p := Progress{Total: imp.committed.ExpectedNew + imp.committed.ExpectedExisting}
	for i := range imp.committed.Chunks {
		var done, created, updated, unchanged, failed int
		if c, ok := imp.chunksDone[i]; ok {
			done, created, updated, unchanged, failed = c.Done, c.Created, c.Updated, c.Unchanged, c.Failed
		} else if c, ok := imp.chunkProgress[i]; ok {
			done, created, updated, unchanged, failed = c.Done, c.Created, c.Updated, c.Unchanged, c.Failed
		}
		p.Done += done
		p.Created += created
		p.Updated += updated
		p.Unchanged += unchanged
		p.Failed += failed
	}
	if imp.state == StateCompleted || imp.state == StateUndoing || imp.state == StateUndone {
		p.Done = p.Total
	}
	return p
}

// Importer is who uploaded the file, as they were then.
func (imp *Import) Importer() tenancy.Actor {
	return tenancy.Actor{ID: imp.createdBy, OrgID: imp.orgID, Email: imp.createdByEmail, Role: imp.actorRole, GroupID: imp.actorGroup}
}

// Terms are the import's settings as each account sees them.
// welcomeEnabled is the organization's setting now: an organization that
// turned welcome emails off meanwhile gets none.
func (imp *Import) Terms(welcomeEnabled bool) account.ImportTerms {
	d := imp.defaults
	return account.ImportTerms{
		ImportID: imp.id, Importer: imp.Importer(), Role: imp.Role(), DefaultGroupID: d.GroupID, DefaultTagIDs: slices.Clone(d.TagIDs),
		DefaultPassword: d.PasswordSet, GeneratePasswords: d.GeneratePasswords, MustChangePassword: d.ForcePasswordChange, PresetID: imp.presetID,
		WelcomeEmail: imp.sendWelcomeEmail && welcomeEnabled,
	}
}

// Role is the role the import's accounts get.
func (imp *Import) Role() tenancy.Role {
	if imp.accountType == AccountTypeAdministrators {
		return tenancy.RoleAdmin
	}
	return tenancy.RoleUser
}
