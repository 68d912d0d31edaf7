package query

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// ErrNotFound is returned for what the actor may not see.
var ErrNotFound = &importsession.NotFoundError{}

// PageSize is the verification page size.
const PageSize = importsession.PageSize

// Row is a verification row; it never holds a password.
type Row struct {
	Row       int       `json:"row"`
	Status    string    `json:"status"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	Email     string    `json:"email"`
	Group     string    `json:"group"`
	Tags      []string  `json:"tags"`
	Problems  []Problem `json:"problems"`
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
	CreatedAt time.Time   `json:"created_at"`
}

// AccountFilter narrows the account list.
type AccountFilter struct {
	Email    string
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

// AuditEvent is one entry of an audit trail.
type AuditEvent struct {
	Position int64           `json:"position"`
	Type     string          `json:"type"`
	At       time.Time       `json:"at"`
	Actor    AuditActor      `json:"actor"`
	Stream   string          `json:"stream,omitempty"`
	Data     json.RawMessage `json:"data"`
}

// AuditActor is who did it.
type AuditActor struct {
	ID    *uuid.UUID `json:"id"`
	Email string     `json:"email"`
}

// ReadModel is what the queries read.
type ReadModel interface {
	ListImports(ctx context.Context, orgID uuid.UUID, createdBy uuid.UUID, openOnly bool) ([]Import, error)
	Rows(ctx context.Context, importID uuid.UUID, status string, page int) ([]Row, error)
	Accounts(ctx context.Context, orgID uuid.UUID, f AccountFilter) (AccountsPage, error)
	StreamAudit(ctx context.Context, orgID uuid.UUID, streamID string) ([]AuditEvent, error)
	AccountIDByEmail(ctx context.Context, orgID uuid.UUID, email string) (uuid.UUID, error)
}

// UploadedFiles reads an open import's upload.
type UploadedFiles interface {
	// WriteRejected writes the invalid rows as a CSV.
	WriteRejected(ctx context.Context, imp *importsession.Import, w io.Writer) error
	// Preview returns the first rows, password cells masked.
	Preview(ctx context.Context, imp *importsession.Import, rows int) ([]PreviewRow, error)
}

// PreviewRow is a data row of the upload as the mapping page shows it.
type PreviewRow struct {
	Row   int
	Cells []string
}

// HiddenCell stands in for a password in a preview.
const HiddenCell = "••••••"

// ImportLoader loads the aggregate, the freshest view of one import.
type ImportLoader interface {
	Load(ctx context.Context, id uuid.UUID) (*importsession.Import, error)
}

// Queries answers the read side of the API.
type Queries struct {
	rm      ReadModel
	imports ImportLoader
	files   UploadedFiles
	mail    MailReport
}

// NewQueries refuses nil dependencies.
func NewQueries(rm ReadModel, imports ImportLoader, files UploadedFiles, mail MailReport) (*Queries, error) {
	if rm == nil || imports == nil || files == nil || mail == nil {
		return nil, errors.New("query: NewQueries needs a read model, an import loader, the uploaded files and a mail report")
	}
	return &Queries{rm: rm, imports: imports, files: files, mail: mail}, nil
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
	return q.files.WriteRejected(ctx, imp, w())
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
	return q.files.Preview(ctx, imp, rows)
}

// Import returns one import. It reads the event stream rather than the read
// model, so a client sees its own change at once.
func (q *Queries) Import(ctx context.Context, actor tenancy.Actor, id uuid.UUID) (Import, error) {
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return Import{}, err
	}
	out := ImportFrom(imp)
	if out.Summary != nil && imp.SendWelcomeEmail() {
		welcome, err := q.mail.WelcomeEmails(ctx, imp.OrgID(), imp.ID())
		if err != nil {
			return Import{}, err
		}
		out.Summary.WelcomeEmails = &welcome
	}
	return out, nil
}

func (q *Queries) visible(ctx context.Context, actor tenancy.Actor, id uuid.UUID) (*importsession.Import, error) {
	imp, err := q.imports.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !imp.CanSee(actor) {
		return nil, ErrNotFound
	}
	return imp, nil
}

// ListImports lists the actor's organization's imports (an administrator's
// own only), newest first.
func (q *Queries) ListImports(ctx context.Context, actor tenancy.Actor, openOnly bool) ([]Import, error) {
	if !actor.Role.CanImport() {
		return nil, ErrNotFound
	}
	createdBy := uuid.Nil
	if !actor.Role.IsSystemAdmin() {
		createdBy = actor.ID
	}
	return q.rm.ListImports(ctx, actor.OrgID, createdBy, openOnly)
}

// Rows returns a verification page; status "" means every listed row.
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
	case importsession.RowInvalid:
		total = c.Invalid
	default:
		return RowsPage{}, &importsession.InvalidValueError{Message: "status must be new, existing or invalid (or left out for all rows)."}
	}
	if page < 1 {
		page = 1
	}
	rows, err := q.rm.Rows(ctx, id, status, page)
	return RowsPage{Page: page, PageSize: PageSize, Total: total, Rows: rows}, err
}

// Accounts lists the actor's organization's accounts; a group-scoped
// administrator sees the accounts of their own group only, as they import
// into it only.
func (q *Queries) Accounts(ctx context.Context, actor tenancy.Actor, f AccountFilter) (AccountsPage, error) {
	if !actor.Role.CanImport() {
		return AccountsPage{}, ErrNotFound
	}
	if f.Page < 1 {
		f.Page = 1
	}
	if !actor.Role.IsSystemAdmin() {
		if f.GroupID != uuid.Nil && f.GroupID != actor.GroupID {
			return AccountsPage{Page: f.Page, PageSize: PageSize, Accounts: []Account{}}, nil
		}
		f.GroupID, f.GroupOnly = actor.GroupID, true
	}
	return q.rm.Accounts(ctx, actor.OrgID, f)
}

// ImportAudit is the audit trail of one import.
func (q *Queries) ImportAudit(ctx context.Context, actor tenancy.Actor, id uuid.UUID) ([]AuditEvent, error) {
	if _, err := q.visible(ctx, actor, id); err != nil {
		return nil, err
	}
	return q.rm.StreamAudit(ctx, actor.OrgID, importsession.StreamID(id))
}

// AccountAudit is the audit trail of one account, found by email, within
// the organization (the command line passes uuid.Nil for any organization).
func (q *Queries) AccountAudit(ctx context.Context, orgID uuid.UUID, email string) ([]AuditEvent, error) {
	id, err := q.rm.AccountIDByEmail(ctx, orgID, email)
	if err != nil {
		return nil, err
	}
	return q.rm.StreamAudit(ctx, orgID, "account-"+id.String())
}
