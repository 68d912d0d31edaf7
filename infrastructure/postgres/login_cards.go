package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// insertLoginCards keeps a commit batch's sealed generated passwords, in
// the batch's transaction, with the accounts and the job's checkpoint: a
// batch is written once, cards and all. The window is the import's,
// written by its first batch.
func insertLoginCards(ctx context.Context, tx pgx.Tx, c cardsToWrite) error {
	if len(c.cards) == 0 {
		return nil
	}
	if _, err := tx.Exec(ctx, `
		INSERT INTO login_card_windows (import_id, org_id, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (import_id) DO NOTHING`, c.importID, c.orgID, c.expiresAt); err != nil {
		return err
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"login_cards"}, []string{"account_id", "import_id", "row_number", "password"},
		pgx.CopyFromSlice(len(c.cards), func(i int) ([]any, error) {
			card := c.cards[i]
			return []any{card.AccountID, c.importID, card.Row, card.Sealed}, nil
		}))
	return err
}

// LoginCards reads an import's login cards, opening each password with the
// service key.
type LoginCards struct {
	pool *pgxpool.Pool
	key  vault.Key
}

var _ command.LoginCardStore = (*LoginCards)(nil)

// NewLoginCards returns the store.
func NewLoginCards(pool *pgxpool.Pool, key vault.Key) *LoginCards {
	return &LoginCards{pool: pool, key: key}
}

// Expiry is when the import's kept cards expire.
func (s *LoginCards) Expiry(ctx context.Context, orgID, importID uuid.UUID) (time.Time, bool, error) {
	if orgID == uuid.Nil {
		return time.Time{}, false, errors.New("postgres: reading login cards needs an organization")
	}
	var expiresAt time.Time
	err := s.pool.QueryRow(ctx, `SELECT expires_at FROM login_card_windows WHERE import_id = $1 AND org_id = $2`, importID, orgID).Scan(&expiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, false, nil
	}
	return expiresAt, err == nil, err
}

// LoginCards returns the import's cards in row order, with the names and
// sign-in email their accounts have now.
func (s *LoginCards) LoginCards(ctx context.Context, orgID, importID uuid.UUID) ([]command.LoginCard, time.Time, bool, error) {
	if orgID == uuid.Nil {
		return nil, time.Time{}, false, errors.New("postgres: reading login cards needs an organization")
	}
	expiresAt, found, err := s.Expiry(ctx, orgID, importID)
	if err != nil || !found {
		return nil, time.Time{}, false, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT c.account_id, c.password, a.first_name, a.last_name, a.email
		FROM login_cards c JOIN account_logins a ON a.account_id = c.account_id AND a.org_id = $2
		WHERE c.import_id = $1
		ORDER BY c.row_number`, importID, orgID)
	if err != nil {
		return nil, time.Time{}, false, err
	}
	sealer := vault.RowPasswords{Key: s.key}
	var cards []command.LoginCard
	for rows.Next() {
		var accountID uuid.UUID
		var sealed []byte
		var card command.LoginCard
		if err := rows.Scan(&accountID, &sealed, &card.FirstName, &card.LastName, &card.Email); err != nil {
			rows.Close()
			return nil, time.Time{}, false, err
		}
		if card.Password, err = sealer.OpenCard(accountID, sealed); err != nil {
			rows.Close()
			return nil, time.Time{}, false, err
		}
		cards = append(cards, card)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, false, err
	}
	return cards, expiresAt, true, nil
}

// SweepLoginCards destroys the login cards whose window has closed and
// returns how many imports' cards went.
func (s *Sweeper) SweepLoginCards(ctx context.Context) (int64, error) {
	return s.sweep(ctx, `
		DELETE FROM login_card_windows WHERE import_id IN (
			SELECT import_id FROM login_card_windows WHERE expires_at <= now()
			ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED)`, sweepBatch)
}

var _ importing.Writes = (*writes)(nil)
