package postgres_test

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/throttle"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

// Concurrent attempts on one account are judged one after the other: of
// forty at once, exactly the free ten go ahead, as the rule says, and the
// stored counter holds them.
func TestSignInCountersSerializeConcurrentAttempts(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	counters := postgres.NewSignInCounters(pool)
	rules := throttle.SignInRules()
	account := throttle.AccountKey("Root@Lincoln.edu")
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			address := throttle.AddressKey(netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i % 250)}))
			err := counters.Update(context.Background(), account, address, func(now time.Time, c *throttle.Counters) error {
				var wait time.Duration
				*c, wait = rules.Begin(*c, now)
				if wait == 0 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if allowed != rules.Account.Free {
		t.Fatalf("%d attempts went ahead, want %d", allowed, rules.Account.Free)
	}
	var stored throttle.Counters
	if err := counters.Update(context.Background(), account, throttle.AddressKey(netip.MustParseAddr("192.0.2.1")), func(_ time.Time, c *throttle.Counters) error {
		stored = *c
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if stored.Account.Failures != rules.Account.Free || stored.Address.Failures != 0 {
		t.Fatalf("stored %+v, want the account at %d and a fresh address at 0", stored, rules.Account.Free)
	}
	// A success clears the account; a counter at zero leaves no row.
	if err := counters.Update(context.Background(), account, throttle.AddressKey(netip.MustParseAddr("192.0.2.1")), func(_ time.Time, c *throttle.Counters) error {
		*c = rules.Succeeded(*c)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM sign_in_throttle`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != rules.Account.Free { // the addresses whose attempt went ahead; refused ones count nothing
		t.Fatalf("%d counter rows, want %d", rows, rules.Account.Free)
	}
	var clear int
	if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM sign_in_throttle WHERE position('lincoln'::bytea in key) > 0`).Scan(&clear); err != nil {
		t.Fatal(err)
	}
	if clear != 0 {
		t.Fatal("an email is stored in clear")
	}
}

// The sweep deletes expired sessions and forgotten counters, and nothing
// else.
func TestSweeperDeletesWhatExpired(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	tenancy := postgres.NewTenancy(pool)
	org, acc := uuid.New(), uuid.New()
	if err := tenancy.CreateOrganization(ctx, postgres.Organization{ID: org, Name: "Lincoln"}); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO account_logins (account_id, org_id, email, email_key, role, password_hash) VALUES ($1, $2, 'a@b.c', 'a@b.c', 'user', 'x')`, acc, org); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"live-1", "live-2"} {
		if err := tenancy.CreateSession(ctx, acc, tok, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sessions (token_hash, account_id, expires_at)
		SELECT sha256(('old-' || i)::bytea), $1, now() - interval '1 second' FROM generate_series(1, 2500) i`, acc); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO sign_in_throttle (key, failures, last_failure) VALUES
		('\x01', 3, now() - interval '16 minutes'), ('\x02', 3, now() - interval '14 minutes')`); err != nil {
		t.Fatal(err)
	}
	sweeper, err := postgres.NewSweeper(pool, time.Minute, throttle.SignInRules().ForgetAfter(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	sessions, counters, err := sweeper.Sweep(ctx)
	if err != nil || sessions != 2500 || counters != 1 {
		t.Fatalf("swept %d sessions and %d counters (%v), want 2500 and 1", sessions, counters, err)
	}
	for _, tok := range []string{"live-1", "live-2"} {
		if _, err := tenancy.SessionLogin(ctx, tok); err != nil {
			t.Fatalf("a live session was swept: %v", err)
		}
	}
	// Ending sessions: all but one, then one.
	if err := tenancy.EndOtherSessions(ctx, acc, "live-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tenancy.SessionLogin(ctx, "live-2"); err == nil {
		t.Fatal("EndOtherSessions kept another session")
	}
	if err := tenancy.EndSession(ctx, "live-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := tenancy.SessionLogin(ctx, "live-1"); err == nil {
		t.Fatal("EndSession kept the session")
	}
}
