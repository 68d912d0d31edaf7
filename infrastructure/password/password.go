// Package password hashes passwords with argon2id (golang.org/x/crypto/argon2,
// the OWASP-recommended algorithm) in the PHC string format, and hashes many
// at once across every core.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/sync/errgroup"

	"github.com/rollcall/rollcall/domain/secret"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory      uint32 // KiB
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32
	KeyLength   uint32
}

// DefaultParams follow OWASP's first argon2id configuration (m=19 MiB, t=2,
// p=1): about 20 ms a hash on one core, so a 2-core server hashes ~100 a
// second, and an attacker with the hashes pays the same per guess.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}
}

// Hasher hashes and verifies passwords.
type Hasher struct {
	params Params
	// inFlight counts hashes being computed, for the metrics: each holds
	// Memory KiB, so it is the figure that says how close the process is to
	// running out of memory.
	inFlight atomic.Int64
}

// InFlight is the number of Hash and Verify calls running now.
func (h *Hasher) InFlight() int { return int(h.inFlight.Load()) }

// NewHasher validates the parameters.
func NewHasher(p Params) (*Hasher, error) {
	switch {
	case p.Memory < 8*1024:
		return nil, errors.New("argon2id memory must be at least 8192 KiB")
	case p.Iterations < 1:
		return nil, errors.New("argon2id iterations must be at least 1")
	case p.Parallelism < 1:
		return nil, errors.New("argon2id parallelism must be at least 1")
	case p.SaltLength < 16 || p.KeyLength < 16:
		return nil, errors.New("argon2id salt and key must be at least 16 bytes")
	}
	return &Hasher{params: p}, nil
}

// Hash returns the PHC string of a fresh salted hash.
func (h *Hasher) Hash(pw secret.Secret) (string, error) {
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	salt := make([]byte, h.params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	p := h.params
	key := argon2.IDKey([]byte(pw.Reveal()), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Iterations, p.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks pw against an encoded hash. needsRehash says the hash was
// made with other parameters than the current ones.
func (h *Hasher) Verify(pw secret.Secret, encoded string) (ok, needsRehash bool, err error) {
	h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	p, salt, key, err := decode(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw.Reveal()), salt, p.Iterations, p.Memory, p.Parallelism, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	needsRehash = p.Memory != h.params.Memory || p.Iterations != h.params.Iterations || p.Parallelism != h.params.Parallelism
	return ok, needsRehash, nil
}

// HashMany hashes passwords in parallel, workers at a time (0 = every core).
func (h *Hasher) HashMany(ctx context.Context, pws []secret.Secret, workers int) ([]string, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	out := make([]string, len(pws))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i, pw := range pws {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var err error
			out[i], err = h.Hash(pw)
			return err
		})
	}
	return out, g.Wait()
}

func decode(encoded string) (Params, []byte, []byte, error) {
	var p Params
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id hash")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errors.New("unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, errors.New("malformed argon2id parameters")
	}
	if p.Memory < 8 || p.Memory > 4*1024*1024 || p.Iterations < 1 || p.Iterations > 100 || p.Parallelism < 1 {
		return p, nil, nil, errors.New("argon2id parameters out of range")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("malformed argon2id salt")
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 1024 {
		return p, nil, nil, errors.New("malformed argon2id hash")
	}
	return p, salt, key, nil
}
