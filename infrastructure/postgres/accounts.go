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
	"github.com/rollcall/rollcall/application/importing"
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

// CreateAccounts appends each account's AccountCreated, stores its state and
// claims its email in one transaction. Emails already claimed (before, or by
// a concurrent import while this ran) come back in taken and get no
// account: each email ends as exactly one account.
func (a *Accounts) CreateAccounts(ctx context.Context, accounts []command.NewAccount, meta command.Metadata) (taken []string, err error) {
	for attempt := 0; attempt < 5; attempt++ {
		keys := make([]string, len(accounts))
		for i, acc := range accounts {
			keys[i] = acc.Account.Email().Key()
		}
		holders, err := a.Holders(ctx, keys)
		if err != nil {
			return nil, err
		}
		taken = taken[:0]
		var todo []importing.NewAccount
		for i, acc := range accounts {
			if holders[keys[i]] != nil {
				taken = append(taken, acc.Account.Email().String())
				continue
			}
			holders[keys[i]] = acc.Account // a second row with the same email in this batch is taken too
			todo = append(todo, importing.NewAccount{Account: acc.Account, PasswordHash: acc.PasswordHash})
		}
		if len(todo) == 0 {
			return taken, nil
		}
		err = pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
			appends := make([]eventstore.Append, len(todo))
			for i, acc := range todo {
				appends[i] = accountAppend(acc.Account, eventstore.NoStream, meta)
			}
			if err := a.store.AppendTx(ctx, tx, appends...); err != nil {
				return err
			}
			return insertAccounts(ctx, tx, todo)
		})
		var raced *importing.EmailsTakenError
		if !errors.As(err, &raced) {
			return taken, err
		}
	}
	return nil, fmt.Errorf("postgres: emails kept being claimed concurrently; try again")
}

// ChangePassword appends PasswordChanged and stores the new hash together.
//
// The account records the change itself (Account.ChangePassword), so its
// stored state says the password is the person's own now: an undo of the
// import that set the one before keeps it.
func (a *Accounts) ChangePassword(ctx context.Context, ev account.PasswordChanged, hash string, meta command.Metadata) error {
	for attempt := 0; ; attempt++ {
		accounts, err := a.ByID(ctx, []uuid.UUID{ev.AccountID})
		if err != nil {
			return err
		}
		acc := accounts[ev.AccountID]
		if acc == nil {
			return ErrNotFound
		}
		acc.ChangePassword(ev.ChangedAt)
		err = pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
			if err := a.store.AppendTx(ctx, tx, accountAppend(acc, acc.Version(), meta)); err != nil {
				return err
			}
			return updateAccounts(ctx, tx, []importing.ChangedAccount{{Account: acc, PasswordHash: hash}})
		})
		var conflict *eventstore.ConcurrencyError
		if errors.As(err, &conflict) && attempt < 5 {
			continue
		}
		return err
	}
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
