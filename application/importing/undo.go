package importing

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Job kinds of an undo.
const (
	KindUndoChunk  = "undo_import_chunk"
	KindUndoFinish = "finish_import_undo"
)

// UndoChunkJobID is the job of one chunk of the import's undo.
func UndoChunkJobID(importID uuid.UUID, chunk int) uuid.UUID {
	return derivedID(importID.String(), "undo", fmt.Sprint(chunk))
}

// UndoFinishJobID is the import's one undo completion job.
func UndoFinishJobID(importID uuid.UUID) uuid.UUID {
	return derivedID(importID.String(), "undo-finish")
}

// undoProgress is an undo chunk's checkpoint.
type undoProgress struct {
	After        int
	Done         int
	Deactivated  int
	Restored     int
	Kept         int
	KeptAccounts []importsession.KeptAccount
}

// UndoChunk undoes one chunk of an import's commit, batch by batch: the
// accounts the import created are deactivated (their welcome emails not
// sent yet are cancelled), the ones it changed get back what it changed,
// except the fields changed since — each decided by the Account aggregate.
// Like the commit, chunks are jobs any process may take, and a crash
// resumes after the last committed batch.
func (r *Runner) UndoChunk(ctx context.Context, job Job) error {
	var p payload
	if err := job.DecodePayload(&p); err != nil {
		return err
	}
	imp, ok, err := r.loadImport(ctx, job, importsession.StateUndoing)
	if !ok {
		return err
	}
	chunks := imp.UndoChunks()
	if p.Chunk < 0 || p.Chunk >= len(chunks) {
		return fmt.Errorf("importing: the undo of import %s has no chunk %d", imp.ID(), p.Chunk)
	}
	chunk := chunks[p.Chunk]
	var progress undoProgress
	if err := job.DecodeProgress(&progress); err != nil {
		return err
	}
	progress.After = max(progress.After, chunk.From)
	meta := undoMeta(imp)
	for {
		rows, err := r.d.Rows.ToUndo(ctx, imp.ID(), progress.After, chunk.To, r.d.BatchRows)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		if progress, err = r.undoBatch(ctx, job, imp, rows, progress); err != nil {
			return err
		}
		_, err = r.d.Imports.Update(ctx, imp.ID(), meta, func(imp *importsession.Import) error {
			return imp.RecordUndoProgress(importsession.UndoProgressed{Chunk: chunk.Index, Done: progress.Done, Deactivated: progress.Deactivated,
				Restored: progress.Restored, Kept: progress.Kept})
		})
		if err != nil {
			return err
		}
	}
	err = r.d.Work.Do(ctx, job, func(w Writes) error {
		after, err := w.UpdateImport(ctx, imp.ID(), meta, func(imp *importsession.Import) error {
			if imp.State() != importsession.StateUndoing {
				return errStale
			}
			return imp.CompleteUndoChunk(importsession.UndoChunkCompleted{Chunk: chunk.Index, Done: progress.Done, Deactivated: progress.Deactivated,
				Restored: progress.Restored, Kept: progress.Kept, KeptAccounts: progress.KeptAccounts})
		})
		if err != nil {
			return err
		}
		if after.UndoChunksLeft() == 0 {
			w.EnqueueJob(JobSpec{ID: UndoFinishJobID(imp.ID()), Kind: KindUndoFinish, OrgID: imp.OrgID(), Payload: payload{ImportID: imp.ID()}})
		}
		w.Checkpoint(progress)
		return nil
	})
	var done *importsession.ChunkDoneError
	if errors.Is(err, errStale) || errors.As(err, &done) {
		return nil
	}
	if err == nil {
		r.d.Logger.InfoContext(ctx, "undo chunk applied", "import_id", imp.ID(), "chunk", chunk.Index, "accounts", progress.Done)
	}
	return err
}

// undoMeta attributes the undo's events to the person who asked for it.
func undoMeta(imp *importsession.Import) command.Metadata {
	return command.Metadata{ActorID: imp.UndoStarted().ByActor, OrgID: imp.OrgID(), CorrelationID: imp.ID().String()}
}

func (r *Runner) undoBatch(ctx context.Context, job Job, imp *importsession.Import, rows []UndoRow, progress undoProgress) (undoProgress, error) {
	ids := make([]uuid.UUID, len(rows))
	for i, u := range rows {
		ids[i] = u.AccountID
	}
	for attempt := 0; ; attempt++ {
		accounts, err := r.d.Holders.ByID(ctx, ids)
		if err != nil {
			return progress, err
		}
		next := progress
		next.KeptAccounts = slices.Clone(progress.KeptAccounts)
		next.After = rows[len(rows)-1].Seq
		var changed []ChangedAccount
		var cancelled []string
		now := r.d.Now()
		for _, u := range rows {
			next.Done++
			acc := accounts[u.AccountID]
			if acc == nil {
				continue
			}
			if u.Created {
				if acc.UndoDeactivate(imp.ID(), now) {
					next.Deactivated++
					changed = append(changed, ChangedAccount{Account: acc, EndSessions: true})
					cancelled = append(cancelled, welcomeKey(acc.ID()))
				}
				continue
			}
			res := acc.UndoChange(imp.ID(), u.Change, u.PreviousMustChange, now)
			if len(acc.PendingEvents()) == 0 {
				continue
			}
			ch := ChangedAccount{Account: acc}
			if res.PasswordRestored {
				ch.PasswordHash, ch.EndSessions = u.PreviousHash, true
			}
			changed = append(changed, ch)
			if restoredAnything(acc) {
				next.Restored++
			}
			if len(res.Kept) > 0 {
				next.Kept++
				if len(next.KeptAccounts) < importsession.MaxFailedRows {
					next.KeptAccounts = append(next.KeptAccounts, importsession.KeptAccount{Email: acc.Email().String(), Fields: res.Kept})
				}
			}
		}
		err = r.d.Work.Do(ctx, job, func(w Writes) error {
			w.ChangeAccounts(changed, undoMeta(imp))
			w.CancelMail(cancelled...)
			w.Checkpoint(next)
			return nil
		})
		if isConflict(err) && attempt < 5 {
			continue
		}
		return next, err
	}
}

// isConflict: an account changed between reading it and writing; the batch
// is decided again against its new state.
func isConflict(err error) bool {
	var conflict *eventstore.ConcurrencyError
	return errors.As(err, &conflict)
}

func restoredAnything(a *account.Account) bool {
	for _, e := range a.PendingEvents() {
		if r, ok := e.(account.AccountRestored); ok {
			return r.FirstName != nil || r.LastName != nil || r.Group != nil || len(r.TagsRemoved) > 0 || r.PasswordRestored || r.Deactivated
		}
	}
	return false
}

// UndoFinish ends an undo whose chunks are all applied, once the account
// list shows it.
func (r *Runner) UndoFinish(ctx context.Context, job Job) error {
	imp, ok, err := r.loadImport(ctx, job, importsession.StateUndoing)
	if !ok {
		return err
	}
	if err := r.undoDepartures(ctx, imp); err != nil {
		return err
	}
	_, err = r.endStage(ctx, job, imp, importsession.StateUndoing, (*importsession.Import).CompleteUndo, undoneMail)
	return err
}

// undoDepartures reactivates the accounts of departed students that the
// undone re-sync deactivated, each as the Account aggregate decides (not
// if reactivated or deactivated again since), and records the counts on
// the import in the same transaction, so a repeated job does it once.
func (r *Runner) undoDepartures(ctx context.Context, imp *importsession.Import) error {
	ids := imp.DeparturesToUndo()
	if len(ids) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		accounts, err := r.d.Holders.ByID(ctx, ids)
		if err != nil {
			return err
		}
		now := r.d.Now()
		outcome := importsession.DeparturesUndone{At: now.UTC()}
		var changed []ChangedAccount
		for _, id := range ids {
			acc := accounts[id]
			switch {
			case acc == nil:
			case acc.UndoDeparture(imp.ID(), now):
				outcome.Reactivated++
				changed = append(changed, ChangedAccount{Account: acc})
			default:
				outcome.Kept++
			}
		}
		err = r.d.Work.Do(ctx, nil, func(w Writes) error {
			w.ChangeAccounts(changed, undoMeta(imp))
			_, err := w.UpdateImport(ctx, imp.ID(), undoMeta(imp), func(imp *importsession.Import) error {
				if imp.State() != importsession.StateUndoing {
					return errStale
				}
				return imp.RecordDeparturesUndone(outcome)
			})
			return err
		})
		switch {
		case isConflict(err) && attempt < 5:
			continue
		case errors.Is(err, importsession.ErrDeparturesDone), errors.Is(err, errStale):
			return nil
		}
		return err
	}
}

// waitForAccountList waits until the account list shows everything the
// import's latest event stands for.
func (r *Runner) waitForAccountList(ctx context.Context, imp *importsession.Import) error {
	deadline := time.Now().Add(readModelWait)
	for {
		shown, err := r.d.AccountList.ShowsImport(ctx, imp.ID())
		if err != nil {
			return err
		}
		if shown {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the account list has not caught up with the import yet")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
