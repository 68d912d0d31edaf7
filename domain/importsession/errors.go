package importsession

import (
	"fmt"
	"strings"

	"github.com/rollcall/rollcall/domain/failure"
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
func (e *WrongStepError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Conflict, Code: "wrong_wizard_step", Message: e.Error(), Details: e.Details()}
}

// Details lets the API answer with the current step.
func (e *WrongStepError) Details() map[string]any {
	return map[string]any{"state": string(e.Current), "step": string(e.Current.Step())}
}

// ForbiddenError: the actor's role may not do this.
type ForbiddenError struct{ Reason string }

func (e *ForbiddenError) Error() string { return e.Reason }
func (e *ForbiddenError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Forbidden, Code: "forbidden", Message: e.Error()}
}

// NotFoundError: no such import for this actor. Imports of another
// organization are not found either, never "forbidden".
type NotFoundError struct{}

func (e *NotFoundError) Error() string { return "There is no such import." }
func (e *NotFoundError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.NotFound, Code: "not_found", Message: e.Error()}
}

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
func (e *InvalidMappingError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Unprocessable, Code: "invalid_mapping", Message: e.Error(), Details: e.Details()}
}

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
func (e *InvalidValueError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Unprocessable, Code: "invalid_value", Message: e.Error()}
}

// VerificationIncompleteError: commit needs every page viewed or verification skipped.
type VerificationIncompleteError struct{ PagesLeft int }

func (e *VerificationIncompleteError) Error() string {
	return fmt.Sprintf("%d page(s) of rows have not been verified yet. Look at them, or choose to skip verification, before committing.", e.PagesLeft)
}
func (e *VerificationIncompleteError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Conflict, Code: "verification_incomplete", Message: e.Error()}
}

// NothingToImportError: no row would create or change an account.
type NothingToImportError struct{ Unchanged int }

func (e *NothingToImportError) Error() string {
	if e.Unchanged > 0 {
		return fmt.Sprintf("Nothing would change: %d existing account(s) already look as this file says, and no row creates an account. Tick what to update for existing accounts, or cancel this import.", e.Unchanged)
	}
	return "No row of this import would create or update an account. Fix the rejected rows (download them as a CSV) and upload again."
}
func (e *NothingToImportError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Conflict, Code: "nothing_to_import", Message: e.Error()}
}

// ChangeThresholdError: the commit would change more of the organization's
// accounts than its threshold allows without a confirmation.
type ChangeThresholdError struct {
	// Changed counts every existing account the commit would change,
	// Deactivated of them as students who left a re-synced class.
	Changed, Deactivated, Accounts, Threshold int
	// Typed is the number the importer typed (0: none).
	Typed int
}

// Percent is the share of the organization's accounts that would change.
func (e *ChangeThresholdError) Percent() int {
	if e.Accounts == 0 {
		return 100
	}
	return (e.Changed*100 + e.Accounts/2) / e.Accounts
}

func (e *ChangeThresholdError) Error() string {
	changed := fmt.Sprintf("%d existing accounts", e.Changed)
	if e.Deactivated > 0 {
		changed += fmt.Sprintf(", %d of them deactivated as students who left the class,", e.Deactivated)
	}
	msg := fmt.Sprintf("This will change %s (%d%% of your organization's %d accounts, more than the %d%% allowed without a confirmation). Type %d to confirm.",
		changed, e.Percent(), e.Accounts, e.Threshold, e.Changed)
	if e.Typed != 0 {
		msg = fmt.Sprintf("You typed %d, but this will change %s (%d%%). Type %d to confirm.", e.Typed, changed, e.Percent(), e.Changed)
	}
	return msg
}
func (e *ChangeThresholdError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Conflict, Code: "change_threshold_exceeded", Message: e.Error(), Details: e.Details()}
}

// Details gives the figures to the API.
func (e *ChangeThresholdError) Details() map[string]any {
	return map[string]any{"changed": e.Changed, "deactivated": e.Deactivated, "existing": e.Accounts, "percent": e.Percent(), "threshold_percent": e.Threshold}
}

// ChunkDoneError: a chunk of the commit was applied already (a job ran
// again after a crash); it is not counted twice.
type ChunkDoneError struct{ Chunk int }

func (e *ChunkDoneError) Error() string {
	return fmt.Sprintf("chunk %d of the commit is applied already", e.Chunk)
}
