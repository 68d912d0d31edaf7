package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
)

// Sessions are bearer tokens of signed-in accounts; only their SHA-256 is
// stored, so a leaked table signs nobody in.

var (
	_ command.Sessions       = (*Tenancy)(nil)
	_ command.SessionStarter = (*Accounts)(nil)
)

// StartSession appends SignedIn to the account's sign-in stream and
// stores the session, in one transaction: every session has its audit
// entry, and the account's own stream (and version) is left alone.
func (a *Accounts) StartSession(ctx context.Context, s command.NewSession) error {
	meta := command.Metadata{ActorID: s.Login.AccountID, OrgID: s.Login.OrgID}
	signedIn := account.SignedIn{AccountID: s.Login.AccountID, Method: s.Method, At: s.At.UTC()}
	return pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if err := a.store.AppendTx(ctx, tx, eventstore.Append{StreamID: account.SignInStreamID(s.Login.AccountID), ExpectedVersion: eventstore.AnyVersion,
			Events: []eventstore.Event{{ID: uuid.New(), Data: signedIn, Metadata: eventMetadata(meta)}}}); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, expires_at, method) VALUES ($1, $2, now() + $3::interval, $4)`,
			tokenHash(s.Token), s.Login.AccountID, s.TTL.String(), s.Method)
		return err
	})
}

// CreateSession stores the hash of a new bearer token.
func (t *Tenancy) CreateSession(ctx context.Context, accountID uuid.UUID, token string, ttl time.Duration) error {
	_, err := t.pool.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, expires_at) VALUES ($1, $2, now() + $3::interval)`,
		tokenHash(token), accountID, ttl.String())
	return err
}

// SessionLogin returns the login behind an unexpired token.
func (t *Tenancy) SessionLogin(ctx context.Context, token string) (Login, error) {
	var accountID uuid.UUID
	var method string
	err := t.pool.QueryRow(ctx, `SELECT account_id, method FROM sessions WHERE token_hash = $1 AND expires_at > now()`, tokenHash(token)).Scan(&accountID, &method)
	if errors.Is(err, pgx.ErrNoRows) {
		return Login{}, ErrNotFound
	}
	if err != nil {
		return Login{}, err
	}
	login, err := t.LoginByID(ctx, accountID)
	login.SignInMethod = method
	if err == nil && !login.Active {
		// Deactivating ends the sessions too; this guards the moment between.
		return Login{}, ErrNotFound
	}
	return login, err
}

// EndSession deletes one session; the token is refused from then on. An
// unknown token is not an error: signing out twice is signed out.
func (t *Tenancy) EndSession(ctx context.Context, token string) error {
	_, err := t.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash(token))
	return err
}

// EndOtherSessions deletes every session of the account except the one
// whose token is keepToken ("" keeps none).
func (t *Tenancy) EndOtherSessions(ctx context.Context, accountID uuid.UUID, keepToken string) error {
	_, err := t.pool.Exec(ctx, endSessionsSQL, accountID, keepHash(keepToken))
	return err
}

// EndSessionsTx ends every session of the accounts inside tx, the
// transaction that changes their passwords: an import that sets a new
// password signs the account out everywhere, in the same commit.
func EndSessionsTx(ctx context.Context, tx pgx.Tx, accountIDs ...uuid.UUID) error {
	if len(accountIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = ANY($1)`, accountIDs)
	return err
}

const endSessionsSQL = `DELETE FROM sessions WHERE account_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)`

func keepHash(token string) []byte {
	if token == "" {
		return nil
	}
	return tokenHash(token)
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}
