package query

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// YourAccount is what a signed-in person sees of their own account.
type YourAccount struct {
	ID                 uuid.UUID
	OrgID              uuid.UUID
	Email              string
	FirstName          string
	LastName           string
	Role               tenancy.Role
	GroupID            uuid.UUID // uuid.Nil: no group
	GroupName          string
	MustChangePassword bool
	// PendingEmail is the address a link was sent to and not yet followed
	// ("" when none is waiting); the link works until PendingExpires.
	PendingEmail   string
	PendingExpires time.Time
	RecentSignIns  []SignIn
}

// SignIn is one sign-in of the person: when, and how ("password",
// "google").
type SignIn struct {
	At     time.Time
	Method string
}

// YourAccountReadModel reads one's own account. Both reads are of the
// caller's organization.
type YourAccountReadModel interface {
	// YourAccount is the account as it is now (its sign-in record, changed
	// in the same transaction as its events, so a change shows at once),
	// with its email change waiting for confirmation, if any.
	YourAccount(ctx context.Context, orgID, accountID uuid.UUID) (YourAccount, error)
	// RecentSignIns are the account's last sign-ins, newest first.
	RecentSignIns(ctx context.Context, orgID, accountID uuid.UUID, limit int) ([]SignIn, error)
}

// RecentSignInsShown is how many sign-ins Your account lists.
const RecentSignInsShown = 10

// YourAccountQuery answers Your account.
type YourAccountQuery struct {
	rm YourAccountReadModel
}

// NewYourAccountQuery refuses a nil read model.
func NewYourAccountQuery(rm YourAccountReadModel) (*YourAccountQuery, error) {
	if rm == nil {
		return nil, errors.New("query: NewYourAccountQuery needs a read model")
	}
	return &YourAccountQuery{rm: rm}, nil
}

// Handle is the actor's own account and last sign-ins.
func (q *YourAccountQuery) Handle(ctx context.Context, actor tenancy.Actor) (YourAccount, error) {
	acc, err := q.rm.YourAccount(ctx, actor.OrgID, actor.ID)
	if err != nil {
		return YourAccount{}, err
	}
	if acc.RecentSignIns, err = q.rm.RecentSignIns(ctx, actor.OrgID, actor.ID, RecentSignInsShown); err != nil {
		return YourAccount{}, err
	}
	if acc.RecentSignIns == nil {
		acc.RecentSignIns = []SignIn{}
	}
	return acc, nil
}
