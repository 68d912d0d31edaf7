package importsession

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Re-syncing a Google Classroom class: the students imported from it
// before who are no longer in it have departed. The validation lists them
// on the import (DepartedFound); the importer may choose to deactivate them
// at the commit (Defaults.DeactivateDeparted, off unless chosen).

// MaxDeparted bounds the departed students an event lists; Total counts
// them all.
const MaxDeparted = 1000

// RosterMember is a student an earlier completed import of the class
// imported, as that import's roster had them.
type RosterMember struct {
	Email, FirstName, LastName string
}

// DepartedPerson is a student who left a class, as the review lists them.
type DepartedPerson struct {
	Email string
	Name  string
}

// Roster is what the departed are found from.
type Roster struct {
	// Earlier are the members of the class (of any class the import
	// re-syncs) in earlier completed imports of the organization, the most
	// recent import's first.
	Earlier []RosterMember
	// InImport reports whether an email key is a row of this import, in
	// any of its classes and whatever the row's status: a student still in
	// the class, or moved to another class re-synced with it, has not left.
	InImport func(key string) bool
	// Elsewhere reports whether an email key is in the latest completed
	// import of a class this import does not re-sync: a student who left
	// this class but is still in another is not deactivated with it.
	Elsewhere func(key string) bool
	// Holder is the account that holds an email key now (nil: none).
	Holder func(key string) *account.Account
}

// FindDeparted lists, by email, the students of earlier imports of the
// class who are in none of the classes now and whose account the importer
// could deactivate: it exists in the organization, is active, and is within
// the importer's reach (account.Departable). A student who never got an
// account (their row was invalid) has nothing to deactivate.
func FindDeparted(r Roster, importer tenancy.Actor) []DepartedPerson {
	seen := map[string]bool{}
	var out []DepartedPerson
	for _, m := range r.Earlier {
		key := account.EmailKey(m.Email)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		if r.InImport(key) || r.Elsewhere(key) {
			continue
		}
		h := r.Holder(key)
		if h == nil || !h.Departable(importer) {
			continue
		}
		out = append(out, DepartedPerson{Email: h.Email().String(), Name: strings.TrimSpace(h.FirstName() + " " + h.LastName())})
	}
	slices.SortFunc(out, func(a, b DepartedPerson) int {
		return cmp.Compare(account.EmailKey(a.Email), account.EmailKey(b.Email))
	})
	return out
}

// DepartedFound: the validation of a re-sync found students who left the
// class since it was last imported (the first MaxDeparted; Total counts
// all).
type DepartedFound struct {
	Departed []DepartedPerson
	Total    int
	FoundAt  time.Time
}

// afterCorrection drops the students a corrected row now names: a row
// whose email was fixed on the review (Google hid it, or it was mistyped)
// puts its student back in the class, and the commit must not deactivate
// someone the import includes. A correction that takes an email out of the
// roster adds nobody: a student is deactivated only when the review listed
// them.
func (d DepartedFound) afterCorrection(c RowCorrected) DepartedFound {
	for _, ch := range c.Changes {
		if ch.Field != FieldEmail {
			continue
		}
		key := account.EmailKey(ch.To)
		if i := slices.IndexFunc(d.Departed, func(p DepartedPerson) bool { return account.EmailKey(p.Email) == key }); i >= 0 && key != "" {
			d.Departed = slices.Delete(slices.Clone(d.Departed), i, i+1)
			d.Total--
		}
	}
	return d
}

// DeactivateDepartedChosen: on the review, the importer chose whether the
// commit deactivates the departed students. It changes no row, so the rows
// need no second check.
type DeactivateDepartedChosen struct {
	Deactivate bool
	ChosenAt   time.Time
}

// DeparturesDeactivated: the commit deactivated the departed students'
// accounts (Deactivated); NotAllowed were out of the importer's reach by
// then, and the others were inactive already.
type DeparturesDeactivated struct {
	Deactivated int
	NotAllowed  int
	// AccountIDs are the accounts deactivated, for an undo (at most
	// MaxDeparted).
	AccountIDs []uuid.UUID
	At         time.Time
}

// DeparturesUndone: the undo of the re-sync reactivated the departed
// students' accounts it had deactivated (Reactivated); Kept had been
// reactivated or deactivated again since, and were left as they are.
type DeparturesUndone struct {
	Reactivated int
	Kept        int
	At          time.Time
}

func (DepartedFound) EventType() string            { return "DepartedFound" }
func (DeactivateDepartedChosen) EventType() string { return "DeactivateDepartedChosen" }
func (DeparturesDeactivated) EventType() string    { return "DeparturesDeactivated" }
func (DeparturesUndone) EventType() string         { return "DeparturesUndone" }

// RecordDeparted stores the departed students the validation found; only
// a Google Classroom import has any.
func (imp *Import) RecordDeparted(departed []DepartedPerson, now time.Time) error {
	if err := imp.requireOwnState(StateValidating); err != nil {
		return err
	}
	if imp.source != SourceClassroom {
		return fmt.Errorf("importsession: only a Google Classroom import has departed students")
	}
	if len(departed) == 0 {
		return nil
	}
	imp.record(DepartedFound{Departed: slices.Clone(departed[:min(len(departed), MaxDeparted)]), Total: len(departed), FoundAt: now.UTC()})
	return nil
}

// Departed are the students who left the re-synced classes, as the
// validation found them.
func (imp *Import) Departed() DepartedFound { return imp.departed }

// ChooseDeactivateDeparted says, on the review, whether the commit
// deactivates the departed students.
func (imp *Import) ChooseDeactivateDeparted(actor tenancy.Actor, deactivate bool, now time.Time) error {
	if err := imp.requireState(actor, StateValidated); err != nil {
		return err
	}
	if deactivate && imp.source != SourceClassroom {
		return errNoDeparted
	}
	if imp.defaults.DeactivateDeparted != deactivate {
		imp.record(DeactivateDepartedChosen{Deactivate: deactivate, ChosenAt: now.UTC()})
	}
	return nil
}

// ErrDeparturesDone: the commit deactivated the departed students already
// (a job ran again after a crash); they are not counted twice.
var ErrDeparturesDone = errors.New("importsession: what is done to the departed students is recorded already")

var errNoDeparted = &InvalidValueError{"Only a Google Classroom import re-syncs a class: a file has no departed students to deactivate."}

// DeparturesToApply are the departed students the commit is to deactivate
// now: those found, when the importer chose to, once.
func (imp *Import) DeparturesToApply() []DepartedPerson {
	if imp.state != StateCommitting || !imp.defaults.DeactivateDeparted || !imp.departures.At.IsZero() {
		return nil
	}
	return slices.Clone(imp.departed.Departed)
}

// RecordDepartures stores what the commit did to the departed students'
// accounts, once.
func (imp *Import) RecordDepartures(d DeparturesDeactivated) error {
	if err := imp.requireOwnState(StateCommitting); err != nil {
		return err
	}
	if !imp.departures.At.IsZero() {
		return ErrDeparturesDone
	}
	imp.record(d)
	return nil
}

// DeparturesToUndo are the accounts the undone re-sync deactivated as
// departed, for the undo to reactivate, once.
func (imp *Import) DeparturesToUndo() []uuid.UUID {
	if imp.state != StateUndoing || len(imp.departures.AccountIDs) == 0 || !imp.departuresUndone.At.IsZero() {
		return nil
	}
	return slices.Clone(imp.departures.AccountIDs)
}

// RecordDeparturesUndone stores what the undo did to the departed
// students' accounts, once.
func (imp *Import) RecordDeparturesUndone(d DeparturesUndone) error {
	if err := imp.requireOwnState(StateUndoing); err != nil {
		return err
	}
	if !imp.departuresUndone.At.IsZero() {
		return ErrDeparturesDone
	}
	imp.record(d)
	return nil
}
