package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/secret"
)

// OrgCreate is `rollcall org create --name N`; it prints the new id.
func (m *Main) OrgCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("org create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "organization name")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("org create: %w (usage: rollcall org create --name NAME)", err)
	}
	a, err := m.app(ctx)
	if err != nil {
		return err
	}
	id, err := a.reference.CreateOrganization(ctx, *name)
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, id)
	return nil
}

// AccountCreate is `rollcall account create --org ID --email E --first F
// --last L --role R --password P`; it prints the new account's id.
func (m *Main) AccountCreate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("account create", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", "", "organization id")
	email := fs.String("email", "", "email (the sign-in name)")
	first := fs.String("first", "", "first name")
	last := fs.String("last", "", "last name")
	role := fs.String("role", "", "system_admin, admin or user")
	pw := fs.String("password", "", "initial password")
	group := fs.String("group", "", "group id (optional)")
	mustChange := fs.Bool("must-change-password", false, "require a new password at first sign-in")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("account create: %w (usage: rollcall account create --org ID --email E --first F --last L --role R --password P)", err)
	}
	orgID, err := uuid.Parse(*org)
	if err != nil {
		return fmt.Errorf("--org %q is not an organization id; `rollcall org create` prints one", *org)
	}
	var groupID uuid.UUID
	if *group != "" {
		if groupID, err = uuid.Parse(*group); err != nil {
			return fmt.Errorf("--group %q is not a group id", *group)
		}
	}
	a, err := m.app(ctx)
	if err != nil {
		return err
	}
	if _, err := a.tenancy.Organization(ctx, orgID); err != nil {
		return fmt.Errorf("no organization %s: %w", orgID, err)
	}
	id, err := a.create.Handle(ctx, command.CreateAccount{
		OrgID: orgID, Email: *email, FirstName: *first, LastName: *last, Role: *role, GroupID: groupID,
		Password: secret.New(*pw), MustChangePassword: *mustChange,
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(m.Stdout, id)
	return nil
}
