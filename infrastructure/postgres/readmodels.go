package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
)

// ReadModels answers the queries with plain SQL over the read-model tables.
// Every query filters by organization.
type ReadModels struct {
	pool  *pgxpool.Pool
	codec ReadCodec
}

// ReadCodec rebuilds events: stored ones by their schema version, the
// audit trail's from JSON of their current schema.
type ReadCodec interface {
	Decode(name string, version int, payload []byte) (any, error)
	DecodeCurrent(name string, payload []byte) (any, error)
}

var _ query.ReadModel = (*ReadModels)(nil)

// NewReadModels returns the read side; the codec decodes the audit trail's
// events, the one registry of their names.
func NewReadModels(pool *pgxpool.Pool, codec ReadCodec) *ReadModels {
	return &ReadModels{pool: pool, codec: codec}
}

// ListImports reads the imports read model, newest change first.
func (r *ReadModels) ListImports(ctx context.Context, orgID, createdBy uuid.UUID, openOnly bool) ([]*importsession.Import, error) {
	if err := needOrg(orgID, "ListImports"); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT snapshot FROM imports_view
		WHERE org_id = $1 AND ($2::uuid IS NULL OR created_by = $2)
		  AND (NOT $3 OR state IN ('uploaded', 'mapped', 'defaults_chosen', 'validating', 'validated'))
		ORDER BY updated_at DESC LIMIT 200`, orgID, nullUUID(createdBy), openOnly)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*importsession.Import, error) {
		var snapshot []byte
		if err := row.Scan(&snapshot); err != nil {
			return nil, err
		}
		return decodeImport(snapshot)
	})
}

// ImportNames names the organization's imports (the creator's alone when
// createdBy is set).
func (r *ReadModels) ImportNames(ctx context.Context, orgID, createdBy uuid.UUID) (map[uuid.UUID]string, error) {
	if err := needOrg(orgID, "ImportNames"); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `SELECT id, file_name FROM imports_view WHERE org_id = $1 AND ($2::uuid IS NULL OR created_by = $2)`,
		orgID, nullUUID(createdBy))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[uuid.UUID]string{}
	for rows.Next() {
		var id uuid.UUID
		var name string
		if err := rows.Scan(&id, &name); err != nil {
			return nil, err
		}
		out[id] = name
	}
	return out, rows.Err()
}

// ImportOrg is the organization of an import in any organization, for the
// operator's command line only.
func (r *ReadModels) ImportOrg(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	var org uuid.UUID
	err := r.pool.QueryRow(ctx, `SELECT org_id FROM imports_view WHERE id = $1`, id).Scan(&org)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, query.ErrNotFound
	}
	return org, err
}

// StoredImport is an import of the organization as the read model has it:
// what a page polls, which may lag the last command by the projection's
// poll interval.
func (r *ReadModels) StoredImport(ctx context.Context, orgID, id uuid.UUID) (*importsession.Import, error) {
	if err := needOrg(orgID, "StoredImport"); err != nil {
		return nil, err
	}
	imp, err := ImportView(ctx, r.pool, id)
	if errors.Is(err, pgx.ErrNoRows) || (err == nil && imp.OrgID() != orgID) {
		return nil, query.ErrNotFound
	}
	return imp, err
}

// CurrentImport is an import of the organization as the read model has it,
// with the events it has not folded yet folded in: the reader sees their
// own last command at once. The stream is read only after the row's
// version, usually no event at all, never the whole of a long stream.
func (r *ReadModels) CurrentImport(ctx context.Context, orgID, id uuid.UUID) (*importsession.Import, error) {
	if err := needOrg(orgID, "CurrentImport"); err != nil {
		return nil, err
	}
	imp, err := currentImport(ctx, r.pool, r.codec, id)
	if err != nil {
		return nil, err
	}
	if imp.Version() == 0 || imp.OrgID() != orgID {
		return nil, query.ErrNotFound
	}
	return imp, nil
}

// Accounts reads the accounts read model.
func (r *ReadModels) Accounts(ctx context.Context, orgID uuid.UUID, f query.AccountFilter) (query.AccountsPage, error) {
	if err := needOrg(orgID, "Accounts"); err != nil {
		return query.AccountsPage{}, err
	}
	const pageSize = 100
	out := query.AccountsPage{Page: f.Page, PageSize: pageSize, Accounts: []query.Account{}}
	// q matches part of an email or of a name, case-insensitively; its
	// LIKE wildcards are escaped, so "_" and "%" are taken as written.
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(strings.TrimSpace(f.Q))) + "%"
	where := `org_id = $1 AND ($2 = '' OR email_key = $2) AND ($3::uuid IS NULL OR import_id = $3)
		AND ($4::uuid IS NULL OR group_id = $4) AND ($5::uuid IS NULL OR tag_ids @> ARRAY[$5::uuid])
		AND (NOT $6::bool OR group_id IS NOT DISTINCT FROM $4::uuid)
		AND ($7::bool IS NULL OR active = $7)
		AND ($8 = '%%' OR email_key LIKE $8 OR lower(first_name || ' ' || last_name) LIKE $8)`
	args := []any{orgID, EmailKey(f.Email), nullUUID(f.ImportID), nullUUID(f.GroupID), nullUUID(f.TagID), f.GroupOnly, f.Active, like}
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FROM accounts_view WHERE `+where, args...).Scan(&out.Total); err != nil {
		return out, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT id, email, first_name, last_name, role, group_id, tag_ids, import_id, preset_id, active, created_at FROM accounts_view
		WHERE `+where+` ORDER BY email_key LIMIT $9 OFFSET $10`, append(args, pageSize, (f.Page-1)*pageSize)...)
	if err != nil {
		return out, err
	}
	out.Accounts, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (query.Account, error) {
		var a query.Account
		err := row.Scan(&a.ID, &a.Email, &a.FirstName, &a.LastName, &a.Role, &a.GroupID, &a.TagIDs, &a.ImportID, &a.PresetID, &a.Active, &a.CreatedAt)
		return a, err
	})
	if out.Accounts == nil {
		out.Accounts = []query.Account{}
	}
	return out, err
}

// StreamAudit reads a stream's audit trail in an organization, each event
// decoded by its registered name (an event of a newer build is kept
// undecoded, by its name).
func (r *ReadModels) StreamAudit(ctx context.Context, orgID uuid.UUID, streamID string) ([]query.AuditEvent, error) {
	if err := needOrg(orgID, "StreamAudit"); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT a.position, a.event_type, a.recorded_at, a.actor_id, coalesce(l.email, ''), a.stream_id, a.data
		FROM audit_trail a LEFT JOIN account_logins l ON l.account_id = a.actor_id
		WHERE a.stream_id = $1 AND a.org_id = $2
		ORDER BY a.position`, streamID, orgID)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (query.AuditEvent, error) {
		var e query.AuditEvent
		if err := row.Scan(&e.Position, &e.Type, &e.At, &e.Actor.ID, &e.Actor.Email, &e.Stream, &e.Data); err != nil {
			return e, err
		}
		// The trail keeps each event as its current type's JSON (decoded
		// and upcast when it was projected).
		ev, err := r.codec.DecodeCurrent(e.Type, e.Data)
		var unknown *eventcodec.UnknownTypeError
		if err != nil && !errors.As(err, &unknown) {
			return e, err
		}
		e.Event = ev
		return e, nil
	})
	if out == nil {
		out = []query.AuditEvent{}
	}
	return out, err
}

// AccountAnywhere finds an account by email in any organization: for the
// operator's command line, which acts for no organization.
func (r *ReadModels) AccountAnywhere(ctx context.Context, email string) (tenancy.Target, error) {
	var t tenancy.Target
	var role string
	var group *uuid.UUID
	err := r.pool.QueryRow(ctx, `SELECT account_id, org_id, role, group_id FROM account_logins WHERE email_key = $1`, EmailKey(email)).
		Scan(&t.ID, &t.OrgID, &role, &group)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, query.ErrNotFound
	}
	t.Role, t.GroupID = tenancyRole(role), deref(group)
	return t, err
}

// AccountReach finds an account of the organization by email, with what
// reach rules need: role and group.
func (r *ReadModels) AccountReach(ctx context.Context, orgID uuid.UUID, email string) (tenancy.Target, error) {
	if err := needOrg(orgID, "AccountReach"); err != nil {
		return tenancy.Target{}, err
	}
	t := tenancy.Target{OrgID: orgID}
	var role string
	var group *uuid.UUID
	err := r.pool.QueryRow(ctx, `SELECT account_id, role, group_id FROM account_logins WHERE email_key = $1 AND org_id = $2`,
		EmailKey(email), orgID).Scan(&t.ID, &role, &group)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, query.ErrNotFound
	}
	if err != nil {
		return t, err
	}
	if group != nil {
		t.GroupID = *group
	}
	t.Role, err = tenancy.ParseRole(role)
	return t, err
}

// RejectedRowsOf finds the import a file of rejected rows comes from: the
// newest import the actor may see with exactly these columns and invalid
// rows.
func (r *ReadModels) RejectedRowsOf(ctx context.Context, actor tenancy.Actor, headers []string) (uuid.UUID, bool, error) {
	cols, err := json.Marshal(headers)
	if err != nil {
		return uuid.Nil, false, err
	}
	var createdBy *uuid.UUID
	if !actor.Role.IsSystemAdmin() {
		createdBy = &actor.ID
	}
	var id uuid.UUID
	err = r.pool.QueryRow(ctx, `
		SELECT id FROM imports_view
		WHERE org_id = $1 AND ($2::uuid IS NULL OR created_by = $2) AND file_headers = $3::jsonb
		  AND EXISTS (SELECT 1 FROM import_rows r WHERE r.import_id = imports_view.id AND r.status = 'invalid')
		ORDER BY created_at DESC LIMIT 1`, actor.OrgID, createdBy, cols).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return uuid.Nil, false, nil
	}
	return id, err == nil, err
}

// SameFile lists the other imports of the organization (those of the
// creator alone when createdBy is set) made from a file with this SHA-256,
// newest first.
func (r *ReadModels) SameFile(ctx context.Context, orgID, createdBy uuid.UUID, sha256 string, except uuid.UUID) ([]query.SameFile, error) {
	if err := needOrg(orgID, "SameFile"); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT id, created_at, state, file_rows, created
		FROM imports_view
		WHERE org_id = $1 AND ($2::uuid IS NULL OR created_by = $2) AND file_sha256 = $3 AND id <> $4
		ORDER BY created_at DESC LIMIT 20`, orgID, nullUUID(createdBy), sha256, except)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (query.SameFile, error) {
		var s query.SameFile
		err := row.Scan(&s.ID, &s.CreatedAt, &s.State, &s.Rows, &s.Created)
		return s, err
	})
	if out == nil {
		out = []query.SameFile{}
	}
	return out, err
}

// needOrg refuses a tenant-scoped read without an organization: a
// forgotten id must fail, not widen the query to every organization.
func needOrg(orgID uuid.UUID, read string) error {
	if orgID == uuid.Nil {
		return fmt.Errorf("postgres: %s needs an organization", read)
	}
	return nil
}

var _ query.YourAccountReadModel = (*ReadModels)(nil)

// YourAccount reads the account's sign-in record, its group's name and its
// latest email change still waiting (unused, unexpired).
func (r *ReadModels) YourAccount(ctx context.Context, orgID, accountID uuid.UUID) (query.YourAccount, error) {
	if err := needOrg(orgID, "YourAccount"); err != nil {
		return query.YourAccount{}, err
	}
	var a query.YourAccount
	var role string
	var group *uuid.UUID
	var pending *string
	var pendingExpires *time.Time
	err := r.pool.QueryRow(ctx, `
		SELECT l.account_id, l.org_id, l.email, l.first_name, l.last_name, l.role, l.group_id, coalesce(g.name, ''),
			l.must_change_password, c.to_email, c.expires_at
		FROM account_logins l
		LEFT JOIN groups g ON g.id = l.group_id AND g.org_id = l.org_id
		LEFT JOIN LATERAL (
			SELECT to_email, expires_at FROM email_changes
			WHERE account_id = l.account_id AND used_at IS NULL AND expires_at > now()
			ORDER BY requested_at DESC LIMIT 1) c ON true
		WHERE l.account_id = $1 AND l.org_id = $2`, accountID, orgID).
		Scan(&a.ID, &a.OrgID, &a.Email, &a.FirstName, &a.LastName, &role, &group, &a.GroupName, &a.MustChangePassword, &pending, &pendingExpires)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, query.ErrNotFound
	}
	if err != nil {
		return a, err
	}
	a.Role = tenancy.Role(role)
	if group != nil {
		a.GroupID = *group
	}
	if pending != nil {
		a.PendingEmail, a.PendingExpires = *pending, *pendingExpires
	}
	return a, nil
}

// RecentSignIns reads the account's SignedIn events from the audit trail:
// they are recorded on the account's sign-in stream only.
func (r *ReadModels) RecentSignIns(ctx context.Context, orgID, accountID uuid.UUID, limit int) ([]query.SignIn, error) {
	if err := needOrg(orgID, "RecentSignIns"); err != nil {
		return nil, err
	}
	rows, err := r.pool.Query(ctx, `
		SELECT event_type, data FROM audit_trail
		WHERE stream_id = $1 AND org_id = $2 AND event_type = 'SignedIn'
		ORDER BY position DESC LIMIT $3`, account.SignInStreamID(accountID), orgID, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (query.SignIn, error) {
		var eventType string
		var data []byte
		if err := row.Scan(&eventType, &data); err != nil {
			return query.SignIn{}, err
		}
		ev, err := r.codec.DecodeCurrent(eventType, data)
		if err != nil {
			return query.SignIn{}, err
		}
		s, ok := ev.(account.SignedIn)
		if !ok {
			return query.SignIn{}, fmt.Errorf("postgres: a %T on a sign-in stream", ev)
		}
		return query.SignIn{At: s.At, Method: s.Method}, nil
	})
}
