package postgres

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
)

var _ command.SignInLog = (*Accounts)(nil)

// RecordSignIn appends SignedIn to the account's sign-in stream, which
// only sign-ins write: any version will do.
func (a *Accounts) RecordSignIn(ctx context.Context, login command.Login, method string, at time.Time) error {
	meta := eventMetadata(command.Metadata{ActorID: login.AccountID, OrgID: login.OrgID})
	return a.store.Append(ctx, eventstore.Append{StreamID: account.SignInStreamID(login.AccountID), ExpectedVersion: eventstore.AnyVersion,
		Events: []eventstore.Event{{ID: uuid.New(), Data: account.SignedIn{AccountID: login.AccountID, Method: method, At: at.UTC()}, Metadata: meta}}})
}
