package importsession

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// departedAccount is an account an earlier import created.
func departedAccount(email, first, last string, role tenancy.Role, group uuid.UUID, active bool) *account.Account {
	return account.FromSnapshot(account.Snapshot{ID: uuid.NewSHA1(org, []byte(email)), OrgID: org, Email: email, FirstName: first, LastName: last,
		Role: role, GroupID: group, Active: active, Version: 1})
}

// Given the class's earlier rosters, this import's rows, the other classes'
// latest rosters and the accounts as they are, then these students have
// departed.
func TestFindDeparted(t *testing.T) {
	groupB := uuid.MustParse("00000000-0000-0000-0000-0000000000c2")
	accounts := map[string]*account.Account{
		"ana@school.org":   departedAccount("ana@school.org", "Ana", "Lima", tenancy.RoleUser, groupA, true),
		"bo@school.org":    departedAccount("Bo@School.org", "Bo", "Ek", tenancy.RoleUser, groupA, true),
		"cy@school.org":    departedAccount("cy@school.org", "Cy", "Noor", tenancy.RoleUser, groupA, true),
		"dee@school.org":   departedAccount("dee@school.org", "Dee", "Fox", tenancy.RoleUser, groupA, false),
		"eve@school.org":   departedAccount("eve@school.org", "Eve", "Gray", tenancy.RoleUser, groupB, true),
		"root2@school.org": departedAccount("root2@school.org", "Ria", "Root", tenancy.RoleSystemAdmin, uuid.Nil, true),
		"fay@school.org":   departedAccount("fay@school.org", "Fay", "Renamed", tenancy.RoleUser, groupA, true),
	}
	member := func(email string) RosterMember { return RosterMember{Email: email, FirstName: "X", LastName: "Y"} }
	set := func(keys ...string) func(string) bool {
		return func(k string) bool { return slices.Contains(keys, k) }
	}
	tests := []struct {
		name      string
		earlier   []RosterMember
		inImport  []string
		elsewhere []string
		importer  tenancy.Actor
		want      []DepartedPerson
	}{
		{"nobody left", []RosterMember{member("ana@school.org"), member("bo@school.org")}, []string{"ana@school.org", "bo@school.org"}, nil, sysAdmin, nil},
		{"one left: listed with the account's email and name", []RosterMember{member("ana@school.org"), member("BO@school.org")}, []string{"ana@school.org"}, nil, sysAdmin,
			[]DepartedPerson{{Email: "Bo@School.org", Name: "Bo Ek"}}},
		{"in an earlier import only, not the last: still departed", []RosterMember{member("ana@school.org"), member("cy@school.org"), member("bo@school.org")},
			[]string{"ana@school.org"}, nil, sysAdmin, []DepartedPerson{{Email: "Bo@School.org", Name: "Bo Ek"}, {Email: "cy@school.org", Name: "Cy Noor"}}},
		{"listed once though in several earlier imports", []RosterMember{member("bo@school.org"), member("bo@school.org")}, nil, nil, sysAdmin,
			[]DepartedPerson{{Email: "Bo@School.org", Name: "Bo Ek"}}},
		{"still in another class we know of: not departed", []RosterMember{member("bo@school.org"), member("cy@school.org")}, nil, []string{"bo@school.org"}, sysAdmin,
			[]DepartedPerson{{Email: "cy@school.org", Name: "Cy Noor"}}},
		{"an account already inactive: nothing to do", []RosterMember{member("dee@school.org")}, nil, nil, sysAdmin, nil},
		{"never got an account (the row was invalid)", []RosterMember{member("ghost@school.org"), {Email: ""}}, nil, nil, sysAdmin, nil},
		{"a system administrator's account is never deactivated", []RosterMember{member("root2@school.org")}, nil, nil, sysAdmin, nil},
		{"a group administrator: only their group's accounts", []RosterMember{member("bo@school.org"), member("eve@school.org")}, nil, nil, admin,
			[]DepartedPerson{{Email: "Bo@School.org", Name: "Bo Ek"}}},
		{"a system administrator: every group", []RosterMember{member("eve@school.org"), member("bo@school.org")}, nil, nil, sysAdmin,
			[]DepartedPerson{{Email: "Bo@School.org", Name: "Bo Ek"}, {Email: "eve@school.org", Name: "Eve Gray"}}},
		{"another organization's importer reaches none", []RosterMember{member("bo@school.org")}, nil, nil, otherOrg, nil},
		{"the name is the account's, as it is now", []RosterMember{{Email: "fay@school.org", FirstName: "Fay", LastName: "Old"}}, nil, nil, sysAdmin,
			[]DepartedPerson{{Email: "fay@school.org", Name: "Fay Renamed"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FindDeparted(Roster{Earlier: tt.earlier, InImport: set(tt.inImport...), Elsewhere: set(tt.elsewhere...),
				Holder: func(k string) *account.Account { return accounts[k] }}, tt.importer)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("departed %+v\nwant     %+v", got, tt.want)
			}
		})
	}
}

// Given a re-sync, when it is validated, reviewed, committed and
// completed, then the departed students are listed, the choice to
// deactivate them is kept, and the summary counts them.
func TestReSyncDepartures(t *testing.T) {
	fetched := ClassroomRosterFetched{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, ActorRole: string(tenancy.RoleSystemAdmin), People: 3,
		Courses: []ClassroomCourse{{ID: "bio", Name: "Biology"}}, FetchedAt: now}
	bo := []DepartedPerson{{Email: "bo@school.org", Name: "Bo Ek"}}
	found := DepartedFound{Departed: bo, Total: 1, FoundAt: now}
	unchanged := RowsValidated{Total: 3, Existing: 3, ChangedUnder: make([]int, account.Policies), ValidatedAt: now}
	deactivating := DefaultsChosen{PasswordSet: true, DeactivateDeparted: true, ChosenAt: now}
	oneChunk := ImportCommitted{ExpectedExisting: 3, Chunks: 1, ChunkRows: 100, CommittedAt: now}
	boID := uuid.MustParse("00000000-0000-0000-0000-0000000000f1")
	tests := []struct {
		name    string
		given   []any
		when    func(imp *Import) error
		then    []any
		wantErr error
	}{
		{"the validation lists the departed", []any{fetched, defaulted, started},
			func(imp *Import) error { return imp.RecordDeparted(bo, now) }, []any{found}, nil},
		{"nobody departed: nothing recorded", []any{fetched, defaulted, started},
			func(imp *Import) error { return imp.RecordDeparted(nil, now) }, nil, nil},
		{"a file has no departed students", []any{uploaded, mapped, defaulted, started},
			func(imp *Import) error { return imp.RecordDeparted(bo, now) }, nil, errors.New("")},
		{"a file cannot deactivate departed students", []any{uploaded, mapped},
			func(imp *Import) error { return imp.ChooseDefaults(sysAdmin, Defaults{DeactivateDeparted: true}, now) }, nil, errNoDeparted},
		{"chosen on the review, without checking the rows again", []any{fetched, defaulted, started, found, unchanged},
			func(imp *Import) error { return imp.ChooseDeactivateDeparted(sysAdmin, true, now) },
			[]any{DeactivateDepartedChosen{Deactivate: true, ChosenAt: now}}, nil},
		{"choosing what is chosen records nothing", []any{fetched, deactivating, started, found, unchanged},
			func(imp *Import) error { return imp.ChooseDeactivateDeparted(sysAdmin, true, now) }, nil, nil},
		{"only departures to apply: worth committing", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) }, []any{oneChunk}, nil},
		{"departures not chosen and nothing else: nothing to import", []any{fetched, defaulted, started, found, unchanged, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) }, nil, &NothingToImportError{Unchanged: 3}},
		{"no completion before the departures are applied", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}, oneChunk,
			CommitChunkCompleted{Chunk: 0, Done: 3, Unchanged: 3}},
			func(imp *Import) error { return imp.Complete(now) }, nil, errors.New("")},
		{"the summary counts the departures", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}, oneChunk,
			CommitChunkCompleted{Chunk: 0, Done: 3, Unchanged: 3}, DeparturesDeactivated{Deactivated: 1, At: now}},
			func(imp *Import) error { return imp.Complete(now) }, []any{ImportCompleted{Unchanged: 3, Deactivated: 1, CompletedAt: now}}, nil},
		{"departures are applied once", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}, oneChunk,
			DeparturesDeactivated{Deactivated: 1, At: now}},
			func(imp *Import) error { return imp.RecordDepartures(DeparturesDeactivated{Deactivated: 1, At: now}) }, nil, ErrDeparturesDone},
		{"an undo reactivates the departed before it ends", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}, oneChunk,
			CommitChunkCompleted{Chunk: 0, Done: 3, Unchanged: 3}, DeparturesDeactivated{Deactivated: 1, AccountIDs: []uuid.UUID{boID}, At: now},
			ImportCompleted{Unchanged: 3, Deactivated: 1, CompletedAt: now}, UndoStarted{Chunks: 1, ChunkRows: 100, StartedAt: now}, UndoChunkCompleted{Chunk: 0}},
			func(imp *Import) error { return imp.CompleteUndo(now) }, nil, errors.New("")},
		{"the undo's outcome counts the departed reactivated", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}, oneChunk,
			CommitChunkCompleted{Chunk: 0, Done: 3, Unchanged: 3}, DeparturesDeactivated{Deactivated: 1, AccountIDs: []uuid.UUID{boID}, At: now},
			ImportCompleted{Unchanged: 3, Deactivated: 1, CompletedAt: now}, UndoStarted{Chunks: 1, ChunkRows: 100, StartedAt: now}, UndoChunkCompleted{Chunk: 0},
			DeparturesUndone{Reactivated: 1, At: now}},
			func(imp *Import) error { return imp.CompleteUndo(now) }, []any{ImportUndone{Reactivated: 1, UndoneAt: now}}, nil},
		{"departures are undone once", []any{fetched, deactivating, started, found, unchanged, VerificationSkipped{}, oneChunk,
			CommitChunkCompleted{Chunk: 0, Done: 3, Unchanged: 3}, DeparturesDeactivated{Deactivated: 1, AccountIDs: []uuid.UUID{boID}, At: now},
			ImportCompleted{Unchanged: 3, Deactivated: 1, CompletedAt: now}, UndoStarted{Chunks: 1, ChunkRows: 100, StartedAt: now}, DeparturesUndone{Reactivated: 1, At: now}},
			func(imp *Import) error { return imp.RecordDeparturesUndone(DeparturesUndone{Reactivated: 1, At: now}) }, nil, ErrDeparturesDone},
		{"validating again forgets the departed found before", []any{fetched, deactivating, started, found, unchanged, started},
			func(imp *Import) error {
				if len(imp.Departed().Departed) != 0 {
					return errors.New("departed kept")
				}
				return nil
			}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(tt.given)
			err := tt.when(imp)
			switch {
			case tt.wantErr != nil && err == nil:
				t.Fatalf("no error, want %v", tt.wantErr)
			case tt.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != nil:
				var nothing *NothingToImportError
				if want, ok := tt.wantErr.(*NothingToImportError); ok && (!errors.As(err, &nothing) || *nothing != *want) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if len(imp.PendingEvents()) != 0 {
					t.Fatalf("a refused command recorded %v", imp.PendingEvents())
				}
				return
			}
			if got := imp.PendingEvents(); !reflect.DeepEqual(got, tt.then) && !(len(got) == 0 && len(tt.then) == 0) {
				t.Fatalf("events = %#v\nwant     %#v", got, tt.then)
			}
		})
	}
}

// The departures the commit applies: chosen, found, not applied yet.
func TestDeparturesToApply(t *testing.T) {
	fetched := ClassroomRosterFetched{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, ActorRole: string(tenancy.RoleSystemAdmin), People: 3, FetchedAt: now}
	found := DepartedFound{Departed: []DepartedPerson{{Email: "bo@school.org", Name: "Bo Ek"}}, Total: 1}
	validatedRows := RowsValidated{Total: 3, New: 1, Existing: 2, ChangedUnder: make([]int, account.Policies)}
	commit := ImportCommitted{ExpectedNew: 1, Chunks: 1, ChunkRows: 100}
	for _, tt := range []struct {
		name  string
		given []any
		want  int
	}{
		{"chosen with the defaults", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows, commit}, 1},
		{"chosen on the review", []any{fetched, defaulted, started, found, validatedRows, DeactivateDepartedChosen{Deactivate: true}, commit}, 1},
		{"not chosen", []any{fetched, defaulted, started, found, validatedRows, commit}, 0},
		{"chosen, then unticked", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows, DeactivateDepartedChosen{}, commit}, 0},
		{"not committed yet", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows}, 0},
		{"applied already", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows, commit, DeparturesDeactivated{Deactivated: 1, At: now}}, 0},
		{"a row corrected to the student's email: in the import, not departed", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows,
			corrected(FieldEmail, "", " BO@School.org"), commit}, 0},
		{"a row corrected to another email", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows,
			corrected(FieldEmail, "", "bob@school.org"), commit}, 1},
		{"a name corrected to the student's email's text", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows,
			corrected(FieldFirstName, "B", "bo@school.org"), commit}, 1},
		{"a student's email corrected away: nobody added", []any{fetched, DefaultsChosen{DeactivateDeparted: true}, started, found, validatedRows,
			corrected(FieldEmail, "cy@school.org", "cy.noor@school.org"), commit}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(tt.given)
			if got := len(imp.DeparturesToApply()); got != tt.want {
				t.Fatalf("%d to apply, want %d", got, tt.want)
			}
			// The review lists and counts what the commit will apply.
			if d := imp.Departed(); len(d.Departed) != d.Total {
				t.Fatalf("the review lists %d and counts %d", len(d.Departed), d.Total)
			}
		})
	}
}

func corrected(field, from, to string) RowCorrected {
	return RowCorrected{Row: 2, Changes: []FieldChange{{Field: field, From: from, To: to}}, StatusBefore: "invalid", StatusAfter: "existing",
		ProblemsBefore: []string{"google_email_hidden"}, CorrectedAt: now}
}

// Deactivating departed students changes existing accounts: a class that
// comes back empty from Classroom (archived, or a roster Google failed to
// list) lists everyone as departed, and the organization's change
// threshold asks for a confirmation before a commit deactivates them.
func TestDeparturesCountAgainstTheChangeThreshold(t *testing.T) {
	fetched := ClassroomRosterFetched{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, ActorRole: string(tenancy.RoleSystemAdmin), People: 5, FetchedAt: now}
	var everyone []DepartedPerson
	for i := range 25 {
		everyone = append(everyone, DepartedPerson{Email: fmt.Sprintf("student%02d@school.org", i), Name: "Student"})
	}
	found := DepartedFound{Departed: everyone, Total: len(everyone), FoundAt: now}
	rows := func(changed int) RowsValidated {
		under := make([]int, account.Policies)
		for i := range under {
			under[i] = changed
		}
		return RowsValidated{Total: 5, Existing: 5, ChangedUnder: under, ValidatedAt: now}
	}
	guard := func(typed int) CommitOptions {
		return CommitOptions{ChunkRows: 100, ThresholdPercent: 10, OrgAccounts: 40, ConfirmChanged: typed}
	}
	deactivating := DefaultsChosen{PasswordSet: true, DeactivateDeparted: true, ChosenAt: now}
	keeping := DefaultsChosen{PasswordSet: true, ChosenAt: now}
	tests := []struct {
		name      string
		given     []any
		opts      CommitOptions
		want      []any
		refused   *ChangeThresholdError
		otherwise error
	}{
		{"deactivating 25 of 40 unconfirmed: refused with the figures", []any{fetched, deactivating, started, found, rows(0), VerificationSkipped{}},
			guard(0), nil, &ChangeThresholdError{Changed: 25, Deactivated: 25, Accounts: 40, Threshold: 10}, nil},
		{"changed rows and departures add up", []any{fetched, deactivating, started, found, rows(3), VerificationSkipped{}},
			guard(25), nil, &ChangeThresholdError{Changed: 28, Deactivated: 25, Accounts: 40, Threshold: 10, Typed: 25}, nil},
		{"the exact number typed", []any{fetched, deactivating, started, found, rows(0), VerificationSkipped{}},
			guard(25), []any{ImportCommitted{ExpectedExisting: 5, ConfirmedChanged: 25, Chunks: 1, ChunkRows: 100, CommittedAt: now}}, nil, nil},
		{"a large organization: under the threshold", []any{fetched, deactivating, started, found, rows(0), VerificationSkipped{}},
			CommitOptions{ChunkRows: 100, ThresholdPercent: 10, OrgAccounts: 1000},
			[]any{ImportCommitted{ExpectedExisting: 5, Chunks: 1, ChunkRows: 100, CommittedAt: now}}, nil, nil},
		{"departures not chosen: nothing to change, nothing to confirm", []any{fetched, keeping, started, found, rows(0), VerificationSkipped{}},
			guard(0), nil, nil, &NothingToImportError{Unchanged: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(tt.given)
			err := imp.Commit(sysAdmin, tt.opts, now)
			var refused *ChangeThresholdError
			switch {
			case tt.refused != nil:
				if !errors.As(err, &refused) || *refused != *tt.refused {
					t.Fatalf("err = %#v, want %#v", err, tt.refused)
				}
				if !strings.Contains(refused.Error(), "25 of them deactivated as students who left the class") {
					t.Fatalf("the sentence does not say what the deactivations are: %s", refused.Error())
				}
			case tt.otherwise != nil:
				if err == nil || err.Error() != tt.otherwise.Error() {
					t.Fatalf("err = %v, want %v", err, tt.otherwise)
				}
			case err != nil:
				t.Fatal(err)
			}
			if got := imp.PendingEvents(); !reflect.DeepEqual(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Fatalf("recorded %#v, want %#v", got, tt.want)
			}
		})
	}
}
