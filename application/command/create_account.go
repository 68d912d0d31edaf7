package command

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// CreateAccount makes one account by hand: the operator's bootstrap of the
// first system administrator, or a single account outside any import.
type CreateAccount struct {
	OrgID              uuid.UUID
	Email              string
	FirstName          string
	LastName           string
	Role               string
	GroupID            uuid.UUID
	Password           secret.Secret
	MustChangePassword bool
	ActorID            uuid.UUID // uuid.Nil for the command line
}

// CreateAccountHandler handles CreateAccount.
type CreateAccountHandler struct {
	accounts AccountWriter
	orgs     Organizations
	hasher   PasswordHasher
	policy   PasswordPolicy
	now      func() time.Time
}

// NewCreateAccountHandler refuses nil dependencies.
func NewCreateAccountHandler(accounts AccountWriter, orgs Organizations, hasher PasswordHasher, policy PasswordPolicy, now func() time.Time) (*CreateAccountHandler, error) {
	if accounts == nil || orgs == nil || hasher == nil || policy == nil || now == nil {
		return nil, errors.New("command: NewCreateAccountHandler needs every dependency")
	}
	return &CreateAccountHandler{accounts: accounts, orgs: orgs, hasher: hasher, policy: policy, now: now}, nil
}

// Handle returns the new account's id.
func (h *CreateAccountHandler) Handle(ctx context.Context, cmd CreateAccount) (uuid.UUID, error) {
	email, err := account.NewEmail(cmd.Email)
	if err != nil {
		return uuid.Nil, failure.New(failure.Unprocessable, "invalid_value", "%s", err.Error())
	}
	role, err := tenancy.ParseRole(cmd.Role)
	if err != nil {
		return uuid.Nil, failure.New(failure.Unprocessable, "invalid_value", "%s", err.Error())
	}
	if problems := h.policy(cmd.Password); len(problems) > 0 {
		return uuid.Nil, failure.New(failure.Unprocessable, "password_policy", "%s", problems[0].Message)
	}
	// The account may only belong to a group of its own organization.
	if _, err := h.orgs.Organization(ctx, cmd.OrgID); errors.Is(err, ErrNotFound) {
		return uuid.Nil, failure.New(failure.Unprocessable, "invalid_value", "There is no organization %s.", cmd.OrgID)
	} else if err != nil {
		return uuid.Nil, err
	}
	if cmd.GroupID != uuid.Nil {
		ok, err := h.orgs.NamedExists(ctx, Groups, cmd.OrgID, []uuid.UUID{cmd.GroupID})
		if err != nil {
			return uuid.Nil, err
		}
		if !ok {
			return uuid.Nil, failure.New(failure.Unprocessable, "invalid_value", "The organization has no group %s.", cmd.GroupID)
		}
	}
	created, err := account.Create(account.New{
		ID: uuid.New(), OrgID: cmd.OrgID, Email: email, FirstName: cmd.FirstName, LastName: cmd.LastName,
		Role: role, GroupID: cmd.GroupID, MustChangePassword: cmd.MustChangePassword,
	}, h.now())
	if err != nil {
		return uuid.Nil, failure.New(failure.Unprocessable, "invalid_value", "%s", err.Error())
	}
	hash, err := h.hasher.HashContext(ctx, cmd.Password)
	if err != nil {
		return uuid.Nil, err
	}
	taken, err := h.accounts.CreateAccounts(ctx, []NewAccount{{Account: created, PasswordHash: hash}},
		Metadata{ActorID: cmd.ActorID, OrgID: cmd.OrgID})
	if err != nil {
		return uuid.Nil, err
	}
	if len(taken) > 0 {
		return uuid.Nil, failure.New(failure.Conflict, "email_taken", "An account with the email %s already exists.", email)
	}
	return created.ID(), nil
}
