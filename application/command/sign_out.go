package command

import (
	"context"
	"errors"

	"github.com/rollcall/rollcall/domain/secret"
)

// SignOut ends the session whose token signs the request: the token is
// refused from then on, by the API and the pages alike.
type SignOut struct {
	Token secret.Secret
}

// SignOutHandler handles SignOut.
type SignOutHandler struct {
	sessions Sessions
}

// NewSignOutHandler refuses a nil dependency.
func NewSignOutHandler(sessions Sessions) (*SignOutHandler, error) {
	if sessions == nil {
		return nil, errors.New("command: NewSignOutHandler needs the sessions")
	}
	return &SignOutHandler{sessions: sessions}, nil
}

func (h *SignOutHandler) Handle(ctx context.Context, cmd SignOut) error {
	return h.sessions.EndSession(ctx, cmd.Token.Reveal())
}
