package importjob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
)

// commitProgress is the commit's checkpoint.
type commitProgress struct {
	Row        int // last data row handled
	Created    int
	Updated    int
	Failed     int
	FailedRows []importsession.FailedRow
}

// commitRow is a validated row to apply.
type commitRow struct {
	number      int
	status      string
	first, last string
	email, key  string
	groupID     uuid.UUID
	tagIDs      []uuid.UUID
	hasPassword bool
}

// Commit creates and updates the accounts of a committed import.
func (r *Runner) Commit(ctx context.Context, job *postgres.Job) error {
	imp, ok, err := r.loadImport(ctx, job, importsession.StateCommitting)
	if !ok {
		return err
	}
	var progress commitProgress
	if err := json.Unmarshal(job.Progress, &progress); err != nil {
		return err
	}
	org, err := r.Tenancy.Organization(ctx, imp.OrgID())
	if err != nil {
		return err
	}
	c := &committer{Runner: r, imp: imp, job: job, progress: progress, welcome: imp.SendWelcomeEmail() && org.WelcomeEmailEnabled, orgName: org.Name}
	start := time.Now()
	err = c.run(ctx)
	if err == nil {
		r.metrics().StageFinished("commit", time.Since(start))
	}
	if err != nil && ctx.Err() == nil && job.LastAttempt() {
		// Out of retries: say so on the import rather than leave it committing.
		r.Logger.ErrorContext(ctx, "commit failed for good", "import_id", imp.ID(), "err", err)
		_, uerr := r.Imports.Update(ctx, imp.ID(), command.Metadata{OrgID: imp.OrgID()}, func(imp *importsession.Import) error {
			if imp.State() != importsession.StateCommitting {
				return nil
			}
			return imp.Fail(fmt.Sprintf("The commit stopped after %d attempts: %v. The accounts created so far are kept; contact support.", job.Attempt, err), r.Now())
		})
		return errors.Join(err, uerr)
	}
	return err
}

func (c *committer) run(ctx context.Context) error {
	r, imp := c.Runner, c.imp
	if err := c.prepareDefaultPassword(ctx); err != nil {
		return err
	}
	if imp.Source() != importsession.SourceClassroom && hasPasswordColumn(imp.Mapping()) {
		f, err := r.Uploads.Open(ctx, imp.ID())
		if err != nil {
			return fmt.Errorf("open the upload: %w", err)
		}
		defer f.Close()
		file, err := spreadsheet.Open(f, f.Size(), imp.File().FileName, r.Reader)
		if err != nil {
			return err
		}
		defer file.Close()
		c.file = file
		c.passwordCol = importsession.MappingFromStorage(file.Info().Headers, imp.Mapping()).Index()[importsession.FieldPassword][0]
	}
	for {
		rows, err := c.nextRows(ctx)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		if err := c.applyBatch(ctx, rows); err != nil {
			return err
		}
	}
	return c.complete(ctx)
}

func hasPasswordColumn(mapping map[string]string) bool {
	for _, f := range mapping {
		if f == importsession.FieldPassword {
			return true
		}
	}
	return false
}

type committer struct {
	*Runner
	imp      *importsession.Import
	job      *postgres.Job
	progress commitProgress
	welcome  bool
	orgName  string

	defaultPassword secret.Secret
	// sharedHash is the default password hashed once for the whole import,
	// used only when every account must change it at first sign-in (see
	// docs/security.md).
	sharedHash string

	file        *spreadsheet.Reader
	passwordCol int
}

func (c *committer) prepareDefaultPassword(ctx context.Context) error {
	d := c.imp.Defaults()
	if !d.PasswordSet {
		return nil
	}
	pw, ok, err := c.Secrets.DefaultPassword(ctx, c.imp.ID())
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the import's default password is no longer stored")
	}
	c.defaultPassword = pw
	if d.ForcePasswordChange {
		start := time.Now()
		c.sharedHash, err = c.Hasher.Hash(pw)
		c.hashing.Add(int64(time.Since(start)))
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *committer) nextRows(ctx context.Context) ([]commitRow, error) {
	rows, err := c.Pool.Query(ctx, `
		SELECT row_number, status, first_name, last_name, email, email_key, group_id, tag_ids, has_password
		FROM import_rows
		WHERE import_id = $1 AND row_number > $2 AND status IN ('new', 'existing')
		ORDER BY row_number LIMIT $3`, c.imp.ID(), c.progress.Row, c.batchSize())
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (commitRow, error) {
		var cr commitRow
		var group *uuid.UUID
		err := row.Scan(&cr.number, &cr.status, &cr.first, &cr.last, &cr.email, &cr.key, &group, &cr.tagIDs, &cr.hasPassword)
		if group != nil {
			cr.groupID = *group
		}
		return cr, err
	})
}

// passwords reads the rows' own passwords from the file, moving forward.
func (c *committer) passwords(rows []commitRow) (map[int]secret.Secret, error) {
	out := map[int]secret.Secret{}
	if c.file == nil {
		return out, nil
	}
	for _, cr := range rows {
		if !cr.hasPassword {
			continue
		}
		for {
			row, err := c.file.Next()
			if err == io.EOF {
				return nil, fmt.Errorf("the upload ends before row %d", cr.number)
			}
			if err != nil {
				return nil, err
			}
			if row.Number < cr.number {
				continue
			}
			if row.Number == cr.number {
				out[cr.number] = secret.New(strings.TrimSpace(row.Cells[c.passwordCol]))
			}
			break
		}
	}
	return out, nil
}

// hashes computes the password hash of every row that needs one, in
// parallel across cores and outside any transaction.
func (c *committer) hashes(ctx context.Context, rows []commitRow, own map[int]secret.Secret) (map[int]string, error) {
	policy := c.imp.ExistingPolicy()
	var toHash []secret.Secret
	var rowOf []int
	out := map[int]string{}
	for _, cr := range rows {
		if cr.status == importsession.RowExisting && !policy.UpdatePassword {
			continue
		}
		if pw, ok := own[cr.number]; ok {
			toHash, rowOf = append(toHash, pw), append(rowOf, cr.number)
			continue
		}
		switch {
		case c.sharedHash != "":
			out[cr.number] = c.sharedHash
		case !c.defaultPassword.IsZero():
			toHash, rowOf = append(toHash, c.defaultPassword), append(rowOf, cr.number)
		}
	}
	start := time.Now()
	hashed, err := c.Hasher.HashMany(ctx, toHash, 0)
	c.hashing.Add(int64(time.Since(start)))
	if err != nil {
		return nil, err
	}
	for i, h := range hashed {
		out[rowOf[i]] = h
	}
	return out, nil
}

func (c *committer) applyBatch(ctx context.Context, rows []commitRow) error {
	own, err := c.passwords(rows)
	if err != nil {
		return err
	}
	hashes, err := c.hashes(ctx, rows, own)
	if err != nil {
		return err
	}
	// Rows whose email was claimed by someone else since validation fail;
	// the batch is tried again without them.
	lost := map[int]string{}
	for attempt := 0; ; attempt++ {
		existing, err := c.existingAccounts(ctx, rows)
		if err != nil {
			return err
		}
		next := c.progress
		next.FailedRows = slices.Clone(c.progress.FailedRows)
		err = pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
			return c.applyTx(ctx, tx, rows, hashes, existing, lost, &next)
		})
		var taken *takenError
		if errors.As(err, &taken) && attempt < 5 {
			for row, code := range taken.rows {
				lost[row] = code
			}
			continue
		}
		if err != nil {
			return err
		}
		c.metrics().AccountsCommitted(next.Created-c.progress.Created, next.Updated-c.progress.Updated)
		c.progress = next
		return nil
	}
}

type takenError struct{ rows map[int]string }

func (e *takenError) Error() string {
	return fmt.Sprintf("%d emails were claimed concurrently", len(e.rows))
}

type login struct {
	accountID, orgID uuid.UUID
}

func (c *committer) existingAccounts(ctx context.Context, rows []commitRow) (map[string]login, error) {
	keys := make([]string, len(rows))
	for i, cr := range rows {
		keys[i] = cr.key
	}
	res, err := c.Pool.Query(ctx, `SELECT email_key, account_id, org_id FROM account_logins WHERE email_key = ANY($1)`, keys)
	if err != nil {
		return nil, err
	}
	defer res.Close()
	out := map[string]login{}
	for res.Next() {
		var key string
		var l login
		if err := res.Scan(&key, &l.accountID, &l.orgID); err != nil {
			return nil, err
		}
		out[key] = l
	}
	return out, res.Err()
}

func (c *committer) applyTx(ctx context.Context, tx pgx.Tx, rows []commitRow, hashes map[int]string, existing map[string]login,
	lost map[int]string, next *commitProgress) error {
	d, policy, now := c.imp.Defaults(), c.imp.ExistingPolicy(), c.Now()
	meta := eventstore.Metadata{ActorID: c.imp.CreatedBy().String(), OrgID: c.imp.OrgID().String(), CorrelationID: c.imp.ID().String()}
	var (
		appends  []eventstore.Append
		created  []account.AccountCreated
		newRows  []commitRow
		updates  []commitRow
		welcomes []Mail
	)
	fail := func(cr commitRow, code string) {
		next.Failed++
		if len(next.FailedRows) < importsession.MaxFailedRows {
			next.FailedRows = append(next.FailedRows, importsession.FailedRow{Row: cr.number, Email: cr.email, Code: code})
		}
	}
	for _, cr := range rows {
		next.Row = cr.number
		if code, ok := lost[cr.number]; ok {
			fail(cr, code)
			continue
		}
		l, exists := existing[cr.key]
		switch {
		case exists && l.orgID != c.imp.OrgID():
			fail(cr, "email_taken_by_another_organization")
		case cr.status == importsession.RowNew && exists:
			fail(cr, "email_taken")
		case cr.status == importsession.RowExisting && !exists:
			fail(cr, "account_gone")
		case cr.status == importsession.RowNew:
			group := cr.groupID
			if group == uuid.Nil {
				group = d.GroupID
			}
			ev, err := account.Create(account.New{
				ID: uuid.New(), OrgID: c.imp.OrgID(), Email: account.EmailFromStorage(cr.email), FirstName: cr.first, LastName: cr.last,
				Role: c.imp.Role(), GroupID: group, TagIDs: union(cr.tagIDs, d.TagIDs), ImportID: c.imp.ID(), ImportRow: cr.number,
				MustChangePassword: d.ForcePasswordChange,
			}, now)
			if err != nil {
				fail(cr, "invalid")
				continue
			}
			if hashes[cr.number] == "" {
				fail(cr, "password_missing")
				continue
			}
			created, newRows = append(created, ev), append(newRows, cr)
			rowKey := c.imp.ID().String() + ":row:" + itoa(int64(cr.number))
			events := []eventstore.Event{{ID: uuid.NewSHA1(jobNamespace, []byte(rowKey)), Data: ev, Metadata: meta}}
			if c.welcome {
				welcomes = append(welcomes, welcomeMail(c.imp.OrgID(), c.orgName, ev))
				// The outbox row and this event commit together, so the
				// account's audit trail says the email was queued exactly
				// when it was.
				events = append(events, eventstore.Event{ID: uuid.NewSHA1(jobNamespace, []byte(rowKey+":welcome")),
					Data: account.WelcomeEmailQueued{AccountID: ev.AccountID, ImportID: c.imp.ID()}, Metadata: meta})
			}
			appends = append(appends, eventstore.Append{StreamID: account.StreamID(ev.AccountID), ExpectedVersion: eventstore.NoStream, Events: events})
		default:
			upd := account.AccountUpdated{AccountID: l.accountID, ImportID: c.imp.ID(), ImportRow: cr.number, UpdatedAt: now.UTC()}
			if policy.UpdatePassword && hashes[cr.number] != "" {
				upd.PasswordChanged = true
			}
			group := cr.groupID
			if group == uuid.Nil {
				group = d.GroupID
			}
			if policy.UpdateGroup && group != uuid.Nil {
				upd.GroupChanged, upd.GroupID = true, group
			}
			if policy.UpdateTags {
				upd.TagIDsAdded = union(cr.tagIDs, d.TagIDs)
			}
			if !upd.PasswordChanged && !upd.GroupChanged && len(upd.TagIDsAdded) == 0 {
				continue // nothing the policy allows to change
			}
			cr.groupID = upd.GroupID
			updates = append(updates, cr)
			next.Updated++
			appends = append(appends, eventstore.Append{StreamID: account.StreamID(l.accountID), ExpectedVersion: eventstore.AnyVersion,
				Events: []eventstore.Event{{ID: uuid.NewSHA1(jobNamespace, []byte(c.imp.ID().String()+":row:"+itoa(int64(cr.number)))), Data: upd, Metadata: meta}}})
		}
	}
	next.Created += len(created)

	// The import's progress goes in the same append: one lock round, one commit.
	err := c.Imports.UpdateTx(ctx, tx, c.imp.ID(), command.Metadata{ActorID: c.imp.CreatedBy(), OrgID: c.imp.OrgID(), CorrelationID: meta.CorrelationID},
		func(imp *importsession.Import) error {
			return imp.RecordProgress(importsession.CommitProgressed{Done: next.Created + next.Updated + next.Failed, Created: next.Created, Updated: next.Updated, Failed: next.Failed})
		}, appends...)
	if err != nil {
		return err
	}
	if err := c.insertLogins(ctx, tx, created, newRows, hashes); err != nil {
		return err
	}
	for _, cr := range updates {
		l := existing[cr.key]
		if _, err := tx.Exec(ctx, `
			UPDATE account_logins SET
				password_hash = CASE WHEN $2 <> '' THEN $2 ELSE password_hash END,
				must_change_password = CASE WHEN $2 <> '' THEN $3 ELSE must_change_password END,
				group_id = CASE WHEN $4::uuid IS NOT NULL THEN $4 ELSE group_id END,
				updated_at = now()
			WHERE account_id = $1`, l.accountID, passwordIf(policy.UpdatePassword, hashes[cr.number]), d.ForcePasswordChange, nullUUID(cr.groupID, policy.UpdateGroup)); err != nil {
			return err
		}
	}
	if len(welcomes) > 0 {
		if err := c.Mail.Enqueue(ctx, tx, welcomes...); err != nil {
			return err
		}
	}
	return c.job.Checkpoint(ctx, tx, next)
}

func (c *committer) insertLogins(ctx context.Context, tx pgx.Tx, created []account.AccountCreated, rows []commitRow, hashes map[int]string) error {
	if len(created) == 0 {
		return nil
	}
	ids, orgs, groups := make([]uuid.UUID, len(created)), make([]uuid.UUID, len(created)), make([]*uuid.UUID, len(created))
	emails, keys, roles, hs := make([]string, len(created)), make([]string, len(created)), make([]string, len(created)), make([]string, len(created))
	must := make([]bool, len(created))
	for i, ev := range created {
		ids[i], orgs[i], groups[i] = ev.AccountID, ev.OrgID, nullUUID(ev.GroupID, true)
		emails[i], keys[i], roles[i], hs[i], must[i] = ev.Email, rows[i].key, ev.Role, hashes[rows[i].number], ev.MustChangePassword
	}
	res, err := tx.Query(ctx, `
		INSERT INTO account_logins (account_id, org_id, email, email_key, role, group_id, password_hash, must_change_password)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::bool[])
		ON CONFLICT (email_key) DO NOTHING
		RETURNING email_key`, ids, orgs, emails, keys, roles, groups, hs, must)
	if err != nil {
		return err
	}
	inserted, err := pgx.CollectRows(res, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(inserted) == len(created) {
		return nil
	}
	got := map[string]bool{}
	for _, k := range inserted {
		got[k] = true
	}
	taken := &takenError{rows: map[int]string{}}
	for _, cr := range rows {
		if !got[cr.key] {
			taken.rows[cr.number] = "email_taken"
		}
	}
	return taken
}

func (c *committer) complete(ctx context.Context) error {
	p := c.progress
	summary := importsession.ImportCompleted{
		Created: p.Created, Updated: p.Updated, Failed: p.Failed, FailedRows: p.FailedRows,
		Skipped: c.imp.Counts().Invalid, CompletedAt: c.Now().UTC(),
	}
	return pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		err := c.Imports.UpdateTx(ctx, tx, c.imp.ID(), command.Metadata{ActorID: c.imp.CreatedBy(), OrgID: c.imp.OrgID(), CorrelationID: c.imp.ID().String()},
			func(imp *importsession.Import) error {
				if imp.State() != importsession.StateCommitting {
					return errStale
				}
				return imp.Complete(summary)
			})
		if errors.Is(err, errStale) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := c.Mail.Enqueue(ctx, tx, summaryMail(c.imp, summary)); err != nil {
			return err
		}
		return c.job.Checkpoint(ctx, tx, p)
	})
}

func union(a, b []uuid.UUID) []uuid.UUID {
	out := slices.Clone(a)
	for _, id := range b {
		if !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	if out == nil {
		out = []uuid.UUID{}
	}
	return out
}

func passwordIf(ok bool, hash string) string {
	if !ok {
		return ""
	}
	return hash
}

func nullUUID(id uuid.UUID, ok bool) *uuid.UUID {
	if !ok || id == uuid.Nil {
		return nil
	}
	return &id
}
