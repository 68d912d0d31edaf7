package importing

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
)

// validateProgress is the validation's checkpoint.
type validateProgress struct {
	Row          int // last data row handled
	New          int
	Existing     int
	Invalid      int
	Blank        int
	ChangedUnder []int
	Problems     map[string]int
}

// Validate checks every row of the file against the domain's rules and the
// accounts as they are, and writes the rows the review shows: a dry run of
// the commit.
func (r *Runner) Validate(ctx context.Context, job Job) error {
	start := r.d.Now()
	imp, ok, err := r.loadImport(ctx, job, importsession.StateValidating)
	if !ok {
		return err
	}
	err = r.validate(ctx, job, imp)
	var unreadable *UnreadableError
	if errors.As(err, &unreadable) || (err != nil && ctx.Err() == nil && job.LastAttempt()) {
		// The file is the problem, or retries ran out: tell the importer
		// and let them fix it or try again.
		reason := err.Error()
		if unreadable == nil {
			r.d.Logger.ErrorContext(ctx, "validation failed for good", "import_id", imp.ID(), "err", err)
			reason = fmt.Sprintf("Validation stopped after %d attempts because of an error on our side. Start the validation again; if it happens again, contact support.", job.Attempts())
		}
		_, uerr := r.d.Imports.Update(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			if imp.State() != importsession.StateValidating {
				return nil
			}
			return imp.FailValidation(reason, r.d.Now())
		})
		return uerr
	}
	if err == nil {
		r.d.Observer.StageFinished("validate", r.d.Now().Sub(start))
	}
	return err
}

func jobMeta(imp *importsession.Import) command.Metadata {
	return command.Metadata{ActorID: imp.CreatedBy(), OrgID: imp.OrgID(), CorrelationID: imp.ID().String()}
}

func (r *Runner) validate(ctx context.Context, job Job, imp *importsession.Import) error {
	var progress validateProgress
	if err := job.DecodeProgress(&progress); err != nil {
		return err
	}
	if progress.Problems == nil {
		progress.Problems = map[string]int{}
	}
	if len(progress.ChangedUnder) != account.Policies {
		progress.ChangedUnder = make([]int, account.Policies)
	}
	if progress.Row == 0 {
		// A new run replaces the rows of any earlier validation.
		if err := r.d.Rows.Delete(ctx, imp.ID()); err != nil {
			return err
		}
	}
	seen := newEmailSet()
	if err := r.d.Rows.FirstRows(ctx, imp.ID(), func(key string, row int) { seen.firstRowWith(key, row) }); err != nil {
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
	org, err := r.d.Orgs.Organization(ctx, imp.OrgID())
	if err != nil {
		return err
	}

	file, err := r.d.Files.Open(ctx, imp.ID(), command.FileRefOf(imp))
	if err != nil {
		return err
	}
	defer file.Close()
	idx := importsession.MappingFromStorage(file.Headers(), imp.Mapping()).Index()
	classesOf := rowClasses(imp, file.Headers())
	rowCtx := importsession.RowContext{
		Terms:          imp.Terms(org.WelcomeEmailEnabled),
		GroupColumn:    len(idx[importsession.FieldGroup]) > 0,
		FullNameColumn: len(idx[importsession.FieldFullName]) > 0,
		GroupID: func(name string) (uuid.UUID, bool) {
			id, ok := groups[importsession.NameKey(name)]
			return id, ok
		},
		TagID: func(name string) (uuid.UUID, bool) {
			id, ok := tags[importsession.NameKey(name)]
			return id, ok
		},
		FirstRowWith: seen.firstRowWith,
	}

	type pending struct {
		in       importsession.RowInput
		password secret.Secret
		cells    []string
	}
	var batch []pending
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		keys := make([]string, 0, len(batch))
		for _, p := range batch {
			if k := account.EmailKey(p.in.Email); k != "" {
				keys = append(keys, k)
			}
		}
		holders, err := r.d.Holders.Holders(ctx, keys)
		if err != nil {
			return err
		}
		rowCtx.Holder = func(key string) *account.Account { return holders[key] }
		next := progress
		next.Problems = copyCounts(progress.Problems)
		next.ChangedUnder = append([]int(nil), progress.ChangedUnder...)
		rows := make([]ValidatedRow, 0, len(batch))
		for _, p := range batch {
			next.Row = p.in.Number
			out := importsession.ValidateRow(p.in, rowCtx)
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
			for _, pr := range out.Problems {
				next.Problems[pr.Code]++
			}
			if imp.Source() == importsession.SourceClassroom {
				explainMissingGoogleEmail(out.Problems)
			}
			v := verificationRow(p.in, out)
			v.CourseIDs = classesOf(p.cells)
			if out.Status == importsession.RowExisting {
				for policy := range account.Policies {
					if v.ChangedUnder&(1<<policy) != 0 {
						next.ChangedUnder[policy]++
					}
				}
			}
			if p.in.HasPassword && out.Status != importsession.RowInvalid {
				if v.SealedPassword, err = r.d.Sealer.Seal(imp.ID(), p.in.Number, p.password); err != nil {
					return err
				}
			}
			v.SeqAll = next.New + next.Existing + next.Invalid
			v.SeqStatus = map[string]int{importsession.RowNew: next.New, importsession.RowExisting: next.Existing, importsession.RowInvalid: next.Invalid}[out.Status]
			rows = append(rows, v)
		}
		err = r.d.Work.Do(ctx, job, func(w Writes) error {
			w.WriteRows(imp.ID(), imp.OrgID(), rows)
			w.Checkpoint(next)
			return nil
		})
		if err != nil {
			return err
		}
		r.d.Observer.RowsValidated(len(batch))
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
		// A row without a single cell (",,," at the end of a spreadsheet's
		// export) is no row of the file: the upload did not count it in the
		// file's rows, so counting it here as blank would make the figures
		// add up to more than the file holds.
		if row.Blank {
			continue
		}
		in, pw := r.rowInput(row, idx)
		batch = append(batch, pending{in: in, password: pw, cells: row.Cells})
		if len(batch) >= r.d.BatchRows {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	departed, err := r.departed(ctx, imp)
	if err != nil {
		return err
	}
	return r.d.Work.Do(ctx, job, func(w Writes) error {
		_, err := w.UpdateImport(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			if imp.State() != importsession.StateValidating {
				return errStale
			}
			if imp.Source() == importsession.SourceClassroom {
				if err := imp.RecordDeparted(departed, r.d.Now()); err != nil {
					return err
				}
			}
			return imp.RecordValidation(importsession.RowsValidated{
				Total: progress.New + progress.Existing + progress.Invalid, New: progress.New, Existing: progress.Existing,
				Invalid: progress.Invalid, Blank: progress.Blank, ChangedUnder: progress.ChangedUnder,
				ProblemCounts: progress.Problems, ValidatedAt: r.d.Now().UTC(),
			})
		})
		if errors.Is(err, errStale) {
			return nil
		}
		w.Checkpoint(progress)
		return err
	})
}

// rowInput picks a row's mapped cells. A password is checked against the
// policy here and kept only to be sealed.
func (r *Runner) rowInput(row FileRow, idx map[string][]int) (importsession.RowInput, secret.Secret) {
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
	var pw secret.Secret
	if v := cell(importsession.FieldPassword); v != "" {
		pw = secret.New(v)
		in.HasPassword = true
		for _, p := range r.d.Policy(pw) {
			in.PasswordProblems = append(in.PasswordProblems, importsession.Problem{Field: importsession.FieldPassword, Code: p.Code, Message: p.Message})
		}
	}
	// A row whose mapped cells are all empty is blank even if ignored columns are not.
	if in.FirstName == "" && in.LastName == "" && in.FullName == "" && in.Email == "" && !in.HasPassword && in.Group == "" && len(in.Tags) == 0 {
		in.Blank = true
	}
	return in, pw
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

func verificationRow(in importsession.RowInput, out importsession.RowOutcome) ValidatedRow {
	v := ValidatedRow{
		Number: in.Number, Status: out.Status, FirstName: out.FirstName, LastName: out.LastName,
		Email: in.Email, Group: in.Group, GroupID: out.GroupID, Tags: in.Tags, TagIDs: out.TagIDs, HasPassword: in.HasPassword,
		Problems: out.Problems, Diff: out.Diff, ChangedUnder: out.Diff.ChangedUnder(),
	}
	if out.Status != importsession.RowExisting {
		v.ChangedUnder = 0
	}
	if v.FirstName == "" && v.LastName == "" {
		v.FirstName, v.LastName = in.FirstName, in.LastName
		if in.FullName != "" {
			v.FirstName = in.FullName
		}
	}
	if !out.Email.IsZero() {
		v.Email, v.EmailKey = out.Email.String(), out.Email.Key()
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.TagIDs == nil {
		v.TagIDs = []uuid.UUID{}
	}
	return v
}

// names maps lower-cased names of groups or tags to their ids.
func (r *Runner) names(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID) (map[string]uuid.UUID, error) {
	list, err := r.d.Orgs.ListNamed(ctx, kind, orgID)
	if err != nil {
		return nil, err
	}
	out := make(map[string]uuid.UUID, len(list))
	for _, n := range list {
		out[importsession.NameKey(n.Name)] = n.ID
	}
	return out, nil
}

func copyCounts(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// rowClasses reads the classes of a roster row from its Course IDs column.
// A roster stored before the column existed has none; if it is of one
// class, every row is in that class.
func rowClasses(imp *importsession.Import, headers []string) func(cells []string) []string {
	courses := imp.Classroom().Courses
	col := slices.Index(headers, importsession.ClassroomCourseIDsColumn)
	return func(cells []string) []string {
		switch {
		case imp.Source() != importsession.SourceClassroom:
			return nil
		case col >= 0 && col < len(cells):
			return splitTags(cells[col])
		case col < 0 && len(courses) == 1:
			return []string{courses[0].ID}
		}
		return nil
	}
}

// departed finds, for a Google Classroom import, the students imported
// from its classes before who are in none of them now: the domain decides
// (importsession.FindDeparted) from the classes' earlier rosters, this
// import's rows and the accounts as they are.
func (r *Runner) departed(ctx context.Context, imp *importsession.Import) ([]importsession.DepartedPerson, error) {
	if imp.Source() != importsession.SourceClassroom {
		return nil, nil
	}
	var ids []string
	for _, c := range imp.Classroom().Courses {
		ids = append(ids, c.ID)
	}
	earlier, err := r.d.Classroom.EarlierMembers(ctx, imp.OrgID(), imp.ID(), ids)
	if err != nil || len(earlier) == 0 {
		return nil, err
	}
	elsewhere, err := r.d.Classroom.InOtherClasses(ctx, imp.OrgID(), ids)
	if err != nil {
		return nil, err
	}
	inImport := map[string]bool{}
	if err := r.d.Rows.FirstRows(ctx, imp.ID(), func(key string, _ int) { inImport[key] = true }); err != nil {
		return nil, err
	}
	var keys []string
	for _, m := range earlier {
		if k := account.EmailKey(m.Email); k != "" && !inImport[k] && !elsewhere[k] {
			keys = append(keys, k)
		}
	}
	holders, err := r.d.Holders.Holders(ctx, slices.Compact(slices.Sorted(slices.Values(keys))))
	if err != nil {
		return nil, err
	}
	return importsession.FindDeparted(importsession.Roster{
		Earlier:   earlier,
		InImport:  func(k string) bool { return inImport[k] },
		Elsewhere: func(k string) bool { return elsewhere[k] },
		Holder:    func(k string) *account.Account { return holders[k] },
	}, imp.Importer()), nil
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

// loadImport reads the job's import; ok is false when the import has moved
// past the step the job is for (cancelled, revalidated), and the job ends
// without doing anything.
func (r *Runner) loadImport(ctx context.Context, job Job, state importsession.State) (imp *importsession.Import, ok bool, err error) {
	var p payload
	if err := job.DecodePayload(&p); err != nil {
		return nil, false, err
	}
	if imp, err = r.d.Imports.Load(ctx, p.ImportID); err != nil {
		return nil, false, err
	}
	if imp.State() != state {
		r.d.Logger.InfoContext(ctx, "job for an import no longer at its step", "import_id", p.ImportID, "state", imp.State())
		return imp, false, nil
	}
	return imp, true, nil
}
