package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
		// Accounts were read before fn ran, so fn running again would write
		// the same stale state: their caller decides the batch again.
		var conflict *eventstore.ConcurrencyError
		if errors.As(err, &conflict) && len(w.changed) == 0 && attempt < 10 {
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
	replaced   []rowsToWrite
	mails      []importing.Mail
	cards      []cardsToWrite
	cancelled  []string
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

func (w *writes) ReplaceRow(importID uuid.UUID, row importing.ValidatedRow) {
	w.replaced = append(w.replaced, rowsToWrite{importID: importID, rows: []importing.ValidatedRow{row}})
}

type cardsToWrite struct {
	importID, orgID uuid.UUID
	expiresAt       time.Time
	cards           []importing.LoginCard
}

func (w *writes) StoreLoginCards(importID, orgID uuid.UUID, expiresAt time.Time, cards []importing.LoginCard) {
	w.cards = append(w.cards, cardsToWrite{importID: importID, orgID: orgID, expiresAt: expiresAt, cards: cards})
}

func (w *writes) QueueMail(mails ...importing.Mail) { w.mails = append(w.mails, mails...) }

func (w *writes) CancelMail(keys ...string) { w.cancelled = append(w.cancelled, keys...) }

func (w *writes) EnqueueJob(spec importing.JobSpec) { w.jobs = append(w.jobs, spec) }

func (w *writes) Checkpoint(progress any) { w.checkpoint = progress }

func (w *writes) flush(ctx context.Context, tx pgx.Tx, job importing.Job) error {
	if err := w.u.store.AppendTx(ctx, tx, w.appends...); err != nil {
		return err
	}
	if err := insertAccounts(ctx, tx, w.created); err != nil {
		return err
	}
	if err := recordImportChanges(ctx, tx, w.created, w.changed); err != nil {
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
	for _, r := range w.replaced {
		for _, row := range r.rows {
			if err := replaceImportRow(ctx, tx, r.importID, row); err != nil {
				return err
			}
		}
	}
	for _, c := range w.cards {
		if err := insertLoginCards(ctx, tx, c); err != nil {
			return err
		}
	}
	if len(w.mails) > 0 {
		if err := w.u.mail.Enqueue(ctx, tx, w.mails...); err != nil {
			return err
		}
	}
	if len(w.cancelled) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE mail_outbox SET state = 'cancelled', lease_until = NULL WHERE idempotency_key = ANY($1) AND state = 'pending'`, w.cancelled); err != nil {
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

// insertAccounts stores new accounts' state and claims their emails with
// one COPY. An email claimed meanwhile by another writer fails the
// transaction on the unique index, for the batch to be planned again
// against the accounts as they are then.
func insertAccounts(ctx context.Context, tx pgx.Tx, accounts []importing.NewAccount) error {
	if len(accounts) == 0 {
		return nil
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"account_logins"},
		[]string{"account_id", "org_id", "email", "email_key", "first_name", "last_name", "role", "group_id", "tag_ids",
			"preset_id", "import_id", "active", "must_change_password", "version", "password_hash",
			"names_by", "group_by", "tags_by", "password_by", "active_by"},
		pgx.CopyFromSlice(len(accounts), func(i int) ([]any, error) {
			s := accounts[i].Account.Snapshot()
			by := s.ChangedBy
			return []any{s.ID, s.OrgID, s.Email, account.EmailKey(s.Email), s.FirstName, s.LastName, string(s.Role), nullUUID(s.GroupID), s.TagIDs,
				nullUUID(s.PresetID), nullUUID(s.ImportID), s.Active, s.MustChangePassword, s.Version, accounts[i].PasswordHash,
				nullUUID(by.Names), nullUUID(by.Group), nullUUID(by.Tags), nullUUID(by.Password), nullUUID(by.Active)}, nil
		}))
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "account_logins_email_key" {
		return &importing.EmailsTakenError{}
	}
	return err
}

// accountState is a changed account's new state as one JSON object of a
// batch: one UPDATE … FROM jsonb_to_recordset for the whole batch, tags and
// all.
type accountState struct {
	ID           uuid.UUID   `json:"id"`
	FirstName    string      `json:"first_name"`
	LastName     string      `json:"last_name"`
	GroupID      *uuid.UUID  `json:"group_id"`
	TagIDs       []uuid.UUID `json:"tag_ids"`
	Active       bool        `json:"active"`
	MustChange   bool        `json:"must_change"`
	Version      int64       `json:"version"`
	PasswordHash string      `json:"password_hash"`
	NamesBy      *uuid.UUID  `json:"names_by"`
	GroupBy      *uuid.UUID  `json:"group_by"`
	TagsBy       *uuid.UUID  `json:"tags_by"`
	PasswordBy   *uuid.UUID  `json:"password_by"`
	ActiveBy     *uuid.UUID  `json:"active_by"`
}

// updateAccounts stores changed accounts' new state; a new password hash
// replaces the old one. The sessions of an account asked to end them, or
// no longer active, end.
func updateAccounts(ctx context.Context, tx pgx.Tx, accounts []importing.ChangedAccount) error {
	if len(accounts) == 0 {
		return nil
	}
	states := make([]accountState, len(accounts))
	var ended []uuid.UUID
	for i, a := range accounts {
		s := a.Account.Snapshot()
		by := s.ChangedBy
		states[i] = accountState{ID: s.ID, FirstName: s.FirstName, LastName: s.LastName, GroupID: nullUUID(s.GroupID), TagIDs: s.TagIDs,
			Active: s.Active, MustChange: s.MustChangePassword, Version: s.Version, PasswordHash: a.PasswordHash,
			NamesBy: nullUUID(by.Names), GroupBy: nullUUID(by.Group), TagsBy: nullUUID(by.Tags), PasswordBy: nullUUID(by.Password), ActiveBy: nullUUID(by.Active)}
		if a.EndSessions || !s.Active {
			ended = append(ended, s.ID)
		}
	}
	batch, err := json.Marshal(states)
	if err != nil {
		return err
	}
	tag, err := tx.Exec(ctx, `
		UPDATE account_logins l SET
			first_name = a.first_name, last_name = a.last_name, group_id = a.group_id, tag_ids = a.tag_ids,
			active = a.active, must_change_password = a.must_change, version = a.version,
			password_hash = CASE WHEN a.password_hash <> '' THEN a.password_hash ELSE l.password_hash END,
			names_by = a.names_by, group_by = a.group_by, tags_by = a.tags_by, password_by = a.password_by, active_by = a.active_by,
			updated_at = now()
		FROM jsonb_to_recordset($1::jsonb) AS a(id uuid, first_name text, last_name text, group_id uuid, tag_ids uuid[],
			active boolean, must_change boolean, version bigint, password_hash text,
			names_by uuid, group_by uuid, tags_by uuid, password_by uuid, active_by uuid)
		WHERE l.account_id = a.id`, batch)
	if err != nil {
		return err
	}
	if int(tag.RowsAffected()) != len(accounts) {
		return fmt.Errorf("postgres: %d of %d changed accounts have no stored state", len(accounts)-int(tag.RowsAffected()), len(accounts))
	}
	return EndSessionsTx(ctx, tx, ended...)
}

// Holders reads the accounts that hold emails now, in any organization, as
// the write side stores them.
func (a *Accounts) Holders(ctx context.Context, keys []string) (map[string]*account.Account, error) {
	out := make(map[string]*account.Account, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	err := a.snapshots(ctx, `email_key = ANY($1)`, keys, func(acc *account.Account) { out[acc.Email().Key()] = acc })
	return out, err
}

// ByID reads accounts by id, as the write side stores them.
func (a *Accounts) ByID(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]*account.Account, error) {
	out := make(map[uuid.UUID]*account.Account, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	err := a.snapshots(ctx, `account_id = ANY($1)`, ids, func(acc *account.Account) { out[acc.ID()] = acc })
	return out, err
}

func (a *Accounts) snapshots(ctx context.Context, where string, arg any, fn func(*account.Account)) error {
	rows, err := a.pool.Query(ctx, `
		SELECT account_id, org_id, email, first_name, last_name, role, group_id, tag_ids, preset_id, import_id,
			active, must_change_password, version, names_by, group_by, tags_by, password_by, active_by
		FROM account_logins WHERE `+where, arg)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var s account.Snapshot
		var role string
		var group, preset, imp, names, grp, tags, pw, active *uuid.UUID
		if err := rows.Scan(&s.ID, &s.OrgID, &s.Email, &s.FirstName, &s.LastName, &role, &group, &s.TagIDs, &preset, &imp,
			&s.Active, &s.MustChangePassword, &s.Version, &names, &grp, &tags, &pw, &active); err != nil {
			return err
		}
		s.Role = tenancyRole(role)
		s.GroupID, s.PresetID, s.ImportID = deref(group), deref(preset), deref(imp)
		s.ChangedBy = account.Provenance{Names: deref(names), Group: deref(grp), Tags: deref(tags), Password: deref(pw), Active: deref(active)}
		fn(account.FromSnapshot(s))
	}
	return rows.Err()
}

// recordImportChanges keeps what a commit did to each account, for its
// undo: the accounts it created, and for those it changed the change and
// the password hash it replaced (read before the update, in the same
// transaction).
func recordImportChanges(ctx context.Context, tx pgx.Tx, created []importing.NewAccount, changed []importing.ChangedAccount) error {
	var rows [][]any
	for _, a := range created {
		if a.Seq > 0 {
			s := a.Account.Snapshot()
			rows = append(rows, []any{s.ImportID, a.Seq, s.ID, true})
		}
	}
	if len(rows) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_account_changes"}, []string{"import_id", "seq_all", "account_id", "created"}, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	}
	type changeJSON struct {
		ImportID  uuid.UUID       `json:"import_id"`
		Seq       int             `json:"seq_all"`
		AccountID uuid.UUID       `json:"account_id"`
		Diff      json.RawMessage `json:"diff"`
		Password  bool            `json:"password"`
	}
	var changes []changeJSON
	for _, a := range changed {
		if a.Seq <= 0 {
			continue
		}
		for _, e := range a.Account.PendingEvents() {
			u, ok := e.(account.AccountUpdated)
			if !ok {
				continue
			}
			diff, err := encodeDiff(account.Diff{FirstName: u.FirstName, LastName: u.LastName, Group: u.Group, TagsAdded: u.TagsAdded,
				Password: u.PasswordReplaced, Reactivate: u.Reactivated})
			if err != nil {
				return err
			}
			changes = append(changes, changeJSON{ImportID: u.ImportID, Seq: a.Seq, AccountID: u.AccountID, Diff: diff, Password: u.PasswordReplaced})
		}
	}
	if len(changes) == 0 {
		return nil
	}
	batch, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO import_account_changes (import_id, seq_all, account_id, created, diff, previous_hash, previous_must_change)
		SELECT c.import_id, c.seq_all, c.account_id, false, c.diff, CASE WHEN c.password THEN l.password_hash END, l.must_change_password
		FROM jsonb_to_recordset($1::jsonb) AS c(import_id uuid, seq_all int, account_id uuid, diff jsonb, password boolean)
		JOIN account_logins l ON l.account_id = c.account_id`, batch)
	return err
}

func deref(id *uuid.UUID) uuid.UUID {
	if id == nil {
		return uuid.Nil
	}
	return *id
}
