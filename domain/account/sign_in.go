package account

import (
	"time"

	"github.com/google/uuid"
)

// Sign-in methods, as SignedIn records them.
const (
	SignInPassword = "password"
	SignInGoogle   = "google"
)

// SignedIn: the person signed in, and how. It is kept on a stream of its
// own (SignInStreamID), not the account's: a sign-in changes nothing of the
// account, and must not move the version an import batch was planned
// against.
type SignedIn struct {
	AccountID uuid.UUID
	Method    string // SignInPassword, SignInGoogle
	At        time.Time
}

func (SignedIn) EventType() string { return "SignedIn" }

// SignInEvents lists a sample of every sign-in event, for the codec
// registry.
func SignInEvents() []interface{ EventType() string } {
	return []interface{ EventType() string }{SignedIn{}}
}

// SignInStreamPrefix starts every sign-in stream's id.
const SignInStreamPrefix = "sign-ins-"

// SignInStreamID is the stream of the account's sign-ins.
func SignInStreamID(id uuid.UUID) string { return SignInStreamPrefix + id.String() }
