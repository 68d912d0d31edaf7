package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

// MailQueue writes emails into the outbox inside a transaction (the mail
// adapter's Outbox).
type MailQueue interface {
	Enqueue(ctx context.Context, tx pgx.Tx, mails ...importing.Mail) error
}

// UnitOfWork writes what an import job decided for a batch in one short
// transaction, in a fixed order: the events of every stream first (one
// append, so the transaction's id comes after the streams' locks and
// consumers see each stream in order), then the accounts' state and
// logins, the review rows, the outbox, new jobs and last the job's
// checkpoint, which fails the whole transaction if another worker took the
// job over.
type UnitOfWork struct {
	pool    *pgxpool.Pool
	store   *EventStore
	imports *Imports
	mail    MailQueue
}

var _ importing.UnitOfWork = (*UnitOfWork)(nil)

// NewUnitOfWork returns the unit of work.
func NewUnitOfWork(pool *pgxpool.Pool, store *EventStore, imports *Imports, mail MailQueue) (*UnitOfWork, error) {
	if pool == nil || store == nil || imports == nil || mail == nil {
		return nil, errors.New("postgres: NewUnitOfWork needs a pool, the event store, the imports and the outbox")
	}
	return &UnitOfWork{pool: pool, store: store, imports: imports, mail: mail}, nil
}

// Do runs fn and writes what it asked for; a concurrency conflict on a
// stream runs fn again with fresh state.
func (u *UnitOfWork) Do(ctx context.Context, job importing.Job, fn func(w importing.Writes) error) error {
	for attempt := 0; ; attempt++ {
		w := &writes{u: u}
		if err := fn(w); err != nil {
			return err
		}
		if w.err != nil {
			return w.err
		}
		err := pgx.BeginFunc(ctx, u.pool, func(tx pgx.Tx) error { return w.flush(ctx, tx, job) })
		var conflict *eventstore.ConcurrencyError
		if errors.As(err, &conflict) && attempt < 10 {
			continue
		}
		return err
	}
}

// writes collects what one unit of work writes.
type writes struct {
	u          *UnitOfWork
	appends    []eventstore.Append
	created    []importing.NewAccount
	changed    []importing.ChangedAccount
	rows       []rowsToWrite
	mails      []importing.Mail
	jobs       []importing.JobSpec
	checkpoint any
	err        error
}

type rowsToWrite struct {
	importID, orgID uuid.UUID
	rows            []importing.ValidatedRow
}

func (w *writes) UpdateImport(ctx context.Context, id uuid.UUID, meta command.Metadata, fn func(*importsession.Import) error) (*importsession.Import, error) {
	imp, err := w.u.imports.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := fn(imp); err != nil {
		return nil, err
	}
	if len(imp.PendingEvents()) > 0 {
		w.appends = append(w.appends, importAppend(imp, meta))
	}
	return imp, nil
}

func (w *writes) CreateAccounts(accounts []importing.NewAccount, meta command.Metadata) {
	for _, a := range accounts {
		w.appends = append(w.appends, accountAppend(a.Account, eventstore.NoStream, meta))
	}
	w.created = append(w.created, accounts...)
}

func (w *writes) ChangeAccounts(accounts []importing.ChangedAccount, meta command.Metadata) {
	for _, a := range accounts {
		w.appends = append(w.appends, accountAppend(a.Account, a.Account.Version(), meta))
	}
	w.changed = append(w.changed, accounts...)
}

func (w *writes) WriteRows(importID, orgID uuid.UUID, rows []importing.ValidatedRow) {
	w.rows = append(w.rows, rowsToWrite{importID: importID, orgID: orgID, rows: rows})
}

func (w *writes) QueueMail(mails ...importing.Mail) { w.mails = append(w.mails, mails...) }

func (w *writes) EnqueueJob(spec importing.JobSpec) { w.jobs = append(w.jobs, spec) }

func (w *writes) Checkpoint(progress any) { w.checkpoint = progress }

func (w *writes) flush(ctx context.Context, tx pgx.Tx, job importing.Job) error {
	if err := w.u.store.AppendTx(ctx, tx, w.appends...); err != nil {
		return err
	}
	if err := insertAccounts(ctx, tx, w.created); err != nil {
		return err
	}
	if err := updateAccounts(ctx, tx, w.changed); err != nil {
		return err
	}
	for _, r := range w.rows {
		if err := insertImportRows(ctx, tx, r.importID, r.orgID, r.rows); err != nil {
			return err
		}
	}
	if len(w.mails) > 0 {
		if err := w.u.mail.Enqueue(ctx, tx, w.mails...); err != nil {
			return err
		}
	}
	for _, spec := range w.jobs {
		if err := EnqueueJob(ctx, tx, JobSpec(spec)); err != nil {
			return err
		}
	}
	if w.checkpoint == nil {
		return nil
	}
	j, ok := job.(*Job)
	if !ok {
		return fmt.Errorf("postgres: cannot checkpoint a %T", job)
	}
	return j.Checkpoint(ctx, tx, w.checkpoint)
}

// accountAppend is the account's pending events as one stream's append.
func accountAppend(a *account.Account, expected int64, meta command.Metadata) eventstore.Append {
	md := eventMetadata(meta)
	events := make([]eventstore.Event, len(a.PendingEvents()))
	for i, e := range a.PendingEvents() {
		events[i] = eventstore.Event{ID: uuid.New(), Data: e, Metadata: md}
	}
	return eventstore.Append{StreamID: account.StreamID(a.ID()), ExpectedVersion: expected, Events: events}
}

// insertAccounts stores new accounts' state and claims their emails. An
// email claimed meanwhile by another writer fails the transaction with the
// keys taken, for the batch to be planned again.
func insertAccounts(ctx context.Context, tx pgx.Tx, accounts []importing.NewAccount) error {
	if len(accounts) == 0 {
		return nil
	}
	cols := newAccountColumns(len(accounts))
	for _, a := range accounts {
		cols.add(a.Account.Snapshot(), a.PasswordHash)
	}
	rows, err := tx.Query(ctx, `
		INSERT INTO account_logins (account_id, org_id, email, email_key, first_name, last_name, role, group_id, tag_ids,
			preset_id, import_id, active, must_change_password, version, password_hash)
		SELECT a.id, a.org_id, a.email, a.email_key, a.first_name, a.last_name, a.role, a.group_id,
			coalesce((SELECT array_agg(t::uuid) FROM unnest(string_to_array(a.tag_ids, ',')) AS t WHERE t <> ''), '{}'),
			a.preset_id, a.import_id, a.active, a.must_change, a.version, a.password_hash
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::text[],
			$10::uuid[], $11::uuid[], $12::bool[], $13::bool[], $14::bigint[], $15::text[])
			AS a(id, org_id, email, email_key, first_name, last_name, role, group_id, tag_ids, preset_id, import_id, active, must_change, version, password_hash)
		ON CONFLICT (email_key) DO NOTHING
		RETURNING email_key`, cols.args()...)
	if err != nil {
		return err
	}
	inserted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	if len(inserted) == len(accounts) {
		return nil
	}
	var taken []string
	for _, k := range cols.keys {
		if !slices.Contains(inserted, k) {
			taken = append(taken, k)
		}
	}
	return &importing.EmailsTakenError{Keys: taken}
}

// updateAccounts stores changed accounts' new state; a new password hash
// replaces the old one and ends every session of the account.
func updateAccounts(ctx context.Context, tx pgx.Tx, accounts []importing.ChangedAccount) error {
	if len(accounts) == 0 {
		return nil
	}
	cols := newAccountColumns(len(accounts))
	var ended []uuid.UUID
	for _, a := range accounts {
		cols.add(a.Account.Snapshot(), a.PasswordHash)
		if a.PasswordHash != "" {
			ended = append(ended, a.Account.ID())
		}
	}
	tag, err := tx.Exec(ctx, `
		UPDATE account_logins l SET
			first_name = a.first_name, last_name = a.last_name, group_id = a.group_id,
			tag_ids = coalesce((SELECT array_agg(t::uuid) FROM unnest(string_to_array(a.tag_ids, ',')) AS t WHERE t <> ''), '{}'),
			active = a.active, must_change_password = a.must_change, version = a.version,
			password_hash = CASE WHEN a.password_hash <> '' THEN a.password_hash ELSE l.password_hash END,
			updated_at = now()
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::text[],
			$10::uuid[], $11::uuid[], $12::bool[], $13::bool[], $14::bigint[], $15::text[])
			AS a(id, org_id, email, email_key, first_name, last_name, role, group_id, tag_ids, preset_id, import_id, active, must_change, version, password_hash)
		WHERE l.account_id = a.id`, cols.args()...)
	if err != nil {
		return err
	}
	if int(tag.RowsAffected()) != len(accounts) {
		return fmt.Errorf("postgres: %d of %d changed accounts have no stored state", len(accounts)-int(tag.RowsAffected()), len(accounts))
	}
	if len(ended) > 0 {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE account_id = ANY($1)`, ended); err != nil {
			return err
		}
	}
	return nil
}

// accountColumns lays account snapshots out as one array per column, for
// unnest: one statement for a whole batch.
type accountColumns struct {
	ids, orgs, groups, presets, imports              []*uuid.UUID
	emails, keys, firsts, lasts, roles, tags, hashes []string
	active, mustChange                               []bool
	versions                                         []int64
}

func newAccountColumns(n int) *accountColumns {
	return &accountColumns{ids: make([]*uuid.UUID, 0, n)}
}

func (c *accountColumns) add(s account.Snapshot, hash string) {
	id, org := s.ID, s.OrgID
	c.ids, c.orgs = append(c.ids, &id), append(c.orgs, &org)
	c.groups, c.presets, c.imports = append(c.groups, nullUUID(s.GroupID)), append(c.presets, nullUUID(s.PresetID)), append(c.imports, nullUUID(s.ImportID))
	c.emails, c.keys = append(c.emails, s.Email), append(c.keys, account.EmailKey(s.Email))
	c.firsts, c.lasts, c.roles = append(c.firsts, s.FirstName), append(c.lasts, s.LastName), append(c.roles, string(s.Role))
	tags := make([]string, len(s.TagIDs))
	for i, t := range s.TagIDs {
		tags[i] = t.String()
	}
	c.tags = append(c.tags, joinComma(tags))
	c.hashes = append(c.hashes, hash)
	c.active, c.mustChange, c.versions = append(c.active, s.Active), append(c.mustChange, s.MustChangePassword), append(c.versions, s.Version)
}

func (c *accountColumns) args() []any {
	return []any{c.ids, c.orgs, c.emails, c.keys, c.firsts, c.lasts, c.roles, c.groups, c.tags, c.presets, c.imports,
		c.active, c.mustChange, c.versions, c.hashes}
}

func joinComma(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ","
		}
		out += s
	}
	return out
}

// Holders reads the accounts that hold emails now, in any organization, as
// the write side stores them.
func (a *Accounts) Holders(ctx context.Context, keys []string) (map[string]*account.Account, error) {
	out := make(map[string]*account.Account, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := a.pool.Query(ctx, `
		SELECT account_id, org_id, email, email_key, first_name, last_name, role, group_id, tag_ids, preset_id, import_id,
			active, must_change_password, version
		FROM account_logins WHERE email_key = ANY($1)`, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s account.Snapshot
		var key, role string
		var group, preset, imp *uuid.UUID
		if err := rows.Scan(&s.ID, &s.OrgID, &s.Email, &key, &s.FirstName, &s.LastName, &role, &group, &s.TagIDs, &preset, &imp,
			&s.Active, &s.MustChangePassword, &s.Version); err != nil {
			return nil, err
		}
		s.Role = tenancyRole(role)
		s.GroupID, s.PresetID, s.ImportID = deref(group), deref(preset), deref(imp)
		out[key] = account.FromSnapshot(s)
	}
	return out, rows.Err()
}

func deref(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}
