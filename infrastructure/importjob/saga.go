package importjob

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// SagaGroup is the import saga's consumer group.
const SagaGroup = "saga.imports"

// Saga drives an import's background work from its events: a validation
// job on ValidationStarted, the commit job on ImportCommitted, and the
// removal of the uploaded file and the default password when the import
// ends. Jobs are enqueued in the subscriber's transaction with ids derived
// from the event, so each is started exactly once.
func (r *Runner) Saga() postgres.Consumer {
	return postgres.Consumer{Group: SagaGroup, Handle: r.handleEvent}
}

func (r *Runner) handleEvent(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	if !strings.HasPrefix(ev.StreamID, "import-") {
		return nil
	}
	importID, err := uuid.Parse(strings.TrimPrefix(ev.StreamID, "import-"))
	if err != nil {
		return nil
	}
	orgID, _ := uuid.Parse(ev.Metadata.OrgID)
	switch ev.Data.(type) {
	case importsession.ValidationStarted:
		return postgres.EnqueueJob(ctx, tx, postgres.JobSpec{
			ID: ValidateJobID(importID, ev.Version), Kind: KindValidate, OrgID: orgID, Payload: Payload{ImportID: importID},
		})
	case importsession.ImportCommitted:
		return postgres.EnqueueJob(ctx, tx, postgres.JobSpec{
			ID: CommitJobID(importID), Kind: KindCommit, OrgID: orgID, Payload: Payload{ImportID: importID},
		})
	case importsession.ImportCompleted, importsession.ImportFailed, importsession.ImportCancelled:
		// Deleting twice is harmless, so a redelivery is too.
		if err := r.Uploads.Delete(ctx, importID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM import_secrets WHERE import_id = $1`, importID)
		return err
	}
	return nil
}
