package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// ImportSecrets keeps an open import's default password sealed with the
// service key, bound to the import id.
type ImportSecrets struct {
	pool *pgxpool.Pool
	key  vault.Key
}

var _ command.ImportSecrets = (*ImportSecrets)(nil)

// NewImportSecrets returns the store.
func NewImportSecrets(pool *pgxpool.Pool, key vault.Key) *ImportSecrets {
	return &ImportSecrets{pool: pool, key: key}
}

// SaveDefaultPassword seals and stores the default password.
func (s *ImportSecrets) SaveDefaultPassword(ctx context.Context, importID, orgID uuid.UUID, pw secret.Secret) error {
	sealed, err := vault.Seal(s.key, []byte(pw.Reveal()), importID[:])
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO import_secrets (import_id, org_id, default_password) VALUES ($1, $2, $3)
		ON CONFLICT (import_id) DO UPDATE SET default_password = excluded.default_password`, importID, orgID, sealed)
	return err
}

// DefaultPassword returns the import's default password, if it has one.
func (s *ImportSecrets) DefaultPassword(ctx context.Context, importID uuid.UUID) (secret.Secret, bool, error) {
	var sealed []byte
	err := s.pool.QueryRow(ctx, `SELECT default_password FROM import_secrets WHERE import_id = $1`, importID).Scan(&sealed)
	if errors.Is(err, pgx.ErrNoRows) || sealed == nil {
		return secret.Secret{}, false, nil
	}
	if err != nil {
		return secret.Secret{}, false, err
	}
	plain, err := vault.Open(s.key, sealed, importID[:])
	if err != nil {
		return secret.Secret{}, false, err
	}
	return secret.New(string(plain)), true, nil
}

// Delete forgets an import's secrets.
func (s *ImportSecrets) Delete(ctx context.Context, importID uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM import_secrets WHERE import_id = $1`, importID)
	return err
}
