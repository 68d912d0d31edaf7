package importing

import (
	"context"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/importsession"
)

// SagaGroup is the import saga's consumer group.
const SagaGroup = "saga.imports"

// HandleEvent drives an import's background work from its events: a
// validation job on ValidationStarted, one job per chunk on ImportCommitted,
// and the removal of the upload and every stored password when the import
// ends. Jobs are enqueued in the transaction of the event's delivery with
// ids derived from the event, so each starts exactly once.
func (r *Runner) HandleEvent(ctx context.Context, ev eventstore.Recorded, fx Effects) error {
	importID, ok := importsession.IDOfStream(ev.StreamID)
	if !ok {
		return nil
	}
	orgID, _ := uuid.Parse(ev.Metadata.OrgID)
	switch e := ev.Data.(type) {
	case importsession.ValidationStarted:
		return fx.EnqueueJob(ctx, JobSpec{ID: ValidateJobID(importID, ev.Version), Kind: KindValidate, OrgID: orgID, Payload: payload{ImportID: importID}})
	case importsession.ImportCommitted:
		for chunk := range max(1, e.Chunks) {
			if err := fx.EnqueueJob(ctx, JobSpec{ID: ChunkJobID(importID, chunk), Kind: KindCommitChunk, OrgID: orgID,
				Payload: payload{ImportID: importID, Chunk: chunk}}); err != nil {
				return err
			}
		}
	case importsession.UndoStarted:
		// The accounts the cards are for are being deactivated: their
		// passwords go now rather than at the end of the window.
		if err := fx.DestroyLoginCards(ctx, importID); err != nil {
			return err
		}
		for chunk := range max(1, e.Chunks) {
			if err := fx.EnqueueJob(ctx, JobSpec{ID: UndoChunkJobID(importID, chunk), Kind: KindUndoChunk, OrgID: orgID,
				Payload: payload{ImportID: importID, Chunk: chunk}}); err != nil {
				return err
			}
		}
	case importsession.ImportCompleted, importsession.ImportFailed, importsession.ImportCancelled:
		// Deleting twice is harmless, so a redelivery is too.
		if err := r.d.Uploads.Delete(ctx, importID); err != nil {
			return err
		}
		return fx.ForgetSecrets(ctx, importID)
	}
	return nil
}
