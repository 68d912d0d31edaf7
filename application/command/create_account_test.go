package command_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

func TestCreateAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	lincoln, other := e.org(t, "Lincoln High", false), e.org(t, "Other District", false)
	root := e.actor(t, lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	staff := e.named(t, root, command.Groups, "Staff")
	otherGroup := e.named(t, e.actor(t, other, "root@other.test", tenancy.RoleSystemAdmin, uuid.Nil), command.Groups, "Theirs")

	valid := command.CreateAccount{OrgID: lincoln, Email: "Sam.Staff@Lincoln.test", FirstName: " Sam ", LastName: "Staff",
		Role: "admin", GroupID: staff, Password: secret.New("temporary-pass-1"), MustChangePassword: true}
	with := func(change func(*command.CreateAccount)) command.CreateAccount {
		c := valid
		change(&c)
		return c
	}
	tests := []struct {
		name     string
		cmd      command.CreateAccount
		wantKind failure.Kind
		wantSlug string
	}{
		{"not an email", with(func(c *command.CreateAccount) { c.Email = "sam at lincoln" }), failure.Unprocessable, "invalid_value"},
		{"no such role", with(func(c *command.CreateAccount) { c.Role = "root" }), failure.Unprocessable, "invalid_value"},
		{"short password", with(func(c *command.CreateAccount) { c.Password = secret.New("short") }), failure.Unprocessable, "password_policy"},
		{"common password", with(func(c *command.CreateAccount) { c.Password = secret.New("password1") }), failure.Unprocessable, "password_policy"},
		{"no first name", with(func(c *command.CreateAccount) { c.FirstName = "  " }), failure.Unprocessable, "invalid_value"},
		{"another organization's group", with(func(c *command.CreateAccount) { c.GroupID = otherGroup }), failure.Unprocessable, "invalid_value"},
		{"no such group", with(func(c *command.CreateAccount) { c.GroupID = uuid.New() }), failure.Unprocessable, "invalid_value"},
		{"no such organization", with(func(c *command.CreateAccount) { c.OrgID, c.GroupID = uuid.New(), uuid.Nil }), failure.Unprocessable, "invalid_value"},
	}
	for _, tt := range tests {
		_, err := e.create.Handle(ctx, tt.cmd)
		if err == nil {
			t.Fatalf("%s: created", tt.name)
		}
		t.Run(tt.name, func(t *testing.T) { requireAppError(t, err, tt.wantKind, tt.wantSlug) })
	}
	if n := countEvents(t, e, "AccountCreated"); n != 2 {
		t.Fatalf("%d AccountCreated events after the refusals, want the 2 administrators'", n)
	}

	id, err := e.create.Handle(ctx, valid)
	if err != nil {
		t.Fatal(err)
	}
	login, err := e.tenancy.LoginByEmail(ctx, "sam.staff@lincoln.TEST")
	if err != nil {
		t.Fatal(err)
	}
	if login.AccountID != id || login.OrgID != lincoln || login.Role != "admin" || login.GroupID != staff || !login.MustChangePassword {
		t.Fatalf("login %+v", login)
	}
	if ok, _, err := e.hasher.Verify(secret.New("temporary-pass-1"), login.PasswordHash); !ok || err != nil {
		t.Fatalf("the stored hash does not verify the password: %v", err)
	}
	recorded, err := e.store.Load(ctx, account.StreamID(id))
	if err != nil || len(recorded) != 1 {
		t.Fatalf("account stream: %d events, %v", len(recorded), err)
	}
	created := recorded[0].Data.(account.AccountCreated)
	if created.Email != "Sam.Staff@Lincoln.test" || created.FirstName != "Sam" || created.GroupID != staff || !created.MustChangePassword || recorded[0].Metadata.OrgID != lincoln.String() {
		t.Fatalf("AccountCreated %+v %+v", created, recorded[0].Metadata)
	}
	var payload string
	if err := e.pool.QueryRow(ctx, `SELECT payload::text FROM events WHERE stream_id = $1`, account.StreamID(id)).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(payload, "temporary-pass-1") || strings.Contains(payload, "argon2") {
		t.Fatalf("the event holds the password or its hash: %s", payload)
	}

	// An email is one account across the whole service, whatever its case.
	_, err = e.create.Handle(ctx, with(func(c *command.CreateAccount) {
		c.OrgID, c.GroupID, c.Email = other, uuid.Nil, "SAM.STAFF@lincoln.test"
	}))
	requireAppError(t, err, failure.Conflict, "email_taken")
	if n := countEvents(t, e, "AccountCreated"); n != 3 {
		t.Fatalf("%d AccountCreated events after the taken email, want 3", n)
	}
}

func countEvents(t *testing.T, e *env, eventType string) int {
	t.Helper()
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE event_type = $1`, eventType).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
