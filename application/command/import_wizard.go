package command

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// ImportWizard handles the wizard's commands, one file each
// (upload_file.go, map_columns.go, …): they share their dependencies.
type ImportWizard struct {
	imports   Imports
	uploads   Uploads
	secrets   ImportSecrets
	orgs      Organizations
	inspector FileInspector
	earlier   EarlierImports
	policy    PasswordPolicy
	maxUpload int64
	chunkRows int
	undo      time.Duration
	now       func() time.Time
	logger    *slog.Logger
}

// ImportWizardDeps are the wizard's dependencies.
type ImportWizardDeps struct {
	Imports   Imports
	Uploads   Uploads
	Secrets   ImportSecrets
	Orgs      Organizations
	Inspector FileInspector
	Earlier   EarlierImports
	Policy    PasswordPolicy
	MaxUpload int64
	// ChunkRows is how many rows one commit job applies (default 5000):
	// the commit of a large import is shared by every process.
	ChunkRows int
	// UndoWindow is how long after it completes an import can be undone
	// (default 30 days).
	UndoWindow time.Duration
	Now        func() time.Time
	Logger     *slog.Logger
}

// NewImportWizard refuses missing dependencies.
func NewImportWizard(d ImportWizardDeps) (*ImportWizard, error) {
	if d.Imports == nil || d.Uploads == nil || d.Secrets == nil || d.Orgs == nil || d.Inspector == nil || d.Earlier == nil ||
		d.Policy == nil || d.MaxUpload <= 0 || d.Now == nil || d.Logger == nil {
		return nil, errors.New("command: NewImportWizard needs every dependency")
	}
	if d.ChunkRows <= 0 {
		d.ChunkRows = 5000
	}
	if d.UndoWindow <= 0 {
		d.UndoWindow = 30 * 24 * time.Hour
	}
	return &ImportWizard{imports: d.Imports, uploads: d.Uploads, secrets: d.Secrets, orgs: d.Orgs, inspector: d.Inspector, earlier: d.Earlier,
		policy: d.Policy, maxUpload: d.MaxUpload, chunkRows: d.ChunkRows, undo: d.UndoWindow, now: d.Now, logger: d.Logger}, nil
}

func meta(actor tenancy.Actor, correlationID string) Metadata {
	return Metadata{ActorID: actor.ID, OrgID: actor.OrgID, CorrelationID: correlationID}
}

// update runs a domain command on an import the actor may see.
func (w *ImportWizard) update(ctx context.Context, actor tenancy.Actor, id uuid.UUID, correlationID string, fn func(*importsession.Import) error) (*importsession.Import, error) {
	return w.imports.Update(ctx, id, meta(actor, correlationID), fn)
}
