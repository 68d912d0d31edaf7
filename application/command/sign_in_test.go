package command_test

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/domain/throttle"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// verifyRecorder remembers the hashes sign-in checks passwords against.
type verifyRecorder struct {
	*password.Hasher
	mu      sync.Mutex
	checked []string
}

func (r *verifyRecorder) VerifyContext(ctx context.Context, pw secret.Secret, encoded string) (bool, bool, error) {
	r.mu.Lock()
	r.checked = append(r.checked, encoded)
	r.mu.Unlock()
	return r.Hasher.VerifyContext(ctx, pw, encoded)
}

// argon2Cost is the "m=…,t=…,p=…" part of an encoded argon2 hash.
func argon2Cost(t *testing.T, encoded string) string {
	t.Helper()
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || !strings.HasPrefix(parts[3], "m=") {
		t.Fatalf("not an encoded argon2 hash: %q", encoded)
	}
	return parts[3]
}

// An unknown email is checked against a stand-in hash of the configured
// cost, as a known one is against its own: with the default cost baked
// into the stand-in, ARGON2_* overrides would make unknown emails answer
// faster or slower than known ones, telling which emails exist. Deciding on
// the hashes' parameters, not on timings, makes the test independent of
// the machine's load.
func TestUnknownEmailIsCheckedAtTheConfiguredCost(t *testing.T) {
	tests := []struct {
		name   string
		params password.Params
	}{
		{"lower than the default", password.Params{Memory: 8 << 10, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
		{"more iterations", password.Params{Memory: 8 << 10, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32}},
		{"more memory and lanes", password.Params{Memory: 24 << 10, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			hasher, err := password.NewHasher(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			// The known account is hashed with this test's hasher, as an
			// account created under these ARGON2_* settings would be.
			accounts := postgres.NewAccounts(e.pool, e.store)
			create, err := command.NewCreateAccountHandler(accounts, e.tenancy, hasher, policy(), time.Now)
			if err != nil {
				t.Fatal(err)
			}
			org := e.org(t, "Lincoln High", false)
			if _, err := create.Handle(ctx, command.CreateAccount{OrgID: org, Email: "kim@lincoln.edu", FirstName: "Kim", LastName: "Lee",
				Role: string(tenancy.RoleUser), Password: secret.New("kims-password-1")}); err != nil {
				t.Fatal(err)
			}
			rec := &verifyRecorder{Hasher: hasher}
			gate, err := command.NewSignInGate(postgres.NewSignInCounters(e.pool), accounts, throttle.SignInRules(), time.Hour, discard())
			if err != nil {
				t.Fatal(err)
			}
			signIn, err := command.NewSignInHandler(e.tenancy, rec, gate, discard())
			if err != nil {
				t.Fatal(err)
			}
			for i, email := range []string{"kim@lincoln.edu", "nobody@lincoln.edu"} {
				_, err := signIn.Handle(ctx, command.SignIn{Email: email, Password: secret.New("not-the-password"),
					ClientAddress: netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})})
				if !failure.Is(err, "invalid_credentials") {
					t.Fatalf("%s: %v, want invalid_credentials", email, err)
				}
			}
			if len(rec.checked) != 2 {
				t.Fatalf("%d password checks, want one per attempt", len(rec.checked))
			}
			known, unknown := argon2Cost(t, rec.checked[0]), argon2Cost(t, rec.checked[1])
			want := argon2Cost(t, mustHash(t, hasher))
			if known != want || unknown != want {
				t.Fatalf("checked at %s for the known email and %s for the unknown one, want both at the configured %s", known, unknown, want)
			}
		})
	}
}

func mustHash(t *testing.T, h *password.Hasher) string {
	t.Helper()
	encoded, err := h.Hash(secret.New("any password at all"))
	if err != nil {
		t.Fatal(err)
	}
	return encoded
}
