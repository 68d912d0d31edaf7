package password

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/domain/secret"
)

func testHasher(t testing.TB) *Hasher {
	t.Helper()
	h, err := NewHasher(Params{Memory: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestHashAndVerify(t *testing.T) {
	h := testHasher(t)
	encoded, err := h.Hash(secret.New("Correct horse 1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=8192,t=1,p=1$") || strings.Contains(encoded, "Correct horse") {
		t.Fatalf("encoded = %s", encoded)
	}
	other, _ := h.Hash(secret.New("Correct horse 1"))
	if other == encoded {
		t.Fatal("two hashes of one password are equal: the salt is not random")
	}
	stronger, _ := NewHasher(DefaultParams())
	tests := []struct {
		name        string
		hasher      *Hasher
		pw, encoded string
		ok, rehash  bool
		wantErr     bool
	}{
		{"right password", h, "Correct horse 1", encoded, true, false, false},
		{"wrong password", h, "correct horse 1", encoded, false, false, false},
		{"old parameters", stronger, "Correct horse 1", encoded, true, true, false},
		{"not a hash", h, "x", "plaintext", false, false, true},
		{"bcrypt", h, "x", "$2a$10$abcdefghijklmnopqrstuv", false, false, true},
		{"bad params", h, "x", "$argon2id$v=19$m=x,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, false, true},
		{"huge memory", h, "x", "$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := tt.hasher.Verify(secret.New(tt.pw), tt.encoded)
			if (err != nil) != tt.wantErr || ok != tt.ok || rehash != tt.rehash {
				t.Fatalf("Verify = %v %v %v", ok, rehash, err)
			}
		})
	}
}

func TestHashMany(t *testing.T) {
	h := testHasher(t)
	pws := []secret.Secret{secret.New("a-long-pass-1"), secret.New("a-long-pass-2"), secret.New("a-long-pass-3")}
	hashes, err := h.HashMany(context.Background(), pws, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, encoded := range hashes {
		if ok, _, err := h.Verify(pws[i], encoded); !ok || err != nil {
			t.Fatalf("hash %d does not verify its own password", i)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.HashMany(ctx, pws, 1); err == nil {
		t.Fatal("a cancelled HashMany succeeded")
	}
}

func FuzzVerify(f *testing.F) {
	h := testHasher(f)
	good, _ := h.Hash(secret.New("seed"))
	f.Add(good)
	f.Add("$argon2id$v=19$m=8192,t=1,p=1$$")
	f.Fuzz(func(t *testing.T, encoded string) {
		_, _, _ = h.Verify(secret.New("seed"), encoded)
	})
}

func BenchmarkHash(b *testing.B) {
	h, _ := NewHasher(DefaultParams())
	for b.Loop() {
		if _, err := h.Hash(secret.New("benchmark password")); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPolicy(t *testing.T) {
	tests := []struct {
		pw, code string
	}{
		{"", "password_blank"},
		{"   ", "password_blank"},
		{"short1", "password_too_short"},
		{"Password1", "password_too_common"},
		{strings.Repeat("x", 129), "password_too_long"},
		{"ein langes Passwort", ""},
		{"élèves-2026", ""},
	}
	for _, tt := range tests {
		got := DefaultPolicy().Check(secret.New(tt.pw))
		code := ""
		if len(got) > 0 {
			code = got[0].Code
		}
		if code != tt.code {
			t.Errorf("Check(%q) = %q, want %q", tt.pw, code, tt.code)
		}
	}
}

// Every way in shares the same slots: with every slot taken, a hash, a
// verification and HashMany all wait, and one with a deadline gives up
// with the context's error, having run nothing.
func TestHashingIsBoundedBySlots(t *testing.T) {
	h, err := newHasher(Params{Memory: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if h.Slots() != 2 || h.InFlight() != 0 {
		t.Fatalf("slots %d, in flight %d", h.Slots(), h.InFlight())
	}
	encoded, err := h.Hash(secret.New("a-long-pass-1"))
	if err != nil {
		t.Fatal(err)
	}
	// Take both slots as two long hashes would.
	for range 2 {
		if err := h.acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if h.InFlight() != 2 {
		t.Fatalf("in flight %d, want 2", h.InFlight())
	}
	short := func() context.Context {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		t.Cleanup(cancel)
		return ctx
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"hash", func(ctx context.Context) error { _, err := h.HashContext(ctx, secret.New("x-long-pass")); return err }},
		{"verify", func(ctx context.Context) error {
			_, _, err := h.VerifyContext(ctx, secret.New("a-long-pass-1"), encoded)
			return err
		}},
		{"hash many", func(ctx context.Context) error {
			_, err := h.HashMany(ctx, []secret.Secret{secret.New("x-long-pass")}, 0)
			return err
		}},
	}
	for _, tt := range tests {
		if err := tt.call(short()); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s with every slot taken: %v, want the deadline", tt.name, err)
		}
	}
	// A waiter without a deadline goes ahead as soon as a slot frees.
	done := make(chan error, 1)
	go func() {
		ok, _, err := h.Verify(secret.New("a-long-pass-1"), encoded)
		if err == nil && !ok {
			err = errors.New("the right password did not verify")
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("verified (%v) while every slot was taken", err)
	case <-time.After(100 * time.Millisecond):
	}
	h.release()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting verification never ran once a slot was free")
	}
	h.release()
	if h.InFlight() != 0 {
		t.Fatalf("in flight %d after everything ended", h.InFlight())
	}
}

// Many concurrent hashes never run more than the slots at once.
func TestHashManyNeverExceedsTheSlots(t *testing.T) {
	h, err := newHasher(Params{Memory: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}, 2)
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	peak := make(chan int)
	go func() {
		most := 0
		for {
			select {
			case <-stop:
				peak <- most
				return
			default:
				most = max(most, h.InFlight())
				runtime.Gosched()
			}
		}
	}()
	pws := make([]secret.Secret, 24)
	for i := range pws {
		pws[i] = secret.New("a-long-pass")
	}
	if _, err := h.HashMany(context.Background(), pws, 16); err != nil {
		t.Fatal(err)
	}
	close(stop)
	if most := <-peak; most > 2 || most == 0 {
		t.Fatalf("peak hashes in flight %d, want 1 or 2", most)
	}
}
