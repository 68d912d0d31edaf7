package eventcodec

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
)

// An AccountUpdated stored with the first schema reads as the change it was.
func TestAccountUpdatedV1ReadsAsItsChanges(t *testing.T) {
	acc, imp, group, tag := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		payload string
		want    account.AccountUpdated
	}{
		{"group and tags", `{"AccountID":"` + acc.String() + `","ImportID":"` + imp.String() + `","ImportRow":4,"PasswordChanged":true,` +
			`"GroupChanged":true,"GroupID":"` + group.String() + `","TagIDsAdded":["` + tag.String() + `"],"UpdatedAt":"2026-11-20T10:00:00Z"}`,
			account.AccountUpdated{AccountID: acc, ImportID: imp, ImportRow: 4, PasswordReplaced: true, Group: &account.GroupChange{To: group},
				TagsAdded: []uuid.UUID{tag}, UpdatedAt: at}},
		{"nothing but the password", `{"AccountID":"` + acc.String() + `","ImportID":"` + imp.String() + `","ImportRow":5,"PasswordChanged":true,` +
			`"GroupChanged":false,"GroupID":"00000000-0000-0000-0000-000000000000","TagIDsAdded":[],"UpdatedAt":"2026-11-20T10:00:00Z"}`,
			account.AccountUpdated{AccountID: acc, ImportID: imp, ImportRow: 5, PasswordReplaced: true, TagsAdded: []uuid.UUID{}, UpdatedAt: at}},
	}
	reg := Rollcall()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := reg.Decode("AccountUpdated", 1, []byte(tt.payload))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if _, version, _, err := reg.Encode(account.AccountUpdated{}); err != nil || version != 2 {
		t.Fatalf("AccountUpdated is written with schema %d (%v), want 2", version, err)
	}
}
