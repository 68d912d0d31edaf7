package importsession

import (
	"errors"
	"fmt"
	"strings"

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
	// DefaultPassword says the import has a default password.
	DefaultPassword bool
	// GroupColumn says the mapping has a group column.
	GroupColumn bool
	// FullNameColumn says names come from one full-name column.
	FullNameColumn bool
	// GroupID finds a group of the organization by name (case-insensitive).
	GroupID func(name string) (uuid.UUID, bool)
	// TagID finds a tag of the organization by name (case-insensitive).
	TagID func(name string) (uuid.UUID, bool)
	// EmailOwner says whether an email key belongs to an account of this
	// organization, of another one, or of none.
	EmailOwner func(key string) Owner
	// FirstRowWith returns the row that first used an email key in this
	// file, recording this row when it is the first.
	FirstRowWith func(key string, row int) int
}

// Owner is who holds an email already.
type Owner int

const (
	OwnerNone Owner = iota
	OwnerThisOrg
	OwnerOtherOrg
)

// RowOutcome is a validated row.
type RowOutcome struct {
	Status    string
	FirstName string
	LastName  string
	Email     account.Email
	GroupID   uuid.UUID
	TagIDs    []uuid.UUID
	Problems  []Problem
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

	existing := false
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
		switch ctx.EmailOwner(email.Key()) {
		case OwnerOtherOrg:
			add(FieldEmail, "email_taken_by_another_organization", "The email %s is used by an account of another organization. Each email can sign in to one organization only; use another address.", email)
		case OwnerThisOrg:
			existing = true
		}
	}

	if in.HasPassword {
		for _, p := range in.PasswordProblems {
			add(FieldPassword, "password_policy", "%s", p.Message)
		}
	} else if !ctx.DefaultPassword && !existing {
		add(FieldPassword, "password_missing", "The row has no password and the import has no default password. Fill in the password column or set a default password.")
	}

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

	switch {
	case len(out.Problems) > 0:
		out.Status = RowInvalid
	case existing:
		out.Status = RowExisting
	default:
		out.Status = RowNew
	}
	return out
}
