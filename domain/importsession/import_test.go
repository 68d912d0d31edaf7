package importsession

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
)

var (
	now       = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	org       = uuid.MustParse("00000000-0000-0000-0000-00000000000a")
	importID  = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	groupA    = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	sysAdmin  = tenancy.Actor{ID: uuid.MustParse("00000000-0000-0000-0000-000000000001"), OrgID: org, Email: "root@school.org", Role: tenancy.RoleSystemAdmin}
	admin     = tenancy.Actor{ID: uuid.MustParse("00000000-0000-0000-0000-000000000002"), OrgID: org, Email: "ada@school.org", Role: tenancy.RoleAdmin, GroupID: groupA}
	otherOrg  = tenancy.Actor{ID: uuid.MustParse("00000000-0000-0000-0000-000000000003"), OrgID: uuid.New(), Role: tenancy.RoleSystemAdmin}
	headers   = []string{"First Name", "Last Name", "Email", "Class"}
	uploaded  = FileUploaded{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, ActorRole: string(tenancy.RoleSystemAdmin), Source: SourceCSV, Headers: headers, AccountType: AccountTypeUsers, UploadedAt: now}
	mapped    = ColumnsMapped{Mapping: map[string]string{"First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail, "Class": FieldIgnore}, MappedAt: now}
	defaulted = DefaultsChosen{PasswordSet: true, ForcePasswordChange: true, ChosenAt: now}
	started   = ValidationStarted{StartedAt: now}
	validated = RowsValidated{Total: 250, New: 200, Existing: 30, Invalid: 20, ValidatedAt: now}
	committed = ImportCommitted{ExpectedNew: 200, ExpectedExisting: 30, ExpectedChanged: 30, Chunks: 3, ChunkRows: 100, CommittedAt: now}
	opts      = CommitOptions{ChunkRows: 100}
)

func validMapping(t *testing.T) Mapping {
	m, err := NewMapping(headers, mapped.Mapping, sysAdmin)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Given these events, when this command, then these events or this error.
func TestImportCommands(t *testing.T) {
	tests := []struct {
		name    string
		given   []any
		when    func(imp *Import) error
		then    []any
		wantErr any // a pointer to the expected error type
	}{
		{"map an uploaded file", []any{uploaded},
			func(imp *Import) error { return imp.MapColumns(sysAdmin, validMapping(t), now) },
			[]any{mapped}, nil},
		{"remap after validation goes back", []any{uploaded, mapped, defaulted, started, validated},
			func(imp *Import) error { return imp.MapColumns(sysAdmin, validMapping(t), now) },
			[]any{mapped}, nil},
		{"no mapping while validating", []any{uploaded, mapped, defaulted, started},
			func(imp *Import) error { return imp.MapColumns(sysAdmin, validMapping(t), now) },
			nil, new(*WrongStepError)},
		{"another organization cannot see it", []any{uploaded},
			func(imp *Import) error { return imp.MapColumns(otherOrg, validMapping(t), now) },
			nil, new(*NotFoundError)},
		{"an admin cannot see another importer's import", []any{uploaded},
			func(imp *Import) error { return imp.Cancel(admin, now) },
			nil, new(*NotFoundError)},
		{"defaults after mapping", []any{uploaded, mapped},
			func(imp *Import) error {
				return imp.ChooseDefaults(sysAdmin, Defaults{PasswordSet: true, ForcePasswordChange: true}, now)
			},
			[]any{defaulted}, nil},
		{"defaults before mapping", []any{uploaded},
			func(imp *Import) error { return imp.ChooseDefaults(sysAdmin, Defaults{}, now) },
			nil, new(*WrongStepError)},
		{"start validation", []any{uploaded, mapped, defaulted},
			func(imp *Import) error { return imp.StartValidation(sysAdmin, now) },
			[]any{started}, nil},
		{"validation result", []any{uploaded, mapped, defaulted, started},
			func(imp *Import) error { return imp.RecordValidation(validated) },
			[]any{validated}, nil},
		{"validation failure goes back to defaults", []any{uploaded, mapped, defaulted, started},
			func(imp *Import) error { return imp.FailValidation("file unreadable", now) },
			[]any{ValidationFailed{Reason: "file unreadable", FailedAt: now}}, nil},
		{"existing-accounts policy", []any{uploaded, mapped, defaulted, started, validated},
			func(imp *Import) error {
				return imp.ChooseExistingPolicy(sysAdmin, ExistingPolicy{UpdatePassword: true, UpdateGroup: true})
			},
			[]any{ExistingAccountsPolicyChosen{UpdatePassword: true, UpdateGroup: true}}, nil},
		{"verify a page", []any{uploaded, mapped, defaulted, started, validated},
			func(imp *Import) error { return imp.VerifyPage(sysAdmin, 3) },
			[]any{VerificationPageViewed{Page: 3}}, nil},
		{"verify a page twice records it once", []any{uploaded, mapped, defaulted, started, validated, VerificationPageViewed{Page: 3}},
			func(imp *Import) error { return imp.VerifyPage(sysAdmin, 3) },
			nil, nil},
		{"verify a page out of range", []any{uploaded, mapped, defaulted, started, validated},
			func(imp *Import) error { return imp.VerifyPage(sysAdmin, 4) },
			nil, new(*InvalidValueError)},
		{"commit before verifying", []any{uploaded, mapped, defaulted, started, validated, VerificationPageViewed{Page: 1}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			nil, new(*VerificationIncompleteError)},
		{"commit after skipping verification", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			[]any{committed}, nil},
		{"commit after viewing every page", []any{uploaded, mapped, defaulted, started, validated,
			VerificationPageViewed{Page: 1}, VerificationPageViewed{Page: 2}, VerificationPageViewed{Page: 3}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			[]any{committed}, nil},
		{"commit with nothing to import", []any{uploaded, mapped, defaulted, started, RowsValidated{Total: 3, Invalid: 3}, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			nil, new(*NothingToImportError)},
		{"revalidating clears verification", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, defaulted, started, validated},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			nil, new(*VerificationIncompleteError)},
		{"cancel before commit", []any{uploaded, mapped},
			func(imp *Import) error { return imp.Cancel(sysAdmin, now) },
			[]any{ImportCancelled{CancelledAt: now}}, nil},
		{"no cancel while committing", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed},
			func(imp *Import) error { return imp.Cancel(sysAdmin, now) },
			nil, new(*WrongStepError)},
		{"no commit twice", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			nil, new(*WrongStepError)},
		{"complete adds the chunks up", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed,
			CommitChunkCompleted{Chunk: 0, Done: 100, Created: 90, Updated: 10}, CommitChunkCompleted{Chunk: 2, Done: 30, Created: 20, Updated: 9, Failed: 1,
				FailedRows: []FailedRow{{Row: 240, Email: "x@school.org", Code: "email_taken"}}},
			CommitChunkCompleted{Chunk: 1, Done: 100, Created: 89, Updated: 10, Unchanged: 1}},
			func(imp *Import) error { return imp.Complete(now) },
			[]any{ImportCompleted{Created: 199, Updated: 29, Unchanged: 1, Skipped: 20, Failed: 1,
				FailedRows: []FailedRow{{Row: 240, Email: "x@school.org", Code: "email_taken"}}, CompletedAt: now}}, nil},
		{"not complete while a chunk is left", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed,
			CommitChunkCompleted{Chunk: 0}, CommitChunkCompleted{Chunk: 1}},
			func(imp *Import) error { return imp.Complete(now) },
			nil, new(error)},
		{"a chunk completes once", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed, CommitChunkCompleted{Chunk: 1}},
			func(imp *Import) error { return imp.CompleteChunk(CommitChunkCompleted{Chunk: 1, Created: 5}) },
			nil, new(*ChunkDoneError)},
		{"no progress for a chunk that does not exist", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed},
			func(imp *Import) error { return imp.RecordProgress(CommitProgressed{Chunk: 3}) },
			nil, new(error)},
		{"commit with only unchanged rows: nothing to do", []any{uploaded, mapped, defaulted, started,
			RowsValidated{Total: 3, Existing: 3, ChangedUnder: make([]int, 16)}, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, opts, now) },
			nil, new(*NothingToImportError)},
		{"nothing after cancel", []any{uploaded, ImportCancelled{CancelledAt: now}},
			func(imp *Import) error { return imp.MapColumns(sysAdmin, validMapping(t), now) },
			nil, new(*WrongStepError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(tt.given)
			err := tt.when(imp)
			if tt.wantErr != nil {
				target := reflect.ValueOf(tt.wantErr).Interface()
				if err == nil || !errors.As(err, target) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
				if len(imp.PendingEvents()) != 0 {
					t.Fatalf("a refused command recorded %v", imp.PendingEvents())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(imp.PendingEvents(), tt.then) && !(len(tt.then) == 0 && len(imp.PendingEvents()) == 0) {
				t.Fatalf("events = %#v\nwant     %#v", imp.PendingEvents(), tt.then)
			}
		})
	}
}

func TestAdministratorPermissions(t *testing.T) {
	adminUpload := FileUploaded{ImportID: importID, OrgID: org, ActorID: admin.ID, ActorGroupID: groupA, Source: SourceCSV, Headers: headers, AccountType: AccountTypeUsers, UploadedAt: now}

	// An administrator cannot import administrators.
	_, err := NewImport(admin, Upload{ID: importID, Source: SourceCSV, Headers: headers, AccountType: AccountTypeAdministrators}, now)
	var forbidden *ForbiddenError
	if !errors.As(err, &forbidden) {
		t.Fatalf("admin importing administrators: %v", err)
	}
	// Nor choose a group: their accounts go to their own group.
	imp := Rehydrate([]any{adminUpload, mapped})
	if err := imp.ChooseDefaults(admin, Defaults{GroupID: uuid.New()}, now); !errors.As(err, &forbidden) {
		t.Fatalf("admin choosing a group: %v", err)
	}
	if err := imp.ChooseDefaults(admin, Defaults{PasswordSet: true}, now); err != nil {
		t.Fatal(err)
	}
	if got := imp.Defaults().GroupID; got != groupA {
		t.Fatalf("admin's import goes to group %s, want their own %s", got, groupA)
	}
	// Nor map a group column.
	_, err = NewMapping(headers, map[string]string{"First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail, "Class": FieldGroup}, admin)
	if !errors.As(err, &forbidden) {
		t.Fatalf("admin mapping a group column: %v", err)
	}
	// Welcome emails only where the organization turned them on.
	_, err = NewImport(sysAdmin, Upload{ID: importID, Source: SourceCSV, Headers: headers, SendWelcomeEmail: true}, now)
	var bad *InvalidValueError
	if !errors.As(err, &bad) {
		t.Fatalf("welcome email while disabled: %v", err)
	}
	// A preset is for users only.
	_, err = NewImport(sysAdmin, Upload{ID: importID, Source: SourceCSV, Headers: headers, AccountType: AccountTypeAdministrators, PresetID: uuid.New()}, now)
	if !errors.As(err, &bad) {
		t.Fatalf("preset for administrators: %v", err)
	}
	// Users cannot import at all.
	_, err = NewImport(tenancy.Actor{OrgID: org, Role: tenancy.RoleUser}, Upload{ID: importID, Source: SourceCSV, Headers: headers}, now)
	if !errors.As(err, &forbidden) {
		t.Fatalf("user importing: %v", err)
	}
}

func TestStateAndStep(t *testing.T) {
	imp, err := NewImport(sysAdmin, Upload{ID: importID, Source: SourceCSV, Headers: headers, Rows: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	if imp.State() != StateUploaded || imp.State().Step() != StepMapping || imp.AccountType() != AccountTypeUsers {
		t.Fatalf("new import: %s %s %s", imp.State(), imp.State().Step(), imp.AccountType())
	}
	replayed := Rehydrate(imp.PendingEvents())
	if replayed.State() != StateUploaded || replayed.Version() != 1 || replayed.ID() != importID {
		t.Fatalf("replay: %s v%d %s", replayed.State(), replayed.Version(), replayed.ID())
	}
	if got := replayed.File().SuggestedMapping["Email"]; got != FieldEmail {
		t.Fatalf("suggested mapping of Email = %q", got)
	}
}

// changedUnder counts n changed rows under every policy that updates tags,
// none under the others.
func changedUnderTags(n int) []int {
	out := make([]int, account.Policies)
	for p := range out {
		if account.PolicyFromBits(p).UpdateTags {
			out[p] = n
		}
	}
	return out
}

func TestCountsFollowThePolicy(t *testing.T) {
	imp := Rehydrate([]any{uploaded, mapped, defaulted, started,
		RowsValidated{Total: 100, New: 10, Existing: 80, Invalid: 10, ChangedUnder: changedUnderTags(30), ValidatedAt: now}})
	if c := imp.Counts(); c.Changed != 0 || c.Unchanged != 80 {
		t.Fatalf("nothing ticked: %+v", c)
	}
	if err := imp.ChooseExistingPolicy(sysAdmin, ExistingPolicy{UpdateTags: true}); err != nil {
		t.Fatal(err)
	}
	if c := imp.Counts(); c.Changed != 30 || c.Unchanged != 50 || c.Existing != 80 || c.New != 10 {
		t.Fatalf("tags ticked: %+v", c)
	}
	// A validation recorded before changed rows were counted counts every
	// existing row as changed, never fewer than the truth.
	old := Rehydrate([]any{uploaded, mapped, defaulted, started, RowsValidated{Total: 5, Existing: 5}})
	if c := old.Counts(); c.Changed != 5 || c.Unchanged != 0 {
		t.Fatalf("old validation: %+v", c)
	}
}

func TestChangeThreshold(t *testing.T) {
	given := []any{uploaded, mapped, defaulted, started,
		RowsValidated{Total: 500, New: 10, Existing: 490, ChangedUnder: changedUnderTags(431), ValidatedAt: now},
		ExistingAccountsPolicyChosen{UpdateTags: true}, VerificationSkipped{}}
	tests := []struct {
		name      string
		opts      CommitOptions
		wantErr   bool
		confirmed int
	}{
		{"over the threshold without a confirmation", CommitOptions{ChunkRows: 100, ThresholdPercent: 10, OrgAccounts: 1134}, true, 0},
		{"a wrong number typed", CommitOptions{ChunkRows: 100, ThresholdPercent: 10, OrgAccounts: 1134, ConfirmChanged: 430}, true, 0},
		{"the exact number typed", CommitOptions{ChunkRows: 100, ThresholdPercent: 10, OrgAccounts: 1134, ConfirmChanged: 431}, false, 431},
		{"under the threshold", CommitOptions{ChunkRows: 100, ThresholdPercent: 50, OrgAccounts: 1134}, false, 0},
		{"the guard turned off", CommitOptions{ChunkRows: 100, ThresholdPercent: 0, OrgAccounts: 1134}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(given)
			err := imp.Commit(sysAdmin, tt.opts, now)
			var guard *ChangeThresholdError
			if tt.wantErr {
				if !errors.As(err, &guard) {
					t.Fatalf("err = %v, want a ChangeThresholdError", err)
				}
				if d := guard.Details(); d["changed"] != 431 || d["existing"] != 1134 || d["percent"] != 38 {
					t.Fatalf("details %v", d)
				}
				if !strings.Contains(guard.Error(), "Type 431 to confirm") {
					t.Fatalf("message %q", guard.Error())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c := imp.PendingEvents()[0].(ImportCommitted)
			if c.ConfirmedChanged != tt.confirmed || c.ExpectedChanged != 431 || c.Chunks != 5 {
				t.Fatalf("committed %+v", c)
			}
		})
	}
	// Twenty changes never need a confirmation, even in a small organization.
	small := Rehydrate([]any{uploaded, mapped, defaulted, started,
		RowsValidated{Total: 20, Existing: 20, ChangedUnder: changedUnderTags(20)}, ExistingAccountsPolicyChosen{UpdateTags: true}, VerificationSkipped{}})
	if err := small.Commit(sysAdmin, CommitOptions{ChunkRows: 100, ThresholdPercent: 10, OrgAccounts: 25}, now); err != nil {
		t.Fatalf("20 changes: %v", err)
	}
}

func TestProgressAddsUpChunks(t *testing.T) {
	imp := Rehydrate([]any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed,
		CommitProgressed{Chunk: 0, Done: 40, Created: 40}, CommitProgressed{Chunk: 0, Done: 80, Created: 75, Updated: 5},
		CommitProgressed{Chunk: 2, Done: 10, Created: 10}, CommitChunkCompleted{Chunk: 1, Done: 100, Created: 100}})
	if p := imp.Progress(); p.Done != 190 || p.Created != 185 || p.Updated != 5 || p.Total != 230 {
		t.Fatalf("progress %+v", p)
	}
}

func TestClassroomImportsUpdateNamesByDefault(t *testing.T) {
	imp := Rehydrate([]any{ClassroomRosterFetched{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, ActorRole: string(tenancy.RoleSystemAdmin), People: 3}})
	if p := imp.ExistingPolicy(); !p.UpdateNames || p.UpdatePassword || p.UpdateGroup || p.UpdateTags {
		t.Fatalf("classroom default policy %+v", p)
	}
	if imp.Importer().Role != tenancy.RoleSystemAdmin {
		t.Fatalf("importer %+v", imp.Importer())
	}
	// An upload recorded before the importer's role was: the narrower reach.
	old := uploaded
	old.ActorRole = ""
	if r := Rehydrate([]any{old}).Importer().Role; r != tenancy.RoleAdmin {
		t.Fatalf("old upload's importer role %s", r)
	}
}

func TestUndo(t *testing.T) {
	completed := []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed,
		CommitChunkCompleted{Chunk: 0}, CommitChunkCompleted{Chunk: 1}, CommitChunkCompleted{Chunk: 2},
		ImportCompleted{Created: 200, Updated: 30, CompletedAt: now}}
	otherAdmin := tenancy.Actor{ID: uuid.New(), OrgID: org, Role: tenancy.RoleAdmin, GroupID: groupA}
	const window = 30 * 24 * time.Hour
	tests := []struct {
		name    string
		given   []any
		actor   tenancy.Actor
		at      time.Time
		wantErr any
	}{
		{"the importer, within the window", completed, sysAdmin, now.Add(window - time.Minute), nil},
		{"another system administrator", completed, tenancy.Actor{ID: uuid.New(), OrgID: org, Role: tenancy.RoleSystemAdmin}, now.Add(time.Hour), nil},
		{"past the window", completed, sysAdmin, now.Add(window + time.Minute), new(*UndoWindowClosedError)},
		{"a group administrator who did not run it", completed, otherAdmin, now, new(*NotFoundError)},
		{"another organization", completed, otherOrg, now, new(*NotFoundError)},
		{"an import not completed", completed[:7], sysAdmin, now, new(*WrongStepError)},
		{"twice", append(append([]any{}, completed...), UndoStarted{Chunks: 3, ChunkRows: 100}), sysAdmin, now, new(*WrongStepError)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(tt.given)
			err := imp.Undo(tt.actor, window, 100, tt.at)
			if tt.wantErr != nil {
				if err == nil || !errors.As(err, reflect.ValueOf(tt.wantErr).Interface()) {
					t.Fatalf("err = %v, want %T", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			started := imp.PendingEvents()[0].(UndoStarted)
			if started.ByActor != tt.actor.ID || started.Chunks != 3 || imp.State() != StateUndoing {
				t.Fatalf("undo started %+v, state %s", started, imp.State())
			}
		})
	}
	// The undo completes once every chunk is applied, adding them up.
	imp := Rehydrate(append(append([]any{}, completed...), UndoStarted{Chunks: 2, ChunkRows: 100},
		UndoChunkCompleted{Chunk: 0, Done: 100, Deactivated: 90, Restored: 10, KeptAccounts: []KeptAccount{{Email: "a@b.c", Fields: []string{"group"}}}, Kept: 1}))
	if err := imp.CompleteUndo(now); err == nil {
		t.Fatal("the undo completed with a chunk left")
	}
	if err := imp.CompleteUndoChunk(UndoChunkCompleted{Chunk: 0}); !errors.As(err, new(*ChunkDoneError)) {
		t.Fatalf("a chunk undone twice: %v", err)
	}
	if err := imp.CompleteUndoChunk(UndoChunkCompleted{Chunk: 1, Done: 30, Deactivated: 20, Restored: 10}); err != nil {
		t.Fatal(err)
	}
	if err := imp.CompleteUndo(now); err != nil {
		t.Fatal(err)
	}
	if u := imp.Undone(); u.Deactivated != 110 || u.Restored != 20 || u.Kept != 1 || len(u.KeptAccounts) != 1 || imp.State() != StateUndone {
		t.Fatalf("undone %+v, state %s", u, imp.State())
	}
}
