package account

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

var (
	orgA, orgB         = uuid.New(), uuid.New()
	groupRed, groupBlu = uuid.New(), uuid.New()
	changeNow          = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)
)

func person(t *testing.T, org uuid.UUID, email string, role tenancy.Role, group uuid.UUID) *Account {
	t.Helper()
	e, err := NewEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Create(New{ID: uuid.New(), OrgID: org, Email: e, FirstName: "F", LastName: "L", Role: role, GroupID: group}, changeNow)
	if err != nil {
		t.Fatal(err)
	}
	return Rehydrate(a.PendingEvents())
}

func actorOf(a *Account) tenancy.Actor {
	return tenancy.Actor{ID: a.ID(), OrgID: a.OrgID(), Email: a.Email().String(), Role: a.Role(), GroupID: a.GroupID()}
}

func codeOf(err error) string {
	if err == nil {
		return ""
	}
	if f, ok := failure.As(err); ok {
		return f.Code
	}
	return "untyped: " + err.Error()
}

func mustEmail(t *testing.T, s string) Email {
	t.Helper()
	e, err := NewEmail(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// Given an account and who asks, when the email change is requested, then
// a request for the new address or the refusal's code.
func TestRequestEmailChange(t *testing.T) {
	user := person(t, orgA, "ana@a.org", tenancy.RoleUser, groupRed)
	otherGroupUser := person(t, orgA, "bo@a.org", tenancy.RoleUser, groupBlu)
	groupAdmin := person(t, orgA, "gina@a.org", tenancy.RoleAdmin, groupRed)
	otherGroupAdmin := person(t, orgA, "gus@a.org", tenancy.RoleAdmin, groupRed)
	root := person(t, orgA, "root@a.org", tenancy.RoleSystemAdmin, uuid.Nil)
	otherRoot := person(t, orgA, "root2@a.org", tenancy.RoleSystemAdmin, uuid.Nil)
	foreignRoot := person(t, orgB, "root@b.org", tenancy.RoleSystemAdmin, uuid.Nil)
	elsewhere := person(t, orgB, "taken@b.org", tenancy.RoleUser, uuid.Nil)
	deactivated := person(t, orgA, "gone@a.org", tenancy.RoleUser, groupRed)
	deactivated.apply(AccountDeactivated{AccountID: deactivated.ID()})

	tests := []struct {
		name    string
		actor   *Account
		target  *Account
		to      string
		holder  *Account
		wantErr string
	}{
		{"the person themself", user, user, "ana.new@a.org", nil, ""},
		{"a system administrator themself", root, root, "root.new@a.org", nil, ""},
		{"a system administrator, a user", root, user, "ana.new@a.org", nil, ""},
		{"a system administrator, an administrator", root, groupAdmin, "gina.new@a.org", nil, ""},
		{"a system administrator, another system administrator", root, otherRoot, "x@a.org", nil, "not_allowed_to_change"},
		{"a group administrator, a user of their group", groupAdmin, user, "ana.new@a.org", nil, ""},
		{"a group administrator, a user of another group", groupAdmin, otherGroupUser, "bo.new@a.org", nil, "not_allowed_to_change"},
		{"a group administrator, another administrator of their group", groupAdmin, otherGroupAdmin, "gus.new@a.org", nil, "not_allowed_to_change"},
		{"a group administrator, a system administrator", groupAdmin, root, "r@a.org", nil, "not_allowed_to_change"},
		{"a user, another user", user, otherGroupUser, "bo.new@a.org", nil, "not_allowed_to_change"},
		{"another organization's system administrator", foreignRoot, user, "ana.new@a.org", nil, "not_allowed_to_change"},
		{"an address held in another organization", user, user, "TAKEN@b.org", elsewhere, "email_unavailable"},
		{"an address held in the same organization", root, user, "bo@a.org", otherGroupUser, "email_unavailable"},
		{"the same address", user, user, "ana@a.org", user, "email_unchanged"},
		{"the same address in other letters", user, user, "ANA@A.ORG", user, "email_unchanged"},
		{"no address", user, user, "", nil, "invalid_value"},
		{"a deactivated account", root, deactivated, "gone.new@a.org", nil, "account_deactivated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var to Email
			if tt.to != "" {
				to = mustEmail(t, tt.to)
			}
			// The table's accounts are shared by its cases: what this
			// request recorded is what follows the earlier cases' events.
			before := len(tt.target.PendingEvents())
			req, err := tt.target.RequestEmailChange(actorOf(tt.actor), to, tt.holder, changeNow)
			recorded := tt.target.PendingEvents()[before:]
			if got := codeOf(err); got != tt.wantErr {
				t.Fatalf("error %q, want %q (%v)", got, tt.wantErr, err)
			}
			if err != nil {
				if len(recorded) != 0 {
					t.Fatalf("a refused request recorded %v", recorded)
				}
				return
			}
			want := EmailChangeRequest{AccountID: tt.target.ID(), OrgID: tt.target.OrgID(), From: tt.target.Email(), To: to,
				RequestedBy: tt.actor.ID(), ExpiresAt: changeNow.Add(24 * time.Hour)}
			if req != want {
				t.Fatalf("request %+v, want %+v", req, want)
			}
			// Recorded for the audit trail; the email itself changes on
			// confirmation only.
			asked := EmailChangeRequested{AccountID: want.AccountID, From: want.From.String(), To: want.To.String(), RequestedBy: want.RequestedBy,
				ExpiresAt: want.ExpiresAt, RequestedAt: changeNow.UTC()}
			if len(recorded) != 1 || recorded[0] != asked {
				t.Fatalf("recorded %#v, want %#v", recorded, asked)
			}
			if tt.target.Email() != want.From {
				t.Fatalf("the email is %s before any confirmation", tt.target.Email())
			}
		})
	}
}

// The address unavailable to a changed email reads as it does at import,
// where an address held in another organization is refused.
func TestEmailUnavailableReadsAsAtImport(t *testing.T) {
	holder := person(t, orgB, "taken@b.org", tenancy.RoleUser, uuid.Nil)
	user := person(t, orgA, "ana@a.org", tenancy.RoleUser, uuid.Nil)
	to := mustEmail(t, "taken@b.org")
	_, err := user.RequestEmailChange(actorOf(user), to, holder, changeNow)
	f, _ := failure.As(err)
	d := Decide(ImportTerms{Importer: tenancy.Actor{ID: uuid.New(), OrgID: orgA, Role: tenancy.RoleSystemAdmin}}, ImportRow{Email: to}, holder)
	if f == nil || d.Refusal.Code != f.Code || d.Refusal.Message != f.Message {
		t.Fatalf("email change says %v, import says %+v", err, d.Refusal)
	}
}

// Given a request, when its link is followed at some time, with the address
// held by someone or not, then EmailChanged or the refusal's code.
func TestConfirmEmailChange(t *testing.T) {
	requester := uuid.New()
	tests := []struct {
		name        string
		at          time.Duration // after the request
		used        bool
		changedTo   string // the account's email changed to this meanwhile
		takenBy     bool   // another account took the address meanwhile
		deactivated bool   // the account was deactivated meanwhile
		wantErr     string
	}{
		{"followed at once", time.Minute, false, "", false, false, ""},
		{"followed just before it expires", 24*time.Hour - time.Second, false, "", false, false, ""},
		{"followed when it expires", 24 * time.Hour, false, "", false, false, "link_expired"},
		{"followed a day late", 48 * time.Hour, false, "", false, false, "link_expired"},
		{"followed again", time.Minute, true, "", false, false, "link_used"},
		{"the email changed meanwhile", time.Minute, false, "other@a.org", false, false, "link_outdated"},
		{"the address was taken meanwhile", time.Minute, false, "", true, false, "email_unavailable"},
		{"the account was deactivated meanwhile", time.Minute, false, "", false, true, "account_deactivated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := person(t, orgA, "ana@a.org", tenancy.RoleUser, uuid.Nil)
			to := mustEmail(t, "Ana.New@a.org")
			req := EmailChangeRequest{AccountID: a.ID(), OrgID: orgA, From: a.Email(), To: to, RequestedBy: requester,
				ExpiresAt: changeNow.Add(EmailChangeLifetime)}
			if tt.used {
				req.UsedAt = changeNow.Add(time.Second)
			}
			if tt.changedTo != "" {
				a.apply(EmailChanged{AccountID: a.ID(), From: "ana@a.org", To: tt.changedTo})
			}
			if tt.deactivated {
				a.apply(AccountDeactivated{AccountID: a.ID()})
			}
			var holder *Account
			if tt.takenBy {
				holder = person(t, orgB, "ana.new@a.org", tenancy.RoleUser, uuid.Nil)
			}
			before := a.Email()
			err := a.ConfirmEmailChange(req, holder, changeNow.Add(tt.at))
			if got := codeOf(err); got != tt.wantErr {
				t.Fatalf("error %q, want %q (%v)", got, tt.wantErr, err)
			}
			if err != nil {
				if len(a.PendingEvents()) != 0 || a.Email() != before {
					t.Fatalf("a refused confirmation changed the account: %v, %s", a.PendingEvents(), a.Email())
				}
				if f, _ := failure.As(err); f.Message == "" {
					t.Fatal("a refusal without a sentence")
				}
				return
			}
			want := EmailChanged{AccountID: a.ID(), From: "ana@a.org", To: "Ana.New@a.org", RequestedBy: requester, ChangedAt: changeNow.Add(tt.at)}
			if got := a.PendingEvents(); len(got) != 1 || got[0] != want {
				t.Fatalf("events %v, want %v", got, want)
			}
			if a.Email() != to || a.Snapshot().Email != "Ana.New@a.org" {
				t.Fatalf("email after the change: %s", a.Email())
			}
			if Rehydrate([]any{AccountCreated{AccountID: a.ID(), OrgID: orgA, Email: "ana@a.org"}, want}).Email() != to {
				t.Fatal("replaying EmailChanged does not change the email")
			}
		})
	}
}
