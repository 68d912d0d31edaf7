package main

import (
	"context"
	"time"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// app is the application layer wired to its adapters.
type app struct {
	store     *postgres.EventStore
	tenancy   *postgres.Tenancy
	accounts  *postgres.Accounts
	hasher    *password.Hasher
	reference *command.ReferenceHandler
	create    *command.CreateAccountHandler
	signIn    *command.SignInHandler
	changePwd *command.ChangePasswordHandler
}

// codec knows every event type of the domain.
func newCodec() *eventcodec.Registry {
	reg := eventcodec.NewRegistry()
	for _, ev := range account.Events() {
		reg.Register(ev)
	}
	return reg
}

func passwordPolicy() command.PasswordPolicy {
	policy := password.DefaultPolicy()
	return func(pw secret.Secret) []command.PolicyProblem {
		var out []command.PolicyProblem
		for _, p := range policy.Check(pw) {
			out = append(out, command.PolicyProblem(p))
		}
		return out
	}
}

func (m *Main) app(ctx context.Context) (*app, error) {
	pool, err := m.db(ctx)
	if err != nil {
		return nil, err
	}
	store, err := postgres.NewEventStore(pool, newCodec())
	if err != nil {
		return nil, err
	}
	hasher, err := password.NewHasher(m.Config.Argon2)
	if err != nil {
		return nil, err
	}
	a := &app{store: store, tenancy: postgres.NewTenancy(pool), hasher: hasher}
	a.accounts = postgres.NewAccounts(pool, store)
	now := time.Now
	if a.reference, err = command.NewReferenceHandler(a.tenancy); err != nil {
		return nil, err
	}
	if a.create, err = command.NewCreateAccountHandler(a.accounts, hasher, passwordPolicy(), now); err != nil {
		return nil, err
	}
	if a.signIn, err = command.NewSignInHandler(a.tenancy, hasher, m.Config.SessionTTL, m.Logger); err != nil {
		return nil, err
	}
	if a.changePwd, err = command.NewChangePasswordHandler(a.tenancy, a.accounts, hasher, passwordPolicy(), now); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *app) api(m *Main) (*rhttp.API, error) {
	return rhttp.NewAPI(rhttp.APIDeps{
		Logger: m.Logger, Logins: a.tenancy, SignIn: a.signIn, ChangePassword: a.changePwd, Reference: a.reference,
	})
}
