package importjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
)

// validateProgress is the validation's checkpoint.
type validateProgress struct {
	Row      int // last data row handled
	New      int
	Existing int
	Invalid  int
	Blank    int
	Problems map[string]int
}

// verificationRow is one row of import_rows.
type verificationRow struct {
	number      int
	status      string
	first, last string
	email, key  string
	group       string
	groupID     *uuid.UUID
	tags        []string
	tagIDs      []uuid.UUID
	hasPassword bool
	problems    []importsession.Problem
	seqAll      int
	seqStatus   int
}

// Validate checks every row of the file and writes the verification rows.
func (r *Runner) Validate(ctx context.Context, job *postgres.Job) error {
	imp, ok, err := r.loadImport(ctx, job, importsession.StateValidating)
	if !ok {
		return err
	}
	start := time.Now()
	err = r.validate(ctx, job, imp)
	if err == nil {
		r.metrics().StageFinished("validate", time.Since(start))
	}
	var fe *spreadsheet.FormatError
	if errors.As(err, &fe) || errors.Is(err, errGone) || (err != nil && ctx.Err() == nil && job.LastAttempt()) {
		// The file is the problem, or retries ran out: tell the importer
		// and let them fix it or try again.
		reason := err.Error()
		if fe == nil && !errors.Is(err, errGone) {
			r.Logger.ErrorContext(ctx, "validation failed for good", "import_id", imp.ID(), "err", err)
			reason = fmt.Sprintf("Validation stopped after %d attempts because of an error on our side. Start the validation again; if it happens again, contact support.", job.Attempt)
		}
		_, uerr := r.Imports.Update(ctx, imp.ID(), command.Metadata{OrgID: imp.OrgID()}, func(imp *importsession.Import) error {
			if imp.State() != importsession.StateValidating {
				return nil
			}
			return imp.FailValidation(reason, r.Now())
		})
		return uerr
	}
	return err
}

var errGone = errors.New("the uploaded file is gone")

func (r *Runner) validate(ctx context.Context, job *postgres.Job, imp *importsession.Import) error {
	var progress validateProgress
	if err := json.Unmarshal(job.Progress, &progress); err != nil {
		return err
	}
	if progress.Problems == nil {
		progress.Problems = map[string]int{}
	}
	if progress.Row == 0 {
		// A new run replaces the rows of any earlier validation.
		if _, err := r.Pool.Exec(ctx, `DELETE FROM import_rows WHERE import_id = $1`, imp.ID()); err != nil {
			return err
		}
	}
	seen := newEmailSet()
	if err := r.loadSeen(ctx, imp.ID(), seen); err != nil {
		return err
	}
	groups, err := r.names(ctx, command.Groups, imp.OrgID())
	if err != nil {
		return err
	}
	tags, err := r.names(ctx, command.Tags, imp.OrgID())
	if err != nil {
		return err
	}

	f, err := r.Uploads.Open(ctx, imp.ID())
	if err != nil {
		return fmt.Errorf("%w: %v", errGone, err)
	}
	defer f.Close()
	file, err := spreadsheet.Open(f, f.Size(), imp.File().FileName, r.Reader)
	if err != nil {
		return err
	}
	defer file.Close()

	mapping := importsession.MappingFromStorage(file.Info().Headers, imp.Mapping())
	idx := mapping.Index()
	rowCtx := importsession.RowContext{
		DefaultPassword: imp.Defaults().PasswordSet,
		GroupColumn:     len(idx[importsession.FieldGroup]) > 0,
		FullNameColumn:  len(idx[importsession.FieldFullName]) > 0,
		GroupID: func(name string) (uuid.UUID, bool) {
			id, ok := groups[strings.ToLower(name)]
			return id, ok
		},
		TagID: func(name string) (uuid.UUID, bool) {
			id, ok := tags[strings.ToLower(name)]
			return id, ok
		},
		FirstRowWith: seen.firstRowWith,
	}

	var batch []importsession.RowInput
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		owners, err := r.emailOwners(ctx, imp.OrgID(), batch)
		if err != nil {
			return err
		}
		rowCtx.EmailOwner = func(key string) importsession.Owner { return owners[key] }
		next := progress
		next.Problems = copyCounts(progress.Problems)
		rows := make([]verificationRow, 0, len(batch))
		for _, in := range batch {
			next.Row = in.Number
			out := importsession.ValidateRow(in, rowCtx)
			switch out.Status {
			case importsession.RowBlank:
				next.Blank++
				continue
			case importsession.RowNew:
				next.New++
			case importsession.RowExisting:
				next.Existing++
			case importsession.RowInvalid:
				next.Invalid++
			}
			for _, p := range out.Problems {
				next.Problems[p.Code]++
			}
			if imp.Source() == importsession.SourceClassroom {
				explainMissingGoogleEmail(out.Problems)
			}
			v := toVerificationRow(in, out)
			v.seqAll = next.New + next.Existing + next.Invalid
			v.seqStatus = map[string]int{importsession.RowNew: next.New, importsession.RowExisting: next.Existing, importsession.RowInvalid: next.Invalid}[out.Status]
			rows = append(rows, v)
		}
		err = pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
			if err := insertRows(ctx, tx, imp.ID(), imp.OrgID(), rows); err != nil {
				return err
			}
			return job.Checkpoint(ctx, tx, next)
		})
		if err != nil {
			return err
		}
		r.metrics().RowsValidated(len(batch))
		progress, batch = next, batch[:0]
		return nil
	}

	for {
		row, err := file.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if row.Number <= progress.Row {
			continue
		}
		batch = append(batch, r.rowInput(row, idx))
		if len(batch) >= r.batchSize() {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}

	return pgx.BeginFunc(ctx, r.Pool, func(tx pgx.Tx) error {
		err := r.Imports.UpdateTx(ctx, tx, imp.ID(), command.Metadata{OrgID: imp.OrgID()}, func(imp *importsession.Import) error {
			if imp.State() != importsession.StateValidating {
				return errStale
			}
			return imp.RecordValidation(importsession.RowsValidated{
				Total: progress.New + progress.Existing + progress.Invalid, New: progress.New, Existing: progress.Existing,
				Invalid: progress.Invalid, Blank: progress.Blank, ProblemCounts: progress.Problems, ValidatedAt: r.Now().UTC(),
			})
		})
		if errors.Is(err, errStale) {
			return nil
		}
		if err != nil {
			return err
		}
		return job.Checkpoint(ctx, tx, progress)
	})
}

// rowInput picks a row's mapped cells; a password is only checked against
// the policy here, never kept.
func (r *Runner) rowInput(row spreadsheet.Row, idx map[string][]int) importsession.RowInput {
	cell := func(field string) string {
		if cols := idx[field]; len(cols) > 0 {
			return strings.TrimSpace(row.Cells[cols[0]])
		}
		return ""
	}
	in := importsession.RowInput{
		Number: row.Number, FirstName: cell(importsession.FieldFirstName), LastName: cell(importsession.FieldLastName),
		FullName: cell(importsession.FieldFullName), Email: cell(importsession.FieldEmail), Group: cell(importsession.FieldGroup),
		Blank: row.Blank,
	}
	for _, col := range idx[importsession.FieldTag] {
		in.Tags = append(in.Tags, splitTags(row.Cells[col])...)
	}
	if pw := cell(importsession.FieldPassword); pw != "" {
		in.HasPassword = true
		for _, p := range r.Policy(secret.New(pw)) {
			in.PasswordProblems = append(in.PasswordProblems, importsession.Problem{Field: importsession.FieldPassword, Code: p.Code, Message: p.Message})
		}
	}
	// A row whose mapped cells are all empty is blank even if ignored columns are not.
	if in.FirstName == "" && in.LastName == "" && in.FullName == "" && in.Email == "" && !in.HasPassword && in.Group == "" && len(in.Tags) == 0 {
		in.Blank = true
	}
	return in
}

// splitTags reads "Robotics; Choir" or "Robotics, Choir" as two tags.
func splitTags(cell string) []string {
	parts := strings.FieldsFunc(cell, func(r rune) bool { return r == ';' || r == ',' || r == '|' })
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func toVerificationRow(in importsession.RowInput, out importsession.RowOutcome) verificationRow {
	v := verificationRow{
		number: in.Number, status: out.Status, first: out.FirstName, last: out.LastName,
		email: in.Email, group: in.Group, tags: in.Tags, tagIDs: out.TagIDs, hasPassword: in.HasPassword, problems: out.Problems,
	}
	if v.first == "" && v.last == "" {
		v.first, v.last = in.FirstName, in.LastName
		if in.FullName != "" {
			v.first = in.FullName
		}
	}
	if !out.Email.IsZero() {
		v.email, v.key = out.Email.String(), out.Email.Key()
	}
	if out.GroupID != uuid.Nil {
		id := out.GroupID
		v.groupID = &id
	}
	if v.tags == nil {
		v.tags = []string{}
	}
	if v.tagIDs == nil {
		v.tagIDs = []uuid.UUID{}
	}
	return v
}

func insertRows(ctx context.Context, tx pgx.Tx, importID, orgID uuid.UUID, rows []verificationRow) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"},
		[]string{"import_id", "row_number", "org_id", "status", "first_name", "last_name", "email", "email_key",
			"group_name", "group_id", "tags", "tag_ids", "has_password", "problems", "seq_all", "seq_status"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			v := rows[i]
			problems := make([]map[string]string, len(v.problems))
			for j, p := range v.problems {
				problems[j] = map[string]string{"field": p.Field, "code": p.Code, "message": p.Message}
			}
			pj, err := json.Marshal(problems)
			if err != nil {
				return nil, err
			}
			return []any{importID, v.number, orgID, v.status, v.first, v.last, v.email, v.key,
				v.group, v.groupID, v.tags, v.tagIDs, v.hasPassword, pj, v.seqAll, v.seqStatus}, nil
		}))
	return err
}

// loadSeen rebuilds the file's emails from the rows already validated, so a
// resumed validation still spots duplicates of earlier rows.
func (r *Runner) loadSeen(ctx context.Context, importID uuid.UUID, seen *emailSet) error {
	rows, err := r.Pool.Query(ctx, `
		SELECT email_key, row_number FROM import_rows
		WHERE import_id = $1 AND email_key <> '' ORDER BY row_number`, importID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var row int
		if err := rows.Scan(&key, &row); err != nil {
			return err
		}
		seen.firstRowWith(key, row)
	}
	return rows.Err()
}

// emailOwners says, for the batch's emails, which belong to this
// organization and which to another.
func (r *Runner) emailOwners(ctx context.Context, orgID uuid.UUID, batch []importsession.RowInput) (map[string]importsession.Owner, error) {
	keys := make([]string, 0, len(batch))
	for _, in := range batch {
		if e := strings.ToLower(strings.TrimSpace(in.Email)); e != "" {
			keys = append(keys, e)
		}
	}
	rows, err := r.Pool.Query(ctx, `SELECT email_key, org_id FROM account_logins WHERE email_key = ANY($1)`, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	owners := map[string]importsession.Owner{}
	for rows.Next() {
		var key string
		var org uuid.UUID
		if err := rows.Scan(&key, &org); err != nil {
			return nil, err
		}
		if org == orgID {
			owners[key] = importsession.OwnerThisOrg
		} else {
			owners[key] = importsession.OwnerOtherOrg
		}
	}
	return owners, rows.Err()
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// explainMissingGoogleEmail says why a Classroom student has no email: the
// row is kept and shown, never dropped in silence.
func explainMissingGoogleEmail(problems []importsession.Problem) {
	for i, p := range problems {
		if p.Code == "email_missing" {
			problems[i].Code = "google_email_hidden"
			problems[i].Message = "Google does not show this student's email address: usually a personal Google account rather than one of your school's, " +
				"or the permission to see emails was not given. Add the student by CSV with their school email, or reconnect Google and allow access to email addresses."
		}
	}
}
