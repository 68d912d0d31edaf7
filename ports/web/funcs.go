package web

import (
	"html/template"
	"strings"
	"time"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
)

// funcs are the helpers every template may call.
var funcs = template.FuncMap{
	"title":   capitalise,
	"percent": percent,
	"add":     func(a, b int) int { return a + b },
	"sub":     func(a, b int) int { return a - b },
	"when":    when,
	"day":     day,
	"field":   query.FieldLabel,
	"step":    stepLabel,
	"state":   stateLabel,
	"steps":   func() []wizardStep { return wizardSteps },
	"mul":     func(a, b int) int { return a * b },
	"join":    func(s []string) string { return strings.Join(s, ", ") },
	"cell": func(value string, problems []query.Problem, change query.Change) cellView {
		return cellView{Value: value, Problems: problems, Change: change}
	},
	"failure":   failureLabel,
	"hasPrefix": strings.HasPrefix,
}

// failureLabel explains why the commit could not apply a row that passed
// the check: something changed between the check and the commit.
func failureLabel(code string) string {
	switch code {
	case "email_taken":
		return "Another import or person created an account with this email in the meantime."
	case "email_unavailable":
		return "The email cannot be used here any more: another account took it in the meantime."
	case "not_allowed_to_change":
		return "The account left your reach in the meantime (moved to another group, or made an administrator); it was not changed."
	case "email_duplicate_in_file":
		return "The email is on another row of this file too."
	case "account_gone":
		return "The existing account was removed in the meantime."
	case "password_missing":
		return "The row has no password and the import has no default password."
	case "invalid":
		return "The row is not valid any more."
	}
	return code
}

// cellView is a table cell with the problems found in it, or the change
// the row makes to it.
type cellView struct {
	Value    string
	Problems []query.Problem
	Change   query.Change
}

// wizardStep is one stage in the wizard's progress list.
type wizardStep struct{ Key, Label string }

var wizardSteps = []wizardStep{{"upload", "Upload"}, {"mapping", "Columns"}, {"defaults", "Defaults"},
	{"verification", "Review"}, {"commit", "Create accounts"}}

// capitalise writes a step name as a heading word: "verification" → "Verification".
func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// percent is done of total as a whole percentage; an empty job is complete.
func percent(done, total int) int {
	if total <= 0 {
		return 100
	}
	return min(100, done*100/total)
}

// when is how the pages write a moment: the server's zone, to the minute.
// day is a date as people say it: "3 March", with the year when it is not
// this year's.
func day(t time.Time) string {
	if t.Year() == time.Now().Year() {
		return t.Format("2 January")
	}
	return t.Format("2 January 2006")
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2 Jan 2006 15:04")
}

// stepLabel names a wizard step for a person.
func stepLabel(step importsession.Step) string {
	switch step {
	case importsession.StepMapping:
		return "Match the columns"
	case importsession.StepDefaults:
		return "Choose the defaults"
	case importsession.StepValidation:
		return "Check the rows"
	case importsession.StepVerification:
		return "Review the rows"
	case importsession.StepCommit:
		return "Creating the accounts"
	case importsession.StepDone:
		return "Done"
	}
	return capitalise(string(step))
}

// stateLabel names an import's state for a person.
func stateLabel(state importsession.State) string {
	switch state {
	case importsession.StateUploaded:
		return "Uploaded"
	case importsession.StateMapped:
		return "Columns matched"
	case importsession.StateDefaultsChosen:
		return "Defaults chosen"
	case importsession.StateValidating:
		return "Checking the rows"
	case importsession.StateValidated:
		return "Checked, waiting for review"
	case importsession.StateCommitting:
		return "Creating the accounts"
	case importsession.StateCompleted:
		return "Completed"
	case importsession.StateFailed:
		return "Failed"
	case importsession.StateCancelled:
		return "Cancelled"
	case importsession.StateUndoing:
		return "Being undone"
	case importsession.StateUndone:
		return "Undone"
	}
	return capitalise(string(state))
}
