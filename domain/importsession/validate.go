package importsession

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
)

// Row statuses.
const (
	RowNew      = "new"
	RowExisting = "existing"
	RowInvalid  = "invalid"
	RowBlank    = "blank"
)

// Problem is what is wrong with one field of a row.
type Problem struct {
	Field   string
	Code    string
	Message string
}

// RowInput is a row's mapped values. Password holds only whether the row
// has one and, when it does, what the policy says of it.
type RowInput struct {
	Number      int
	FirstName   string
	LastName    string
	FullName    string
	Email       string
	HasPassword bool
	// PasswordProblems are the policy's findings on the row's password.
	PasswordProblems []Problem
	Group            string
	Tags             []string
	// Blank is true when every mapped cell is empty.
	Blank bool
}

// RowContext answers what a row cannot know by itself; the application
// fills it from the database before validating a batch.
type RowContext struct {
	// Terms are the import's settings as each account sees them.
	Terms account.ImportTerms
	// GroupColumn says the mapping has a group column.
	GroupColumn bool
	// FullNameColumn says names come from one full-name column.
	FullNameColumn bool
	// GroupID finds a group of the organization by name (case-insensitive).
	GroupID func(name string) (uuid.UUID, bool)
	// TagID finds a tag of the organization by name (case-insensitive).
	TagID func(name string) (uuid.UUID, bool)
	// Holder returns the account that holds an email key now, in any
	// organization, or nil.
	Holder func(key string) *account.Account
	// FirstRowWith returns the row that first used an email key in this
	// file, recording this row when it is the first.
	FirstRowWith func(key string, row int) int
}

// RowOutcome is a validated row.
type RowOutcome struct {
	Status    string
	FirstName string
	LastName  string
	Email     account.Email
	GroupID   uuid.UUID // the row's own group (the default is not filled in)
	TagIDs    []uuid.UUID
	Problems  []Problem
	// Diff is what the row would change on its existing account, whatever
	// the policy (Status RowExisting only).
	Diff account.Diff
}

// ValidateRow checks one row. Every problem is reported, one per field, so
// the importer can fix the file in one pass.
func ValidateRow(in RowInput, ctx RowContext) RowOutcome {
	if in.Blank {
		return RowOutcome{Status: RowBlank}
	}
	var out RowOutcome
	add := func(field, code, format string, args ...any) {
		out.Problems = append(out.Problems, Problem{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	for _, f := range []struct{ field, value string }{{FieldFirstName, in.FirstName}, {FieldLastName, in.LastName},
		{FieldFullName, in.FullName}, {FieldEmail, in.Email}, {FieldGroup, in.Group}} {
		if hasControl(f.value) {
			add(f.field, "invisible_character", "The %s contains an invisible control character (such as a NUL byte), often left by a copy from another program. Retype the cell.", label(f.field))
		}
	}

	first, last := strings.TrimSpace(in.FirstName), strings.TrimSpace(in.LastName)
	if ctx.FullNameColumn {
		full := strings.TrimSpace(in.FullName)
		if f, l, ok := account.SplitFullName(full); ok {
			first, last = f, l
		} else if full == "" {
			add(FieldFullName, "full_name_missing", "The name is missing.")
		} else {
			add(FieldFullName, "full_name_unsplittable", "The full name %q could not be split into a first and a last name. Write it as \"First Last\" or \"Last, First\".", full)
		}
	} else {
		if first == "" {
			add(FieldFirstName, "first_name_missing", "The first name is missing.")
		}
		if last == "" {
			add(FieldLastName, "last_name_missing", "The last name is missing.")
		}
	}
	out.FirstName, out.LastName = first, last

	if group := strings.TrimSpace(in.Group); ctx.GroupColumn && group != "" {
		if id, ok := ctx.GroupID(group); ok {
			out.GroupID = id
		} else {
			add(FieldGroup, "group_unknown", "There is no group named %q. Create it first, or correct the name.", group)
		}
	}
	for _, tag := range in.Tags {
		tag = strings.TrimSpace(tag)
		if tag == "" {
			continue
		}
		if id, ok := ctx.TagID(tag); ok {
			out.TagIDs = append(out.TagIDs, id)
		} else {
			add(FieldTag, "tag_unknown", "There is no tag named %q. Create it first, or correct the name.", tag)
		}
	}

	decision := account.Decision{Outcome: account.OutcomeRefused}
	email, err := account.NewEmail(in.Email)
	switch {
	case err != nil:
		var ee *account.EmailError
		code := "email_invalid"
		if errors.As(err, &ee) {
			code = ee.Code
		}
		msg := err.Error()
		if code == "email_invalid" {
			msg += " Check for typos such as a missing domain."
		}
		add(FieldEmail, code, "%s", msg)
	default:
		out.Email = email
		if firstRow := ctx.FirstRowWith(email.Key(), in.Number); firstRow != in.Number {
			add(FieldEmail, "email_duplicate_in_file", "The email %s is already on row %d of this file; each person can appear once.", email, firstRow)
			break
		}
		decision = account.Decide(ctx.Terms, account.ImportRow{Number: in.Number, Email: email, FirstName: first, LastName: last,
			GroupID: out.GroupID, TagIDs: out.TagIDs, HasPassword: in.HasPassword}, ctx.Holder(email.Key()))
		if decision.Outcome == account.OutcomeRefused {
			add(FieldEmail, decision.Refusal.Code, "%s", decision.Refusal.Message)
		}
	}

	if in.HasPassword {
		for _, p := range in.PasswordProblems {
			add(FieldPassword, "password_policy", "%s", p.Message)
		}
	} else if !ctx.Terms.ProvidesPassword() && decision.Outcome != account.OutcomeExisting {
		add(FieldPassword, "password_missing", "The row has no password and the import has no default password. Fill in the password column, set a default password, or generate a password for each account.")
	}

	switch {
	case len(out.Problems) > 0:
		out.Status = RowInvalid
	case decision.Outcome == account.OutcomeExisting:
		out.Status, out.Diff = RowExisting, decision.Diff
	default:
		out.Status = RowNew
	}
	return out
}

// hasControl reports a control character other than a tab: invisible in a
// spreadsheet, and a NUL cannot even be stored.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) >= 0
}
