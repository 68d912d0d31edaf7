package importing

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/passphrase"
	"github.com/rollcall/rollcall/domain/secret"
)

// chunkProgress is a chunk job's checkpoint.
type chunkProgress struct {
	After      int // position (SeqAll) of the last row handled
	Done       int
	Created    int
	Updated    int
	Unchanged  int
	Failed     int
	FailedRows []importsession.FailedRow
}

// CommitChunk applies one chunk of a committed import: batch by batch, it
// asks the domain what each row does to the accounts as they are now and
// writes exactly that, with the checkpoint, in one short transaction. The
// chunk's last transaction records it complete; the one that completes the
// last chunk starts the finish job. Chunks are independent jobs, so every
// process shares one commit.
func (r *Runner) CommitChunk(ctx context.Context, job Job) error {
	var p payload
	if err := job.DecodePayload(&p); err != nil {
		return err
	}
	imp, ok, err := r.loadImport(ctx, job, importsession.StateCommitting)
	if !ok {
		return err
	}
	chunks := imp.Chunks()
	if p.Chunk < 0 || p.Chunk >= len(chunks) {
		return fmt.Errorf("importing: import %s has no chunk %d", imp.ID(), p.Chunk)
	}
	err = r.commitChunk(ctx, job, imp, chunks[p.Chunk])
	var done *importsession.ChunkDoneError
	switch {
	case errors.Is(err, errStale), errors.As(err, &done):
		return nil
	case err != nil && ctx.Err() == nil && job.LastAttempt():
		// Out of retries: say so on the import rather than leave it
		// committing for ever.
		r.d.Logger.ErrorContext(ctx, "commit failed for good", "import_id", imp.ID(), "chunk", p.Chunk, "err", err)
		_, uerr := r.d.Imports.Update(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			if imp.State() != importsession.StateCommitting {
				return nil
			}
			return imp.Fail(fmt.Sprintf("The commit stopped after %d attempts: %v. The accounts created so far are kept; contact support.", job.Attempts(), err), r.d.Now())
		})
		return errors.Join(err, uerr)
	}
	return err
}

func (r *Runner) commitChunk(ctx context.Context, job Job, imp *importsession.Import, chunk importsession.Chunk) error {
	var progress chunkProgress
	if err := job.DecodeProgress(&progress); err != nil {
		return err
	}
	if progress.After < chunk.From {
		progress.After = chunk.From
	}
	org, err := r.d.Orgs.Organization(ctx, imp.OrgID())
	if err != nil {
		return err
	}
	c := &committer{Runner: r, imp: imp, terms: imp.Terms(org.WelcomeEmailEnabled), orgName: org.Name, chunk: chunk.Index}
	if err := c.prepareDefaultPassword(ctx); err != nil {
		return err
	}
	for {
		rows, err := r.d.Rows.ToCommit(ctx, imp.ID(), progress.After, chunk.To, r.d.BatchRows)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		next, err := c.applyBatch(ctx, job, rows, progress)
		if err != nil {
			return err
		}
		progress = next
		// Progress for the pages, outside the batch's transaction so chunks
		// in several processes do not queue behind the import's stream. The
		// counts are the chunk's so far: one lost in a crash is made good by
		// the next.
		_, err = r.d.Imports.Update(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			return imp.RecordProgress(importsession.CommitProgressed{Chunk: chunk.Index, Done: progress.Done, Created: progress.Created,
				Updated: progress.Updated, Unchanged: progress.Unchanged, Failed: progress.Failed})
		})
		if err != nil {
			return err
		}
	}
	err = r.d.Work.Do(ctx, job, func(w Writes) error {
		after, err := w.UpdateImport(ctx, imp.ID(), jobMeta(imp), func(imp *importsession.Import) error {
			if imp.State() != importsession.StateCommitting {
				return errStale
			}
			return imp.CompleteChunk(importsession.CommitChunkCompleted{Chunk: chunk.Index, Done: progress.Done, Created: progress.Created,
				Updated: progress.Updated, Unchanged: progress.Unchanged, Failed: progress.Failed, FailedRows: progress.FailedRows})
		})
		if err != nil {
			return err
		}
		if after.ChunksLeft() == 0 {
			w.EnqueueJob(JobSpec{ID: FinishJobID(imp.ID()), Kind: KindFinish, OrgID: imp.OrgID(), Payload: payload{ImportID: imp.ID()}})
		}
		w.Checkpoint(progress)
		return nil
	})
	if err == nil {
		r.d.Logger.InfoContext(ctx, "commit chunk applied", "import_id", imp.ID(), "chunk", chunk.Index, "rows", progress.Done,
			"created", progress.Created, "changed", progress.Updated, "failed", progress.Failed)
	}
	return err
}

type committer struct {
	*Runner
	imp     *importsession.Import
	terms   account.ImportTerms
	orgName string
	chunk   int

	defaultPassword secret.Secret
	// sharedHash is the default password hashed once for the chunk, used
	// only when every account must change it at first sign-in (see
	// docs/security.md).
	sharedHash string
}

func (c *committer) prepareDefaultPassword(ctx context.Context) error {
	if !c.terms.DefaultPassword {
		return nil
	}
	pw, ok, err := c.d.DefaultPasswords.DefaultPassword(ctx, c.imp.ID())
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the import's default password is no longer stored")
	}
	c.defaultPassword = pw
	if c.terms.MustChangePassword {
		start := time.Now()
		c.sharedHash, err = c.d.Hasher.Hash(pw)
		c.hashing.Add(int64(time.Since(start)))
		if err != nil {
			return err
		}
	}
	return nil
}

// applyBatch plans the rows against the accounts as they are, hashes the
// passwords the plan needs (outside any transaction, on every core) and
// writes the plan. Emails claimed by someone else meanwhile make the batch
// planned again, those rows then failing.
func (c *committer) applyBatch(ctx context.Context, job Job, rows []CommitRow, progress chunkProgress) (chunkProgress, error) {
	planRows := make([]account.PlanRow, len(rows))
	keys := make([]string, len(rows))
	sealed := make(map[int][]byte, len(rows))
	seqOf := make(map[int]int, len(rows))
	for i, cr := range rows {
		planRows[i] = account.PlanRow{ImportRow: cr.Row, Reviewed: cr.Reviewed}
		keys[i] = cr.Row.Email.Key()
		seqOf[cr.Row.Number] = cr.SeqAll
		if cr.SealedPassword != nil {
			sealed[cr.Row.Number] = cr.SealedPassword
		}
	}
	last := rows[len(rows)-1].SeqAll
	for attempt := 0; ; attempt++ {
		holders, err := c.d.Holders.Holders(ctx, keys)
		if err != nil {
			return progress, err
		}
		plan := account.PlanBatch(c.terms, c.imp.ExistingPolicy(), planRows, holders, uuid.New, c.d.Now())
		hashes, cards, err := c.hashes(ctx, plan, sealed)
		if err != nil {
			return progress, err
		}
		next := progress
		next.FailedRows = slices.Clone(progress.FailedRows)
		next.After = last
		next.Done += len(rows)
		next.Created += len(plan.Created)
		next.Updated += len(plan.Changed)
		next.Unchanged += len(plan.Unchanged)
		next.Failed += len(plan.Failed)
		for _, f := range plan.Failed {
			if len(next.FailedRows) < importsession.MaxFailedRows {
				next.FailedRows = append(next.FailedRows, importsession.FailedRow(f))
			}
		}
		err = c.d.Work.Do(ctx, job, func(w Writes) error {
			meta := jobMeta(c.imp)
			created := make([]NewAccount, len(plan.Created))
			var welcomes []Mail
			for i, cr := range plan.Created {
				created[i] = NewAccount{Account: cr.Account, PasswordHash: hashes[cr.Row], Seq: seqOf[cr.Row]}
				if queuedWelcome(cr.Account) {
					welcomes = append(welcomes, welcomeMail(c.orgName, c.d.PublicURL, c.imp.ID(), cr.Account, cr.GeneratedPassword))
				}
			}
			w.CreateAccounts(created, meta)
			if len(cards) > 0 {
				// With the accounts, in one transaction: a card is never
				// kept for an account that was not created, nor an account
				// created without its card.
				w.StoreLoginCards(c.imp.ID(), c.imp.OrgID(), c.imp.LoginCardsExpireAt(), cards)
			}
			changed := make([]ChangedAccount, len(plan.Changed))
			for i, ch := range plan.Changed {
				changed[i] = ChangedAccount{Account: ch.Account, Seq: seqOf[ch.Row]}
				if ch.PasswordReplaced {
					// Whoever signed in with the old password is signed out.
					changed[i].PasswordHash, changed[i].EndSessions = hashes[ch.Row], true
				}
			}
			w.ChangeAccounts(changed, meta)
			w.QueueMail(welcomes...)
			w.Checkpoint(next)
			return nil
		})
		var taken *EmailsTakenError
		if (errors.As(err, &taken) || isConflict(err)) && attempt < 5 {
			continue
		}
		if err != nil {
			return progress, err
		}
		c.d.Observer.AccountsCommitted(len(plan.Created), len(plan.Changed))
		return next, nil
	}
}

// hashes computes the password hash of every row the plan gives a new
// password, in parallel across cores and outside any transaction: the
// row's own (sealed since validation), a password generated for the
// account (sealed at once for its login card, then forgotten), or the
// default.
func (c *committer) hashes(ctx context.Context, plan account.Plan, sealed map[int][]byte) (map[int]string, []LoginCard, error) {
	out := map[int]string{}
	var toHash []secret.Secret
	var rowOf []int
	var cards []LoginCard
	need := func(row int, own bool) error {
		if own {
			pw, err := c.d.Sealer.Open(c.imp.ID(), row, sealed[row])
			if err != nil {
				return fmt.Errorf("row %d's password: %w", row, err)
			}
			toHash, rowOf = append(toHash, pw), append(rowOf, row)
			return nil
		}
		switch {
		case c.sharedHash != "":
			out[row] = c.sharedHash
		case !c.defaultPassword.IsZero():
			toHash, rowOf = append(toHash, c.defaultPassword), append(rowOf, row)
		}
		return nil
	}
	for _, cr := range plan.Created {
		if cr.GeneratedPassword {
			pw, err := passphrase.Generated.Generate(rand.Reader)
			if err != nil {
				return nil, nil, err
			}
			card, err := c.d.Sealer.SealCard(cr.Account.ID(), pw)
			if err != nil {
				return nil, nil, err
			}
			cards = append(cards, LoginCard{AccountID: cr.Account.ID(), Row: cr.Row, Sealed: card})
			toHash, rowOf = append(toHash, pw), append(rowOf, cr.Row)
			continue
		}
		if err := need(cr.Row, cr.OwnPassword); err != nil {
			return nil, nil, err
		}
	}
	for _, ch := range plan.Changed {
		if ch.PasswordReplaced {
			if err := need(ch.Row, ch.OwnPassword); err != nil {
				return nil, nil, err
			}
		}
	}
	start := time.Now()
	hashed, err := c.d.Hasher.HashMany(ctx, toHash, 0)
	c.hashing.Add(int64(time.Since(start)))
	if err != nil {
		return nil, nil, err
	}
	for i, h := range hashed {
		out[rowOf[i]] = h
	}
	return out, cards, nil
}

func queuedWelcome(a *account.Account) bool {
	for _, e := range a.PendingEvents() {
		if _, ok := e.(account.WelcomeEmailQueued); ok {
			return true
		}
	}
	return false
}
