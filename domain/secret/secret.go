// Package secret holds plaintext secrets (passwords, tokens) in a type that
// refuses to be printed, logged or marshalled by accident.
package secret

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
)

const redacted = "[redacted]"

// Secret is a plaintext secret. Reveal is the only way to read it.
type Secret struct {
	value string
}

// New wraps a plaintext secret.
func New(s string) Secret { return Secret{value: s} }

// Reveal returns the plaintext, for the hasher or the cipher only.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// Equal compares in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.value), []byte(o.value)) == 1
}

func (Secret) String() string   { return redacted }
func (Secret) GoString() string { return redacted }

// LogValue keeps slog from printing the value.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON keeps an accidental json.Marshal from leaking the value.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// Format covers every fmt verb, %#v and %x included.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(redacted)) }
