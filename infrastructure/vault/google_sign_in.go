package vault

import (
	"encoding/base64"
	"encoding/json"

	"github.com/rollcall/rollcall/application/command"
)

// GoogleSignInStates seals a pending Google sign-in (state, nonce, PKCE
// verifier, expiry) into a cookie value: the browser keeps it, which binds
// the callback to the browser that started the sign-in, and can neither
// read the verifier nor forge a state.
type GoogleSignInStates struct{ Key Key }

var _ command.GoogleSignInStates = GoogleSignInStates{}

var googleSignInBinding = []byte("rollcall google sign-in state")

// Seal returns the cookie value.
func (s GoogleSignInStates) Seal(p command.PendingGoogleSignIn) (string, error) {
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sealed, err := Seal(s.Key, plain, googleSignInBinding)
	return base64.RawURLEncoding.EncodeToString(sealed), err
}

// Open reads a cookie value back; a tampered or foreign one is an error.
func (s GoogleSignInStates) Open(value string) (command.PendingGoogleSignIn, error) {
	var p command.PendingGoogleSignIn
	sealed, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return p, err
	}
	plain, err := Open(s.Key, sealed, googleSignInBinding)
	if err != nil {
		return p, err
	}
	return p, json.Unmarshal(plain, &p)
}
