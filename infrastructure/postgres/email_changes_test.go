package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// A confirmed email change is one transaction: the link used, the event,
// the claim moved, the sessions ended, the notice queued, all or nothing.
// Whatever fails it inside the transaction (an address claimed, the link
// used by a concurrent click) leaves everything as it was.
func TestEmailChangeConfirmIsOneTransaction(t *testing.T) {
	tests := []struct {
		name string
		// meanwhile runs between the decision and the write.
		meanwhile func(t *testing.T, e *emailChangeWorld)
		wantErr   string
	}{
		{"confirmed", func(*testing.T, *emailChangeWorld) {}, ""},
		{"the address claimed meanwhile", func(t *testing.T, e *emailChangeWorld) { e.create(t, "ana.new@a.org") }, "email_unavailable"},
		{"the link used meanwhile", func(t *testing.T, e *emailChangeWorld) {
			e.exec(t, `UPDATE email_changes SET used_at = now()`)
		}, "link_used"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEmailChangeWorld(t)
			ctx := context.Background()
			ana := e.create(t, "ana@a.org")
			for _, token := range []string{"keep-me", "end-me"} {
				if err := e.tenancy.CreateSession(ctx, ana.ID(), token, time.Hour); err != nil {
					t.Fatal(err)
				}
			}
			to, _ := account.NewEmail("Ana.New@a.org")
			req, err := ana.RequestEmailChange(tenancy.Actor{ID: ana.ID(), OrgID: e.org}, to, nil, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			hash := command.EmailChangeTokenHash("the-token")
			if err := e.changes.Request(ctx, ana, req, hash, command.Mail{OrgID: e.org, IdempotencyKey: "email-change:test", To: to.String(), Subject: "s", Text: "t"},
				command.Metadata{ActorID: ana.ID(), OrgID: e.org}); err != nil {
				t.Fatal(err)
			}
			// The link is followed later, by a request that reads the
			// account as stored, request event included.
			stored, err := e.accounts.ByID(ctx, []uuid.UUID{ana.ID()})
			if err != nil {
				t.Fatal(err)
			}
			ana = stored[ana.ID()]
			pending, err := e.changes.Pending(ctx, hash)
			if err != nil || pending.To != to || !pending.UsedAt.IsZero() {
				t.Fatalf("pending: %+v %v", pending, err)
			}
			if err := ana.ConfirmEmailChange(pending, nil, time.Now()); err != nil {
				t.Fatal(err)
			}
			tt.meanwhile(t, e)
			err = e.changes.Confirm(ctx, ana, hash, "keep-me", command.Mail{OrgID: e.org, IdempotencyKey: "email-changed:test", To: "ana@a.org", Subject: "s", Text: "t"},
				command.Metadata{ActorID: ana.ID(), OrgID: e.org})

			email := e.text(t, `SELECT email FROM account_logins WHERE account_id = '`+ana.ID().String()+`'`)
			sessions := count(t, e.pool, `SELECT count(*) FROM sessions WHERE account_id = '`+ana.ID().String()+`'`)
			events := count(t, e.pool, `SELECT count(*) FROM events WHERE stream_id = '`+account.StreamID(ana.ID())+`'`)
			notices := count(t, e.pool, `SELECT count(*) FROM mail_outbox WHERE idempotency_key = 'email-changed:test'`)
			unused := count(t, e.pool, `SELECT count(*) FROM email_changes WHERE used_at IS NULL`)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if email != "Ana.New@a.org" || sessions != 1 || events != 3 || notices != 1 || unused != 0 {
					t.Fatalf("after the change: email %s, %d sessions, %d events, %d notices, %d unused requests", email, sessions, events, notices, unused)
				}
				if _, err := e.tenancy.SessionLogin(ctx, "keep-me"); err != nil {
					t.Fatalf("the confirming session ended: %v", err)
				}
				if login, err := e.tenancy.LoginByEmail(ctx, "ana.new@A.ORG"); err != nil || login.AccountID != ana.ID() {
					t.Fatalf("the new address does not find the account: %v", err)
				}
				return
			}
			if code, ok := asFailure(err); !ok || code != tt.wantErr {
				t.Fatalf("error %v (%T), want %s", err, err, tt.wantErr)
			}
			wantUnused := 1
			if tt.wantErr == "link_used" {
				wantUnused = 0
			}
			if email != "ana@a.org" || sessions != 2 || events != 2 || notices != 0 || unused != wantUnused {
				t.Fatalf("a failed change left: email %s, %d sessions, %d events, %d notices, %d unused requests", email, sessions, events, notices, unused)
			}
		})
	}
}

func asFailure(err error) (string, bool) {
	var taken *account.EmailUnavailableError
	var link *account.LinkError
	switch {
	case errors.As(err, &taken):
		return taken.Failure().Code, true
	case errors.As(err, &link):
		return link.Code, true
	}
	return "", false
}

type emailChangeWorld struct {
	pool     *pgxpool.Pool
	org      uuid.UUID
	tenancy  *postgres.Tenancy
	accounts *postgres.Accounts
	changes  *postgres.EmailChanges
}

func newEmailChangeWorld(t *testing.T) *emailChangeWorld {
	t.Helper()
	pool := pgtest.MustOpenDB(t)
	store, err := postgres.NewEventStore(pool, eventcodec.Rollcall())
	if err != nil {
		t.Fatal(err)
	}
	e := &emailChangeWorld{pool: pool, org: uuid.New(), tenancy: postgres.NewTenancy(pool), accounts: postgres.NewAccounts(pool, store)}
	if e.changes, err = postgres.NewEmailChanges(pool, store, mail.Outbox{}); err != nil {
		t.Fatal(err)
	}
	if err := e.tenancy.CreateOrganization(context.Background(), postgres.Organization{ID: e.org, Name: "A"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// create makes a user of the organization with this email.
func (e *emailChangeWorld) create(t *testing.T, email string) *account.Account {
	t.Helper()
	address, err := account.NewEmail(email)
	if err != nil {
		t.Fatal(err)
	}
	a, err := account.Create(account.New{ID: uuid.New(), OrgID: e.org, Email: address, FirstName: "F", LastName: "L", Role: tenancy.RoleUser}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	taken, err := e.accounts.CreateAccounts(context.Background(), []command.NewAccount{{Account: a, PasswordHash: "x"}}, command.Metadata{OrgID: e.org})
	if err != nil || len(taken) > 0 {
		t.Fatalf("create %s: %v %v", email, taken, err)
	}
	stored, err := e.accounts.ByID(context.Background(), []uuid.UUID{a.ID()})
	if err != nil {
		t.Fatal(err)
	}
	return stored[a.ID()]
}

func (e *emailChangeWorld) exec(t *testing.T, sql string) {
	t.Helper()
	if _, err := e.pool.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

func (e *emailChangeWorld) text(t *testing.T, sql string) string {
	t.Helper()
	var s string
	if err := e.pool.QueryRow(context.Background(), sql).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}
