package importsession

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

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
	uploaded  = FileUploaded{ImportID: importID, OrgID: org, ActorID: sysAdmin.ID, Source: SourceCSV, Headers: headers, AccountType: AccountTypeUsers, UploadedAt: now}
	mapped    = ColumnsMapped{Mapping: map[string]string{"First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail, "Class": FieldIgnore}, MappedAt: now}
	defaulted = DefaultsChosen{PasswordSet: true, ForcePasswordChange: true, ChosenAt: now}
	started   = ValidationStarted{StartedAt: now}
	validated = RowsValidated{Total: 250, New: 200, Existing: 30, Invalid: 20, ValidatedAt: now}
	committed = ImportCommitted{ExpectedNew: 200, ExpectedExisting: 30, CommittedAt: now}
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
			func(imp *Import) error { return imp.Commit(sysAdmin, now) },
			nil, new(*VerificationIncompleteError)},
		{"commit after skipping verification", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, now) },
			[]any{committed}, nil},
		{"commit after viewing every page", []any{uploaded, mapped, defaulted, started, validated,
			VerificationPageViewed{Page: 1}, VerificationPageViewed{Page: 2}, VerificationPageViewed{Page: 3}},
			func(imp *Import) error { return imp.Commit(sysAdmin, now) },
			[]any{committed}, nil},
		{"commit with nothing to import", []any{uploaded, mapped, defaulted, started, RowsValidated{Total: 3, Invalid: 3}, VerificationSkipped{}},
			func(imp *Import) error { return imp.Commit(sysAdmin, now) },
			nil, new(*NothingToImportError)},
		{"revalidating clears verification", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, defaulted, started, validated},
			func(imp *Import) error { return imp.Commit(sysAdmin, now) },
			nil, new(*VerificationIncompleteError)},
		{"cancel before commit", []any{uploaded, mapped},
			func(imp *Import) error { return imp.Cancel(sysAdmin, now) },
			[]any{ImportCancelled{CancelledAt: now}}, nil},
		{"no cancel while committing", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed},
			func(imp *Import) error { return imp.Cancel(sysAdmin, now) },
			nil, new(*WrongStepError)},
		{"no commit twice", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed},
			func(imp *Import) error { return imp.Commit(sysAdmin, now) },
			nil, new(*WrongStepError)},
		{"complete", []any{uploaded, mapped, defaulted, started, validated, VerificationSkipped{}, committed},
			func(imp *Import) error {
				return imp.Complete(ImportCompleted{Created: 200, Updated: 30, CompletedAt: now})
			},
			[]any{ImportCompleted{Created: 200, Updated: 30, CompletedAt: now}}, nil},
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
