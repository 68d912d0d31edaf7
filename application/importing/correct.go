package importing

import (
	"context"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// CorrectRow fixes a row where the review shows it: the fields given
// replace the row's, and the row is checked again at once, with the same
// rules as the validation (format, duplicates in the file, existing
// accounts, other organizations, reach). A password is never shown nor
// changed here.
type CorrectRow struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Row           int
	Email         *string
	FirstName     *string
	LastName      *string
	Group         *string
	Tags          *[]string
}

// Corrected is the row as it is now, and the import with its new counts.
type Corrected struct {
	Row    ValidatedRow
	Import *importsession.Import
}

// CorrectRow records RowCorrected and rewrites the row in one transaction.
func (r *Runner) CorrectRow(ctx context.Context, cmd CorrectRow) (Corrected, error) {
	imp, err := r.d.Imports.Load(ctx, cmd.ImportID)
	if err != nil {
		return Corrected{}, err
	}
	if !imp.CanSee(cmd.Actor) {
		return Corrected{}, &importsession.NotFoundError{}
	}
	if imp.State() != importsession.StateValidated {
		return Corrected{}, &importsession.WrongStepError{Current: imp.State(), Wanted: []importsession.State{importsession.StateValidated}}
	}
	before, ok, err := r.d.Rows.Row(ctx, imp.ID(), cmd.Row)
	if err != nil {
		return Corrected{}, err
	}
	if !ok {
		return Corrected{}, failure.New(failure.NotFound, "not_found", "This import has no row %d to correct (blank rows are not listed).", cmd.Row)
	}
	if cmd.Group != nil && strings.TrimSpace(*cmd.Group) != "" && !hasGroupColumn(imp.Mapping()) {
		return Corrected{}, failure.New(failure.Unprocessable, "invalid_value",
			"This import has no group column: its accounts go to the group chosen in the defaults. Leave the group out.")
	}
	in := importsession.RowInput{Number: before.Number, FirstName: before.FirstName, LastName: before.LastName, Email: before.Email,
		Group: before.Group, Tags: slices.Clone(before.Tags), HasPassword: before.HasPassword}
	for _, p := range before.Problems {
		if p.Field == importsession.FieldPassword && p.Code == "password_policy" {
			in.PasswordProblems = append(in.PasswordProblems, p)
		}
	}
	var changes []importsession.FieldChange
	set := func(field string, dst *string, to *string) {
		if to == nil {
			return
		}
		v := strings.TrimSpace(*to)
		if v != *dst {
			changes = append(changes, importsession.FieldChange{Field: field, From: *dst, To: v})
			*dst = v
		}
	}
	set(importsession.FieldEmail, &in.Email, cmd.Email)
	set(importsession.FieldFirstName, &in.FirstName, cmd.FirstName)
	set(importsession.FieldLastName, &in.LastName, cmd.LastName)
	set(importsession.FieldGroup, &in.Group, cmd.Group)
	if cmd.Tags != nil {
		var tags []string
		for _, t := range *cmd.Tags {
			tags = append(tags, splitTags(t)...)
		}
		if from, to := strings.Join(in.Tags, ", "), strings.Join(tags, ", "); from != to {
			changes = append(changes, importsession.FieldChange{Field: "tags", From: from, To: to})
			in.Tags = tags
		}
	}
	if len(changes) == 0 {
		return Corrected{Row: before, Import: imp}, nil
	}

	org, err := r.d.Orgs.Organization(ctx, imp.OrgID())
	if err != nil {
		return Corrected{}, err
	}
	groups, err := r.names(ctx, command.Groups, imp.OrgID())
	if err != nil {
		return Corrected{}, err
	}
	tags, err := r.names(ctx, command.Tags, imp.OrgID())
	if err != nil {
		return Corrected{}, err
	}
	key := account.EmailKey(in.Email)
	holders, err := r.d.Holders.Holders(ctx, []string{key})
	if err != nil {
		return Corrected{}, err
	}
	// The row may not take an email another row of the file has: it would
	// be a duplicate in the file, whichever row comes first.
	other, err := r.d.Rows.RowWithEmail(ctx, imp.ID(), key, in.Number)
	if err != nil {
		return Corrected{}, err
	}
	out := importsession.ValidateRow(in, importsession.RowContext{
		Terms:       imp.Terms(org.WelcomeEmailEnabled),
		GroupColumn: hasGroupColumn(imp.Mapping()),
		GroupID: func(name string) (uuid.UUID, bool) {
			id, ok := groups[importsession.NameKey(name)]
			return id, ok
		},
		TagID: func(name string) (uuid.UUID, bool) {
			id, ok := tags[importsession.NameKey(name)]
			return id, ok
		},
		Holder: func(k string) *account.Account { return holders[k] },
		FirstRowWith: func(_ string, row int) int {
			if other > 0 {
				return other
			}
			return row
		},
	})
	after := verificationRow(in, out)
	after.SealedPassword, after.SeqAll = before.SealedPassword, before.SeqAll
	var res Corrected
	err = r.d.Work.Do(ctx, nil, func(w Writes) error {
		imp, err := w.UpdateImport(ctx, imp.ID(), command.Metadata{ActorID: cmd.Actor.ID, OrgID: cmd.Actor.OrgID, CorrelationID: cmd.CorrelationID},
			func(imp *importsession.Import) error {
				return imp.CorrectRow(cmd.Actor, importsession.RowCorrected{Row: in.Number, Changes: changes,
					StatusBefore: before.Status, StatusAfter: after.Status, ChangedUnderBefore: before.ChangedUnder, ChangedUnderAfter: after.ChangedUnder,
					ProblemsBefore: problemCodes(before.Problems), ProblemsAfter: problemCodes(after.Problems)}, r.d.Now())
			})
		if err != nil {
			return err
		}
		w.ReplaceRow(imp.ID(), after)
		res = Corrected{Row: after, Import: imp}
		return nil
	})
	return res, err
}

func hasGroupColumn(mapping map[string]string) bool {
	for _, f := range mapping {
		if f == importsession.FieldGroup {
			return true
		}
	}
	return false
}

func problemCodes(ps []importsession.Problem) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Code
	}
	return out
}
