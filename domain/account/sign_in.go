package account

import "github.com/google/uuid"

// A sign-in is recorded on a stream of its own, not the account's: it
// changes nothing of the account, and must not move the version that an
// import batch was planned against (a batch would otherwise be planned
// again for every sign-in of one of its people).

// SignInStreamPrefix starts every sign-in stream's id.
const SignInStreamPrefix = "sign-ins-"

// SignInStreamID is the stream of the account's sign-ins.
func SignInStreamID(id uuid.UUID) string { return SignInStreamPrefix + id.String() }
