package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/throttle"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// The cards of an import are read within its organization only, their
// passwords opened with the service key; once their window closes the
// sweep destroys them, and only them.
func TestLoginCardsAreReadInTheirOrganizationAndSwept(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	key := vault.NewRandomKey()
	tenancy := postgres.NewTenancy(pool)
	org, other := uuid.New(), uuid.New()
	for _, o := range []uuid.UUID{org, other} {
		if err := tenancy.CreateOrganization(ctx, postgres.Organization{ID: o, Name: o.String()[:8]}); err != nil {
			t.Fatal(err)
		}
	}
	live, expired := uuid.New(), uuid.New()
	windows := map[uuid.UUID]time.Duration{live: time.Hour, expired: -time.Second}
	passwords := map[uuid.UUID]string{}
	for imp, in := range windows {
		if _, err := pool.Exec(ctx, `INSERT INTO login_card_windows (import_id, org_id, expires_at) VALUES ($1, $2, now() + $3::interval)`, imp, org, in.String()); err != nil {
			t.Fatal(err)
		}
		for row, first := range []string{"Zoë", "Ana"} {
			acc := uuid.New()
			email := first + "-" + imp.String()[:8] + "@school.example"
			if _, err := pool.Exec(ctx, `INSERT INTO account_logins (account_id, org_id, email, email_key, first_name, last_name, role, password_hash)
				VALUES ($1, $2, $3, lower($3), $4, 'Lima', 'user', 'x')`, acc, org, email, first); err != nil {
				t.Fatal(err)
			}
			pw := "card-password-" + acc.String()[:8]
			sealed, err := vault.RowPasswords{Key: key}.SealCard(acc, secret.New(pw))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pool.Exec(ctx, `INSERT INTO login_cards (account_id, import_id, row_number, password) VALUES ($1, $2, $3, $4)`, acc, imp, row+1, sealed); err != nil {
				t.Fatal(err)
			}
			passwords[acc] = pw
		}
	}
	store := postgres.NewLoginCards(pool, key)
	cards, expiresAt, found, err := store.LoginCards(ctx, org, live)
	if err != nil || !found || len(cards) != 2 || time.Until(expiresAt) < 50*time.Minute {
		t.Fatalf("cards of the live import: %v %v %v %v", cards, expiresAt, found, err)
	}
	if cards[0].FirstName != "Zoë" || cards[1].FirstName != "Ana" {
		t.Errorf("cards out of row order: %v", cards)
	}
	for _, c := range cards {
		opened := false
		for _, pw := range passwords {
			opened = opened || c.Password.Reveal() == pw
		}
		if !opened {
			t.Errorf("the card of %s does not hold its password", c.Email)
		}
	}
	if _, _, found, err := store.LoginCards(ctx, other, live); found || err != nil {
		t.Errorf("another organization reads the cards: %v %v", found, err)
	}
	if _, _, _, err := postgres.NewLoginCards(pool, vault.NewRandomKey()).LoginCards(ctx, org, live); err == nil {
		t.Error("another key opens the cards")
	}

	sweeper, err := postgres.NewSweeper(pool, time.Minute, throttle.SignInRules().ForgetAfter(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := sweeper.SweepLoginCards(ctx); err != nil || n != 1 {
		t.Fatalf("swept %d imports' cards (%v), want 1", n, err)
	}
	if _, _, found, _ := store.LoginCards(ctx, org, expired); found {
		t.Error("the expired cards are still kept")
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM login_cards WHERE import_id = $1`, expired).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d sealed passwords of the expired import left (%v)", left, err)
	}
	if _, _, found, _ := store.LoginCards(ctx, org, live); !found {
		t.Error("the sweep destroyed cards still in their window")
	}
}
