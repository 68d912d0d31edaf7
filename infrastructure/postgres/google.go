package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// GoogleConnections stores Google tokens and OAuth states, sealed.
type GoogleConnections struct {
	pool *pgxpool.Pool
	key  vault.Key
}

var _ command.GoogleConnections = (*GoogleConnections)(nil)

// NewGoogleConnections returns the store.
func NewGoogleConnections(pool *pgxpool.Pool, key vault.Key) *GoogleConnections {
	return &GoogleConnections{pool: pool, key: key}
}

// SaveState records a connection in progress.
func (g *GoogleConnections) SaveState(ctx context.Context, state string, accountID uuid.UUID, verifier string, expires time.Time) error {
	sealed, err := vault.Seal(g.key, []byte(verifier), []byte(state))
	if err != nil {
		return err
	}
	// Expired states are swept here rather than by a timer.
	if _, err := g.pool.Exec(ctx, `DELETE FROM google_oauth_states WHERE expires_at < now()`); err != nil {
		return err
	}
	_, err = g.pool.Exec(ctx, `INSERT INTO google_oauth_states (state, account_id, verifier, expires_at) VALUES ($1, $2, $3, $4)`,
		state, accountID, sealed, expires)
	return err
}

// TakeState consumes a state: each can be used once, before it expires.
func (g *GoogleConnections) TakeState(ctx context.Context, state string) (uuid.UUID, string, error) {
	var accountID uuid.UUID
	var sealed []byte
	err := g.pool.QueryRow(ctx, `DELETE FROM google_oauth_states WHERE state = $1 AND expires_at > now() RETURNING account_id, verifier`, state).
		Scan(&accountID, &sealed)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, "", command.ErrNotFound
	}
	if err != nil {
		return uuid.Nil, "", err
	}
	verifier, err := vault.Open(g.key, sealed, []byte(state))
	return accountID, string(verifier), err
}

// SaveToken keeps (or replaces) an administrator's token.
func (g *GoogleConnections) SaveToken(ctx context.Context, accountID, orgID uuid.UUID, googleEmail string, token []byte) error {
	sealed, err := vault.Seal(g.key, token, accountID[:])
	if err != nil {
		return err
	}
	_, err = g.pool.Exec(ctx, `
		INSERT INTO google_connections (account_id, org_id, google_email, token) VALUES ($1, $2, $3, $4)
		ON CONFLICT (account_id) DO UPDATE SET google_email = excluded.google_email, token = excluded.token, updated_at = now()`,
		accountID, orgID, googleEmail, sealed)
	return err
}

// Token returns an administrator's token.
func (g *GoogleConnections) Token(ctx context.Context, accountID uuid.UUID) ([]byte, string, error) {
	var sealed []byte
	var email string
	err := g.pool.QueryRow(ctx, `SELECT token, google_email FROM google_connections WHERE account_id = $1`, accountID).Scan(&sealed, &email)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", command.ErrNotFound
	}
	if err != nil {
		return nil, "", err
	}
	token, err := vault.Open(g.key, sealed, accountID[:])
	return token, email, err
}

// Disconnect forgets an administrator's token.
func (g *GoogleConnections) Disconnect(ctx context.Context, accountID uuid.UUID) error {
	_, err := g.pool.Exec(ctx, `DELETE FROM google_connections WHERE account_id = $1`, accountID)
	return err
}
