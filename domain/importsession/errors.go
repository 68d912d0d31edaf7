package importsession

import (
	"fmt"
	"strings"
)

// WrongStepError: the command does not fit the step the import is at.
type WrongStepError struct {
	Current State
	Wanted  []State
}

func (e *WrongStepError) Error() string {
	wanted := make([]string, len(e.Wanted))
	for i, s := range e.Wanted {
		wanted[i] = string(s)
	}
	return fmt.Sprintf("The import is at the %q step (state %s); this needs it to be %s.",
		e.Current.Step(), e.Current, strings.Join(wanted, " or "))
}
func (e *WrongStepError) Slug() string { return "wrong-wizard-step" }

// Details lets the API answer with the current step.
func (e *WrongStepError) Details() map[string]any {
	return map[string]any{"state": string(e.Current), "step": string(e.Current.Step())}
}

// ForbiddenError: the actor's role may not do this.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return e.Reason }
func (e *ForbiddenError) Slug() string  { return "forbidden" }

// NotFoundError: no such import for this actor. Imports of another
// organization are not found either, never "forbidden".
type NotFoundError struct{}

func (e *NotFoundError) Error() string { return "There is no such import." }
func (e *NotFoundError) Slug() string  { return "not-found" }

// MappingProblem is one thing wrong with a mapping.
type MappingProblem struct {
	Header  string
	Code    string
	Message string
}

// InvalidMappingError lists what is wrong with a mapping.
type InvalidMappingError struct{ Problems []MappingProblem }

func (e *InvalidMappingError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, " ")
}
func (e *InvalidMappingError) Slug() string { return "invalid-mapping" }

// Details lists the problems for the API.
func (e *InvalidMappingError) Details() map[string]any {
	out := make([]map[string]string, len(e.Problems))
	for i, p := range e.Problems {
		out[i] = map[string]string{"header": p.Header, "code": p.Code, "message": p.Message}
	}
	return map[string]any{"problems": out}
}

// InvalidValueError: a command argument is out of range.
type InvalidValueError struct{ Message string }

func (e *InvalidValueError) Error() string { return e.Message }
func (e *InvalidValueError) Slug() string  { return "invalid-value" }

// VerificationIncompleteError: commit needs every page viewed or verification skipped.
type VerificationIncompleteError struct{ PagesLeft int }

func (e *VerificationIncompleteError) Error() string {
	return fmt.Sprintf("%d page(s) of rows have not been verified yet. Look at them, or choose to skip verification, before committing.", e.PagesLeft)
}
func (e *VerificationIncompleteError) Slug() string { return "verification-incomplete" }

// NothingToImportError: no row would create or update an account.
type NothingToImportError struct{}

func (e *NothingToImportError) Error() string {
	return "No row of this import would create or update an account. Fix the rejected rows (download them as a CSV) and upload again."
}
func (e *NothingToImportError) Slug() string { return "nothing-to-import" }
