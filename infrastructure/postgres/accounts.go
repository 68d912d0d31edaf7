package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
)

// Accounts writes account events together with their sign-in records.
type Accounts struct {
	pool  *pgxpool.Pool
	store *EventStore
}

var _ command.AccountWriter = (*Accounts)(nil)

// NewAccounts returns the account writer.
func NewAccounts(pool *pgxpool.Pool, store *EventStore) *Accounts {
	return &Accounts{pool: pool, store: store}
}

// CreateAccounts appends AccountCreated for each account and claims its email
// in one transaction. Emails already claimed (before, or by a concurrent
// import while this ran) come back in taken and get no account: each email
// ends as exactly one account.
func (a *Accounts) CreateAccounts(ctx context.Context, accounts []command.NewAccount, meta command.Metadata) (taken []string, err error) {
	keys := make([]string, len(accounts))
	for i, acc := range accounts {
		keys[i] = EmailKey(acc.Event.Email)
	}
	claimed, err := a.claimedEmails(ctx, keys)
	if err != nil {
		return nil, err
	}
	// A concurrent writer can claim an email between the check and the
	// insert; the insert then fails on the unique index, and the batch is
	// tried again without it.
	for attempt := 0; attempt < 5; attempt++ {
		var todo []command.NewAccount
		taken = taken[:0]
		for i, acc := range accounts {
			if claimed[keys[i]] {
				taken = append(taken, acc.Event.Email)
				continue
			}
			claimed[keys[i]] = true // a second row with the same email in this batch is taken too
			todo = append(todo, acc)
		}
		for _, acc := range todo {
			delete(claimed, EmailKey(acc.Event.Email))
		}
		if len(todo) == 0 {
			return taken, nil
		}
		err = pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
			return a.createTx(ctx, tx, todo, meta)
		})
		if !errors.Is(err, ErrDuplicate) {
			return taken, err
		}
		if claimed, err = a.claimedEmails(ctx, keys); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("postgres: emails kept being claimed concurrently; try again")
}

func (a *Accounts) createTx(ctx context.Context, tx pgx.Tx, accounts []command.NewAccount, meta command.Metadata) error {
	appends := make([]eventstore.Append, len(accounts))
	for i, acc := range accounts {
		appends[i] = eventstore.Append{
			StreamID:        account.StreamID(acc.Event.AccountID),
			ExpectedVersion: eventstore.NoStream,
			Events:          []eventstore.Event{{ID: uuid.New(), Data: acc.Event, Metadata: eventMetadata(meta)}},
		}
	}
	if err := a.store.AppendTx(ctx, tx, appends...); err != nil {
		return err
	}
	var (
		ids, orgs, groups                []*uuid.UUID
		emails, emailKeys, roles, hashes []string
		mustChange                       []bool
	)
	for _, acc := range accounts {
		ev := acc.Event
		ids = append(ids, &ev.AccountID)
		orgs = append(orgs, &ev.OrgID)
		groups = append(groups, nullUUID(ev.GroupID))
		emails = append(emails, ev.Email)
		emailKeys = append(emailKeys, EmailKey(ev.Email))
		roles = append(roles, ev.Role)
		hashes = append(hashes, acc.PasswordHash)
		mustChange = append(mustChange, ev.MustChangePassword)
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO account_logins (account_id, org_id, email, email_key, role, group_id, password_hash, must_change_password)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::bool[])
		ON CONFLICT (email_key) DO NOTHING`,
		ids, orgs, emails, emailKeys, roles, groups, hashes, mustChange)
	if err != nil {
		return err
	}
	if int(tag.RowsAffected()) != len(accounts) {
		return ErrDuplicate
	}
	return nil
}

func (a *Accounts) claimedEmails(ctx context.Context, keys []string) (map[string]bool, error) {
	rows, err := a.pool.Query(ctx, `SELECT email_key FROM account_logins WHERE email_key = ANY($1)`, keys)
	if err != nil {
		return nil, err
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	claimed := make(map[string]bool, len(found))
	for _, k := range found {
		claimed[k] = true
	}
	return claimed, nil
}

// ChangePassword appends PasswordChanged and stores the new hash together.
func (a *Accounts) ChangePassword(ctx context.Context, ev account.PasswordChanged, hash string, meta command.Metadata) error {
	return pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if err := a.store.AppendTx(ctx, tx, eventstore.Append{
			StreamID: account.StreamID(ev.AccountID), ExpectedVersion: eventstore.AnyVersion,
			Events: []eventstore.Event{{ID: uuid.New(), Data: ev, Metadata: eventMetadata(meta)}},
		}); err != nil {
			return err
		}
		return setPassword(ctx, tx, ev.AccountID, hash, ev.MustChangePassword)
	})
}

func eventMetadata(m command.Metadata) eventstore.Metadata {
	md := eventstore.Metadata{CorrelationID: m.CorrelationID}
	if m.ActorID != uuid.Nil {
		md.ActorID = m.ActorID.String()
	}
	if m.OrgID != uuid.Nil {
		md.OrgID = m.OrgID.String()
	}
	return md
}
