package importing

import (
	"context"
	"errors"
	"time"

	"github.com/rollcall/rollcall/domain/importsession"
)

// readModelWait bounds how long the finish job waits, in one attempt, for
// the account list to show the import; past it the job is retried.
const readModelWait = 2 * time.Minute

// Finish completes an import whose chunks are all applied, once the account
// list shows every account it created or changed: an importer told
// "complete" who opens the list must find them all there. It records
// ImportCompleted (the summary adds the chunks up) and queues the summary
// email in one transaction.
func (r *Runner) Finish(ctx context.Context, job Job) error {
	imp, ok, err := r.loadImport(ctx, job, importsession.StateCommitting)
	if !ok {
		return err
	}
	if err := r.waitForAccountList(ctx, imp); err != nil {
		return err
	}
	org, err := r.d.Orgs.Organization(ctx, imp.OrgID())
	if err != nil {
		return err
	}
	err = r.d.Work.Do(ctx, job, func(w Writes) error {
		done, err := w.UpdateImport(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			if imp.State() != importsession.StateCommitting {
				return errStale
			}
			return imp.Complete(r.d.Now())
		})
		if err != nil {
			return err
		}
		w.QueueMail(summaryMail(done, org.Name, r.d.PublicURL))
		w.Checkpoint(struct{}{})
		return nil
	})
	if errors.Is(err, errStale) {
		return nil
	}
	if err == nil {
		r.d.Observer.StageFinished("commit", r.d.Now().Sub(imp.Committed().CommittedAt))
	}
	return err
}
