package command

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// MapColumns says which column holds what.
type MapColumns struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Columns       map[string]string
}

// MapColumns records the mapping.
func (w *ImportWizard) MapColumns(ctx context.Context, cmd MapColumns) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		if !imp.CanSee(cmd.Actor) {
			return &importsession.NotFoundError{}
		}
		m, err := importsession.NewMapping(imp.File().Headers, cmd.Columns, cmd.Actor)
		if err != nil {
			return err
		}
		return imp.MapColumns(cmd.Actor, m, w.now())
	})
}

// ChooseDefaults sets the defaults. The default password is checked against
// the policy, then kept encrypted outside the events.
type ChooseDefaults struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Password      secret.Secret
	// KeepPassword keeps the default password saved earlier when Password
	// is empty: a form shown again on resume cannot show the password back.
	KeepPassword bool
	// GeneratePasswords: a password generated for each new account, for
	// its login card, instead of a default password.
	GeneratePasswords   bool
	ForcePasswordChange bool
	GroupID             uuid.UUID
	TagIDs              []uuid.UUID
	// DeactivateDeparted: a Google Classroom re-sync deactivates the
	// students who left the class.
	DeactivateDeparted bool
}

// ChooseDefaults records the defaults.
func (w *ImportWizard) ChooseDefaults(ctx context.Context, cmd ChooseDefaults) (*importsession.Import, error) {
	if !cmd.Password.IsZero() {
		if problems := w.policy(cmd.Password); len(problems) > 0 {
			msgs := make([]string, len(problems))
			for i, p := range problems {
				msgs[i] = p.Message
			}
			return nil, failure.New(failure.Unprocessable, "password_policy", "The default password is not accepted: %s", strings.Join(msgs, " "))
		}
	}
	if cmd.GroupID != uuid.Nil {
		ok, err := w.orgs.NamedExists(ctx, Groups, cmd.Actor.OrgID, []uuid.UUID{cmd.GroupID})
		if err != nil {
			return nil, err
		}
		if !ok && cmd.Actor.Role.IsSystemAdmin() {
			return nil, failure.New(failure.Unprocessable, "invalid_value", "There is no such group in your organization.")
		}
	}
	ok, err := w.orgs.NamedExists(ctx, Tags, cmd.Actor.OrgID, cmd.TagIDs)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, failure.New(failure.Unprocessable, "invalid_value", "One of the tags does not exist in your organization.")
	}
	choose := func(imp *importsession.Import) error {
		// Generated passwords replace a default password kept from before;
		// one typed now alongside them is refused by the domain.
		passwordSet := !cmd.Password.IsZero() || (cmd.KeepPassword && !cmd.GeneratePasswords && imp.Defaults().PasswordSet)
		return imp.ChooseDefaults(cmd.Actor, importsession.Defaults{
			PasswordSet: passwordSet, GeneratePasswords: cmd.GeneratePasswords, ForcePasswordChange: cmd.ForcePasswordChange,
			GroupID: cmd.GroupID, TagIDs: cmd.TagIDs, DeactivateDeparted: cmd.DeactivateDeparted,
		}, w.now())
	}
	// The domain is asked first, on a copy that is not saved: an import
	// past this step (validating, committing) or out of the actor's reach
	// must keep the default password it has, which its jobs read.
	imp, err := w.imports.Load(ctx, cmd.ImportID)
	if err != nil {
		return nil, err
	}
	if err := choose(imp); err != nil {
		return nil, err
	}
	// The secret is stored before the event so a validated import never
	// lacks the password its defaults promise.
	if !cmd.Password.IsZero() {
		if err := w.secrets.SaveDefaultPassword(ctx, cmd.ImportID, cmd.Actor.OrgID, cmd.Password); err != nil {
			return nil, err
		}
	}
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, choose)
}

// ImportCommand is a wizard step that needs nothing but the import.
type ImportCommand struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
}

// StartValidation asks for every row to be checked; a saga starts the job.
func (w *ImportWizard) StartValidation(ctx context.Context, cmd ImportCommand) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.StartValidation(cmd.Actor, w.now())
	})
}

// ChooseExistingPolicy says what to change on accounts that exist.
type ChooseExistingPolicy struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Policy        importsession.ExistingPolicy
}

// ChooseExistingPolicy records the policy.
func (w *ImportWizard) ChooseExistingPolicy(ctx context.Context, cmd ChooseExistingPolicy) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.ChooseExistingPolicy(cmd.Actor, cmd.Policy)
	})
}

// ChooseDeactivateDeparted says, on the review of a Google Classroom
// re-sync, whether the commit deactivates the students who left the class.
type ChooseDeactivateDeparted struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Deactivate    bool
}

// ChooseDeactivateDeparted records the choice; the rows need no second check.
func (w *ImportWizard) ChooseDeactivateDeparted(ctx context.Context, cmd ChooseDeactivateDeparted) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.ChooseDeactivateDeparted(cmd.Actor, cmd.Deactivate, w.now())
	})
}

// Verify records a verified page, or that verification is skipped.
type Verify struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	Skip          bool
	Page          int
}

// Verify records it.
func (w *ImportWizard) Verify(ctx context.Context, cmd Verify) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		if cmd.Skip {
			return imp.SkipVerification(cmd.Actor)
		}
		return imp.VerifyPage(cmd.Actor, cmd.Page)
	})
}

// Commit starts creating the accounts; a saga starts the chunk jobs.
type Commit struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
	// ConfirmChanged is the number of changed accounts the importer typed,
	// when the organization's change threshold asks for it (0: none).
	ConfirmChanged int
}

// Commit checks the change threshold against the organization as it is now.
func (w *ImportWizard) Commit(ctx context.Context, cmd Commit) (*importsession.Import, error) {
	org, err := w.orgs.Organization(ctx, cmd.Actor.OrgID)
	if err != nil {
		return nil, err
	}
	accounts, err := w.orgs.CountAccounts(ctx, cmd.Actor.OrgID)
	if err != nil {
		return nil, err
	}
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.Commit(cmd.Actor, importsession.CommitOptions{ChunkRows: w.chunkRows, ConfirmChanged: cmd.ConfirmChanged,
			ThresholdPercent: org.ChangeThresholdPercent, OrgAccounts: accounts}, w.now())
	})
}

// Undo undoes a completed import; a saga starts the chunk jobs.
func (w *ImportWizard) Undo(ctx context.Context, cmd ImportCommand) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.Undo(cmd.Actor, w.undo, w.chunkRows, w.now())
	})
}

// UndoWindow is how long after it completes an import can be undone.
func (w *ImportWizard) UndoWindow() time.Duration { return w.undo }

// Cancel gives up an import before it is committed.
func (w *ImportWizard) Cancel(ctx context.Context, cmd ImportCommand) (*importsession.Import, error) {
	return w.update(ctx, cmd.Actor, cmd.ImportID, cmd.CorrelationID, func(imp *importsession.Import) error {
		return imp.Cancel(cmd.Actor, w.now())
	})
}
