package importing

import (
	"context"
	"errors"
	"time"

	"github.com/rollcall/rollcall/domain/account"
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
	if imp, err = r.deactivateDeparted(ctx, job, imp); err != nil {
		return err
	}
	ended, err := r.endStage(ctx, job, imp, importsession.StateCommitting, (*importsession.Import).Complete, summaryMail)
	if ended {
		r.d.Observer.StageFinished("commit", r.d.Now().Sub(imp.Committed().CommittedAt))
	}
	return err
}

// endStage ends a commit or an undo whose chunks are all applied: once the
// account list shows the import, it records the end (end, from state) and
// queues the importer's email in one transaction, and says whether it did.
// A job whose import left that state meanwhile (a redelivery after the end)
// does nothing.
func (r *Runner) endStage(ctx context.Context, job Job, imp *importsession.Import, state importsession.State,
	end func(*importsession.Import, time.Time) error, mail func(*importsession.Import, string, string) Mail) (bool, error) {
	if err := r.waitForAccountList(ctx, imp); err != nil {
		return false, err
	}
	org, err := r.d.Orgs.Organization(ctx, imp.OrgID())
	if err != nil {
		return false, err
	}
	err = r.d.Work.Do(ctx, job, func(w Writes) error {
		done, err := w.UpdateImport(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			if imp.State() != state {
				return errStale
			}
			return end(imp, r.d.Now())
		})
		if err != nil {
			return err
		}
		w.QueueMail(mail(done, org.Name, r.d.PublicURL))
		w.Checkpoint(struct{}{})
		return nil
	})
	if errors.Is(err, errStale) {
		return false, nil
	}
	return err == nil, err
}

// deactivateDeparted deactivates, when the importer chose it, the accounts
// of the students who left the re-synced classes, each as the Account
// aggregate decides (active, within the importer's reach), and records the
// count on the import in the same transaction: a finish job run again
// finds it recorded and deactivates nothing twice. The list is bounded
// (importsession.MaxDeparted), so it is one short transaction.
func (r *Runner) deactivateDeparted(ctx context.Context, job Job, imp *importsession.Import) (*importsession.Import, error) {
	departed := imp.DeparturesToApply()
	if len(departed) == 0 {
		return imp, nil
	}
	keys := make([]string, len(departed))
	for i, d := range departed {
		keys[i] = account.EmailKey(d.Email)
	}
	org, err := r.d.Orgs.Organization(ctx, imp.OrgID())
	if err != nil {
		return nil, err
	}
	terms := imp.Terms(org.WelcomeEmailEnabled)
	for attempt := 0; ; attempt++ {
		holders, err := r.d.Holders.Holders(ctx, keys)
		if err != nil {
			return nil, err
		}
		now := r.d.Now()
		var changed []ChangedAccount
		outcome := importsession.DeparturesDeactivated{At: now.UTC()}
		for _, key := range keys {
			acc := holders[key]
			if acc == nil {
				continue
			}
			ok, refused := acc.DeactivateDeparted(terms, now)
			switch {
			case refused != nil:
				outcome.NotAllowed++
			case ok:
				outcome.Deactivated++
				outcome.AccountIDs = append(outcome.AccountIDs, acc.ID())
				changed = append(changed, ChangedAccount{Account: acc, EndSessions: true})
			}
		}
		var after *importsession.Import
		err = r.d.Work.Do(ctx, nil, func(w Writes) error {
			w.ChangeAccounts(changed, jobMeta(imp))
			after, err = w.UpdateImport(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
				if imp.State() != importsession.StateCommitting {
					return errStale
				}
				return imp.RecordDepartures(outcome)
			})
			return err
		})
		switch {
		case isConflict(err) && attempt < 5:
			continue
		case errors.Is(err, importsession.ErrDeparturesDone), errors.Is(err, errStale):
			return r.d.Imports.Load(ctx, imp.ID())
		case err != nil:
			return nil, err
		}
		r.d.Logger.InfoContext(ctx, "departed students deactivated", "import_id", imp.ID(), "deactivated", outcome.Deactivated, "not_allowed", outcome.NotAllowed)
		return after, nil
	}
}
