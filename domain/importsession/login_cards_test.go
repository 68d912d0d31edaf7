package importsession

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Given these events, when the defaults or the download, then these events
// or this failure (by its code and kind, as the API answers it).
func TestLoginCards(t *testing.T) {
	generating := DefaultsChosen{GeneratePasswords: true, ForcePasswordChange: true, ChosenAt: now}
	completed := ImportCompleted{Created: 200, CompletedAt: now.Add(time.Minute)}
	later := now.Add(2 * time.Hour)
	importerAdmin := FileUploaded{ImportID: importID, OrgID: org, ActorID: admin.ID, ActorEmail: admin.Email, ActorGroupID: groupA,
		ActorRole: string(tenancy.RoleAdmin), Source: SourceCSV, Headers: headers, AccountType: AccountTypeUsers, UploadedAt: now}
	otherAdmin := tenancy.Actor{ID: uuid.New(), OrgID: org, Email: "bo@school.org", Role: tenancy.RoleAdmin, GroupID: groupA}
	withPasswordColumn := ColumnsMapped{Mapping: map[string]string{"First Name": FieldFirstName, "Last Name": FieldLastName, "Email": FieldEmail, "Class": FieldPassword}, MappedAt: now}
	done := func(first FileUploaded, d DefaultsChosen) []any {
		return []any{first, mapped, d, started, validated, VerificationSkipped{}, committed, completed}
	}
	download := func(actor tenancy.Actor, at time.Time) func(*Import) error {
		return func(imp *Import) error { return imp.DownloadLoginCards(actor, 200, at) }
	}
	tests := []struct {
		name     string
		given    []any
		when     func(*Import) error
		then     []any
		wantCode string
		wantKind failure.Kind
	}{
		{"generating passwords forces the change at first sign-in", []any{uploaded, mapped},
			func(imp *Import) error { return imp.ChooseDefaults(sysAdmin, Defaults{GeneratePasswords: true}, now) },
			[]any{generating}, "", 0},
		{"not with a default password as well", []any{uploaded, mapped},
			func(imp *Import) error {
				return imp.ChooseDefaults(sysAdmin, Defaults{GeneratePasswords: true, PasswordSet: true}, now)
			},
			nil, "invalid_value", failure.Unprocessable},
		{"not with a password column", []any{uploaded, withPasswordColumn},
			func(imp *Import) error { return imp.ChooseDefaults(sysAdmin, Defaults{GeneratePasswords: true}, now) },
			nil, "invalid_value", failure.Unprocessable},
		{"the importer downloads the cards: an event says who and when", done(uploaded, generating), download(sysAdmin, later),
			[]any{LoginCardsDownloaded{ByActor: sysAdmin.ID, ByEmail: sysAdmin.Email, Cards: 200, DownloadedAt: later}}, "", 0},
		{"a group administrator who imported downloads their own", done(importerAdmin, generating), download(admin, later),
			[]any{LoginCardsDownloaded{ByActor: admin.ID, ByEmail: admin.Email, Cards: 200, DownloadedAt: later}}, "", 0},
		{"a system administrator who did not import is refused, not misled", done(importerAdmin, generating), download(sysAdmin, later),
			nil, "forbidden", failure.Forbidden},
		{"another administrator of the same group finds no such import", done(importerAdmin, generating), download(otherAdmin, later),
			nil, "not_found", failure.NotFound},
		{"another organization finds no such import", done(uploaded, generating), download(otherOrg, later),
			nil, "not_found", failure.NotFound},
		{"an import that did not generate passwords has no cards", done(uploaded, defaulted), download(sysAdmin, later),
			nil, "no_login_cards", failure.NotFound},
		{"not while committing", []any{uploaded, mapped, generating, started, validated, VerificationSkipped{}, committed}, download(sysAdmin, later),
			nil, "wrong_wizard_step", failure.Conflict},
		{"one second before the 24 hours are over", done(uploaded, generating), download(sysAdmin, now.Add(LoginCardsLifetime-time.Second)),
			[]any{LoginCardsDownloaded{ByActor: sysAdmin.ID, ByEmail: sysAdmin.Email, Cards: 200, DownloadedAt: now.Add(LoginCardsLifetime - time.Second)}}, "", 0},
		{"gone 24 hours after the commit", done(uploaded, generating), download(sysAdmin, now.Add(LoginCardsLifetime)),
			nil, "gone", failure.Gone},
		{"gone once the import is undone", append(done(uploaded, generating), UndoStarted{ByActor: sysAdmin.ID, Chunks: 1, ChunkRows: 100, StartedAt: later}),
			download(sysAdmin, later), nil, "gone", failure.Gone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			imp := Rehydrate(tt.given)
			err := tt.when(imp)
			if tt.wantCode != "" {
				f, ok := failure.As(err)
				if !ok || f.Code != tt.wantCode || f.Kind != tt.wantKind {
					t.Fatalf("err = %v (%T), want code %s kind %d", err, err, tt.wantCode, tt.wantKind)
				}
				if len(imp.PendingEvents()) != 0 {
					t.Fatalf("a refused command recorded %v", imp.PendingEvents())
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !reflect.DeepEqual(imp.PendingEvents(), tt.then) {
				t.Fatalf("events = %#v\nwant     %#v", imp.PendingEvents(), tt.then)
			}
		})
	}
}

func TestLoginCardsExpireADayAfterTheCommit(t *testing.T) {
	imp := Rehydrate([]any{uploaded, mapped, DefaultsChosen{GeneratePasswords: true, ForcePasswordChange: true}, started, validated, VerificationSkipped{}, committed})
	if got, want := imp.LoginCardsExpireAt(), committed.CommittedAt.Add(24*time.Hour); !got.Equal(want) {
		t.Errorf("expire at %v, want %v", got, want)
	}
	if !imp.GeneratesPasswords() || !imp.Terms(false).GeneratePasswords || !imp.Terms(false).MustChangePassword {
		t.Error("the terms do not say the passwords are generated and must be changed")
	}
	var gone *LoginCardsGoneError
	if err := LoginCardsExpired(imp.LoginCardsExpireAt()); !errors.As(error(err), &gone) || err.Failure().Kind != failure.Gone {
		t.Errorf("LoginCardsExpired = %v", err)
	}
}
