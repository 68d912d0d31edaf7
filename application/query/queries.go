package query

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// ErrNotFound is returned for what the actor may not see.
var ErrNotFound = &importsession.NotFoundError{}

// PageSize is the verification page size.
const PageSize = importsession.PageSize

// Row is a verification row as the review shows it: new, changed (with
// what changes), unchanged or invalid. It never holds a password.
type Row struct {
	Row       int      `json:"row"`
	Status    string   `json:"status"`
	FirstName string   `json:"first_name"`
	LastName  string   `json:"last_name"`
	Email     string   `json:"email"`
	Group     string   `json:"group"`
	Tags      []string `json:"tags"`
	// GroupIsDefault: the row names no group, and Group is the import's
	// default; DefaultTags are the import's tags every row gets too. The
	// review shows rows as they will be created.
	GroupIsDefault bool      `json:"group_is_default"`
	DefaultTags    []string  `json:"default_tags"`
	Changes        []Change  `json:"changes"`
	Problems       []Problem `json:"problems"`
}

// Change is one field a changed row changes. A password change has no
// values: "will be replaced" is all anyone is told.
type Change struct {
	Field string `json:"field"`
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
}

// Row statuses of the review beyond the domain's new, existing and invalid.
const (
	RowChanged   = "changed"
	RowUnchanged = "unchanged"
)

// StoredRow is a verification row as the read model keeps it: the diff is
// whatever the policy, ChangedUnder says under which policies it changes
// something.
type StoredRow struct {
	Row          int
	Status       string
	FirstName    string
	LastName     string
	Email        string
	Group        string
	Tags         []string
	Problems     []Problem
	Diff         account.Diff
	ChangedUnder uint16
}

// RowFilter picks the rows of a review page: Status is "" (every row),
// new, existing, invalid, or changed / unchanged under the policy numbered
// Policy.
type RowFilter struct {
	Status string
	Policy int
}

// Problem is what is wrong with one field.
type Problem struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// RowsPage is one page of verification rows.
type RowsPage struct {
	Page     int   `json:"page"`
	PageSize int   `json:"page_size"`
	Total    int   `json:"total"`
	Rows     []Row `json:"rows"`
}

// Account is an account in the list.
type Account struct {
	ID        uuid.UUID   `json:"id"`
	Email     string      `json:"email"`
	FirstName string      `json:"first_name"`
	LastName  string      `json:"last_name"`
	Role      string      `json:"role"`
	GroupID   *uuid.UUID  `json:"group_id"`
	TagIDs    []uuid.UUID `json:"tag_ids"`
	ImportID  *uuid.UUID  `json:"import_id"`
	PresetID  *uuid.UUID  `json:"preset_id"`
	Active    bool        `json:"active"`
	CreatedAt time.Time   `json:"created_at"`
}

// AccountFilter narrows the account list.
type AccountFilter struct {
	// Email matches the whole address; Q part of an email or a name.
	Email    string
	Q        string
	Active   *bool
	ImportID uuid.UUID
	GroupID  uuid.UUID
	TagID    uuid.UUID
	Page     int
	// GroupOnly keeps the accounts of GroupID alone, uuid.Nil meaning those
	// in no group: a group-scoped administrator's view.
	GroupOnly bool
}

// AccountsPage is one page of accounts.
type AccountsPage struct {
	Page     int       `json:"page"`
	PageSize int       `json:"page_size"`
	Total    int       `json:"total"`
	Accounts []Account `json:"accounts"`
}

// ReadModel is what the queries read.
type ReadModel interface {
	// ListImports lists the organization's imports (the creator's alone
	// when createdBy is set), newest change first.
	ListImports(ctx context.Context, orgID uuid.UUID, createdBy uuid.UUID, openOnly bool) ([]*importsession.Import, error)
	// ImportNames names the organization's imports (the creator's alone
	// when createdBy is set).
	ImportNames(ctx context.Context, orgID uuid.UUID, createdBy uuid.UUID) (map[uuid.UUID]string, error)
	// ImportOrg is the organization of an import, for the operator's
	// command line only.
	ImportOrg(ctx context.Context, id uuid.UUID) (uuid.UUID, error)
	// CurrentImport is an import of the organization with every event
	// recorded so far: a reader sees their own last command.
	CurrentImport(ctx context.Context, orgID, id uuid.UUID) (*importsession.Import, error)
	// StoredImport is an import of the organization as the read model has
	// it, maybe a poll interval behind: for pages that poll.
	StoredImport(ctx context.Context, orgID, id uuid.UUID) (*importsession.Import, error)
	Rows(ctx context.Context, importID uuid.UUID, f RowFilter, page int) ([]StoredRow, error)
	// SameFile lists other imports of the same file (the creator's alone
	// when createdBy is set).
	SameFile(ctx context.Context, orgID, createdBy uuid.UUID, sha256 string, except uuid.UUID) ([]SameFile, error)
	// Row reads one listed row (ok false: none).
	Row(ctx context.Context, importID uuid.UUID, number int) (StoredRow, bool, error)
	// InvalidRows calls fn with each invalid row's number and problems, in
	// row order.
	InvalidRows(ctx context.Context, importID uuid.UUID, fn func(row int, problems []Problem) error) error
	Accounts(ctx context.Context, orgID uuid.UUID, f AccountFilter) (AccountsPage, error)
	// StreamAudit reads a stream's trail in the organization (which it
	// requires: a forgotten id must not widen the read).
	StreamAudit(ctx context.Context, orgID uuid.UUID, streamID string) ([]AuditEvent, error)
	// AccountAnywhere finds an account by email in any organization, for
	// the operator's command line only.
	AccountAnywhere(ctx context.Context, email string) (tenancy.Target, error)
	// AccountReach is what reach rules need of an account of the
	// organization, found by email; ErrNotFound when there is none.
	AccountReach(ctx context.Context, orgID uuid.UUID, email string) (tenancy.Target, error)
}

// Names lists an organization's groups and tags, to show ids by name.
type Names interface {
	ListNamed(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID) ([]command.Named, error)
}

// PreviewRow is a data row of the upload as the mapping page shows it.
type PreviewRow struct {
	Row   int
	Cells []string
}

// HiddenCell stands in for a password in a preview.
const HiddenCell = "••••••"

// Queries answers the read side of the API.
type Queries struct {
	*Audit
	rm    ReadModel
	files importing.Files
	names Names
	mail  MailReport
}

// NewQueries refuses nil dependencies.
func NewQueries(rm ReadModel, files importing.Files, names Names, mail MailReport) (*Queries, error) {
	if rm == nil || files == nil || names == nil || mail == nil {
		return nil, errors.New("query: NewQueries needs a read model, the uploaded files, the names and a mail report")
	}
	audit, err := NewAudit(rm, names)
	if err != nil {
		return nil, err
	}
	return &Queries{Audit: audit, rm: rm, files: files, names: names, mail: mail}, nil
}

// Rejected writes the import's invalid rows as CSV; it needs the upload, so
// only while the import is open.
func (q *Queries) Rejected(ctx context.Context, actor tenancy.Actor, id uuid.UUID, w func() io.Writer) error {
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return err
	}
	if imp.State() != importsession.StateValidated {
		return &importsession.WrongStepError{Current: imp.State(), Wanted: []importsession.State{importsession.StateValidated}}
	}
	return q.writeRejected(ctx, imp, w)
}

// Preview returns the first rows of an open file import, for matching the
// columns. Once the import is over its upload is gone, so there is nothing
// to show.
func (q *Queries) Preview(ctx context.Context, actor tenancy.Actor, id uuid.UUID, rows int) ([]PreviewRow, error) {
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if !imp.State().Open() || imp.Source() == importsession.SourceClassroom {
		return nil, nil
	}
	return q.preview(ctx, imp, rows)
}

// Import returns one import, with the caller's own last change.
func (q *Queries) Import(ctx context.Context, actor tenancy.Actor, id uuid.UUID) (Import, error) {
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return Import{}, err
	}
	return q.Shown(ctx, actor, imp)
}

// Status is one import as the read model has it, for a page that polls:
// it never reads the event stream, and may be a poll interval behind.
func (q *Queries) Status(ctx context.Context, actor tenancy.Actor, id uuid.UUID) (Import, error) {
	imp, err := q.rm.StoredImport(ctx, actor.OrgID, id)
	if err != nil {
		return Import{}, err
	}
	if !imp.CanSee(actor) {
		return Import{}, ErrNotFound
	}
	return ImportFrom(imp), nil
}

// Shown shapes an import for the actor, with the earlier imports of the
// same file they may see.
func (q *Queries) Shown(ctx context.Context, actor tenancy.Actor, imp *importsession.Import) (Import, error) {
	out := ImportFrom(imp)
	if sha := imp.File().FileSHA256; sha != "" {
		createdBy := uuid.Nil
		if !actor.Role.IsSystemAdmin() {
			createdBy = actor.ID
		}
		same, err := q.rm.SameFile(ctx, actor.OrgID, createdBy, sha, imp.ID())
		if err != nil {
			return Import{}, err
		}
		out.SameFileAs = same
	}
	if out.Summary != nil && imp.SendWelcomeEmail() {
		welcome, err := q.mail.WelcomeEmails(ctx, imp.OrgID(), imp.ID())
		if err != nil {
			return Import{}, err
		}
		out.Summary.WelcomeEmails = &welcome
	}
	return out, nil
}

// errForbidden answers a user asking for what only administrators see: the
// route exists, the role does not reach it.
func errForbidden(what string) error {
	return failure.New(failure.Forbidden, "forbidden", "Only administrators can see %s.", what)
}

// MaxPage is the highest page number a list serves: past it no import or
// organization has rows, and the offset would overflow.
const MaxPage = 1_000_000

func checkPage(page int) error {
	if page > MaxPage {
		return failure.New(failure.Invalid, "invalid_parameter", "page must be a whole number from 1 to %d.", MaxPage)
	}
	return nil
}

// ListImports lists the actor's organization's imports (an administrator's
// own only), newest first.
func (q *Queries) ListImports(ctx context.Context, actor tenancy.Actor, openOnly bool) ([]Import, error) {
	if !actor.Role.CanImport() {
		return nil, errForbidden("imports")
	}
	createdBy := uuid.Nil
	if !actor.Role.IsSystemAdmin() {
		createdBy = actor.ID
	}
	imports, err := q.rm.ListImports(ctx, actor.OrgID, createdBy, openOnly)
	if err != nil {
		return nil, err
	}
	out := make([]Import, len(imports))
	for i, imp := range imports {
		out[i] = ImportFrom(imp)
	}
	return out, nil
}

// Rows returns a verification page; status "" means every listed row.
// Existing rows are shown changed or unchanged under the import's policy,
// changed ones with what changes, as the commit will do it.
func (q *Queries) Rows(ctx context.Context, actor tenancy.Actor, id uuid.UUID, status string, page int) (RowsPage, error) {
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return RowsPage{}, err
	}
	// The totals come from the validation's outcome: counting a million
	// rows on every page view would cost more than the page itself.
	c := imp.Counts()
	var total int
	switch status {
	case "":
		total = c.New + c.Existing + c.Invalid
	case importsession.RowNew:
		total = c.New
	case importsession.RowExisting:
		total = c.Existing
	case RowChanged:
		total = c.Changed
	case RowUnchanged:
		total = c.Unchanged
	case importsession.RowInvalid:
		total = c.Invalid
	default:
		return RowsPage{}, &importsession.InvalidValueError{Message: "status must be new, existing, changed, unchanged or invalid (or left out for all rows)."}
	}
	if page < 1 {
		page = 1
	}
	if err := checkPage(page); err != nil {
		return RowsPage{}, err
	}
	policy := imp.ExistingPolicy()
	stored, err := q.rm.Rows(ctx, id, RowFilter{Status: status, Policy: policy.Bits()}, page)
	if err != nil {
		return RowsPage{}, err
	}
	names, err := q.referenceNames(ctx, imp.OrgID())
	if err != nil {
		return RowsPage{}, err
	}
	rows := make([]Row, len(stored))
	for i, s := range stored {
		rows[i] = names.row(s, policy, imp.Defaults())
	}
	return RowsPage{Page: page, PageSize: PageSize, Total: total, Rows: rows}, nil
}

// Row is one row of the review, as Rows shows it, with the import's counts.
func (q *Queries) Row(ctx context.Context, actor tenancy.Actor, id uuid.UUID, number int) (Row, Import, error) {
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return Row{}, Import{}, err
	}
	stored, ok, err := q.rm.Row(ctx, id, number)
	if err != nil {
		return Row{}, Import{}, err
	}
	if !ok {
		return Row{}, Import{}, ErrNotFound
	}
	names, err := q.referenceNames(ctx, imp.OrgID())
	if err != nil {
		return Row{}, Import{}, err
	}
	return names.row(stored, imp.ExistingPolicy(), imp.Defaults()), ImportFrom(imp), nil
}

// row shows a stored row under the import's policy: an existing row is
// changed (with what changes) or unchanged.
func (n names) row(s StoredRow, policy importsession.ExistingPolicy, d importsession.Defaults) Row {
	out := Row{Row: s.Row, Status: s.Status, FirstName: s.FirstName, LastName: s.LastName, Email: s.Email, Group: s.Group,
		Tags: orEmpty(s.Tags), Problems: s.Problems, Changes: []Change{}, DefaultTags: []string{}}
	if out.Group == "" && d.GroupID != uuid.Nil && s.Status != importsession.RowInvalid {
		out.Group, out.GroupIsDefault = n.group(d.GroupID), true
	}
	for _, id := range d.TagIDs {
		if name, ok := n.tags[id]; ok {
			out.DefaultTags = append(out.DefaultTags, name)
		}
	}
	if out.Problems == nil {
		out.Problems = []Problem{}
	}
	if s.Status == importsession.RowExisting {
		out.Status = RowUnchanged
		if s.ChangedUnder&(1<<policy.Bits()) != 0 {
			out.Status = RowChanged
			out.Changes = n.changes(s.Diff.Under(policy))
		}
	}
	return out
}

// Accounts lists the actor's organization's accounts; a group-scoped
// administrator sees the accounts of their own group only, as they import
// into it only.
func (q *Queries) Accounts(ctx context.Context, actor tenancy.Actor, f AccountFilter) (AccountsPage, error) {
	if !actor.Role.CanImport() {
		return AccountsPage{}, errForbidden("the accounts list")
	}
	if f.Page < 1 {
		f.Page = 1
	}
	if err := checkPage(f.Page); err != nil {
		return AccountsPage{}, err
	}
	if !actor.Role.IsSystemAdmin() {
		if f.GroupID != uuid.Nil && f.GroupID != actor.GroupID {
			return AccountsPage{Page: f.Page, PageSize: PageSize, Accounts: []Account{}}, nil
		}
		f.GroupID, f.GroupOnly = actor.GroupID, true
	}
	return q.rm.Accounts(ctx, actor.OrgID, f)
}
