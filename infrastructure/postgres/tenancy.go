package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// ErrNotFound is returned for a row that does not exist in the caller's
// organization; callers never learn whether it exists in another one.
var ErrNotFound = command.ErrNotFound

// ErrDuplicate is returned when a unique name or email is already taken.
var ErrDuplicate = command.ErrDuplicate

// Named is a group, tag or preset.
type Named = command.Named

// Organization is a tenant.
type Organization = command.Organization

var _ command.ReferenceData = (*Tenancy)(nil)

// Tenancy stores organizations and their reference data. Every query that
// reads tenant data filters by organization.
type Tenancy struct {
	pool *pgxpool.Pool
}

// NewTenancy returns the tenancy store.
func NewTenancy(pool *pgxpool.Pool) *Tenancy { return &Tenancy{pool: pool} }

// CreateOrganization adds a tenant.
func (t *Tenancy) CreateOrganization(ctx context.Context, org Organization) error {
	_, err := t.pool.Exec(ctx, `INSERT INTO organizations (id, name, welcome_email_enabled) VALUES ($1, $2, $3)`,
		org.ID, org.Name, org.WelcomeEmailEnabled)
	return err
}

// Organization loads one tenant.
func (t *Tenancy) Organization(ctx context.Context, id uuid.UUID) (Organization, error) {
	o := Organization{ID: id}
	err := t.pool.QueryRow(ctx, `
		SELECT name, welcome_email_enabled, change_threshold_percent, google_sign_in_enabled, google_sign_in_domains
		FROM organizations WHERE id = $1`, id).
		Scan(&o.Name, &o.WelcomeEmailEnabled, &o.ChangeThresholdPercent, &o.GoogleSignInEnabled, &o.GoogleSignInDomains)
	if errors.Is(err, pgx.ErrNoRows) {
		return o, ErrNotFound
	}
	return o, err
}

// SetChangeThreshold sets the share of its accounts an import may change
// without a confirmation.
func (t *Tenancy) SetChangeThreshold(ctx context.Context, id uuid.UUID, percent int) error {
	tag, err := t.pool.Exec(ctx, `UPDATE organizations SET change_threshold_percent = $2 WHERE id = $1`, id, percent)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// SetGoogleSignIn stores the organization's rules for Sign in with Google.
func (t *Tenancy) SetGoogleSignIn(ctx context.Context, id uuid.UUID, policy account.GoogleSignInPolicy) error {
	domains := policy.Domains
	if domains == nil {
		domains = []string{}
	}
	tag, err := t.pool.Exec(ctx, `UPDATE organizations SET google_sign_in_enabled = $2, google_sign_in_domains = $3 WHERE id = $1`,
		id, policy.Enabled, domains)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

// CountAccounts is the number of active accounts of the organization.
func (t *Tenancy) CountAccounts(ctx context.Context, orgID uuid.UUID) (int, error) {
	if err := needOrg(orgID, "CountAccounts"); err != nil {
		return 0, err
	}
	var n int
	err := t.pool.QueryRow(ctx, `SELECT count(*) FROM account_logins WHERE org_id = $1 AND active`, orgID).Scan(&n)
	return n, err
}

// SetWelcomeEmail turns the welcome email on or off for a tenant.
func (t *Tenancy) SetWelcomeEmail(ctx context.Context, id uuid.UUID, enabled bool) error {
	tag, err := t.pool.Exec(ctx, `UPDATE organizations SET welcome_email_enabled = $2 WHERE id = $1`, id, enabled)
	if err == nil && tag.RowsAffected() == 0 {
		return ErrNotFound
	}
	return err
}

func referenceTable(k command.ReferenceKind) (string, error) {
	switch k {
	case command.Groups, command.Tags, command.Presets:
		return string(k), nil
	}
	return "", fmt.Errorf("postgres: unknown reference kind %q", k)
}

// CreateNamed adds a group, tag or preset; a name taken in the organization
// (ignoring case) is ErrDuplicate.
func (t *Tenancy) CreateNamed(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID, n Named) error {
	table, err := referenceTable(kind)
	if err != nil {
		return err
	}
	_, err = t.pool.Exec(ctx, `INSERT INTO `+table+` (id, org_id, name) VALUES ($1, $2, $3)`, n.ID, orgID, n.Name)
	if isUniqueViolation(err) {
		return ErrDuplicate
	}
	return err
}

// ListNamed lists an organization's groups, tags or presets by name.
func (t *Tenancy) ListNamed(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID) ([]Named, error) {
	if err := needOrg(orgID, "ListNamed"); err != nil {
		return nil, err
	}
	table, err := referenceTable(kind)
	if err != nil {
		return nil, err
	}
	rows, err := t.pool.Query(ctx, `SELECT id, name FROM `+table+` WHERE org_id = $1 ORDER BY lower(name), id`, orgID)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Named, error) {
		var n Named
		err := r.Scan(&n.ID, &n.Name)
		return n, err
	})
}

// Login is the sign-in record of an account.
type Login = command.Login

var _ command.Logins = (*Tenancy)(nil)

// LoginByEmail finds the login for a case-insensitive email.
func (t *Tenancy) LoginByEmail(ctx context.Context, email string) (Login, error) {
	return t.login(ctx, `email_key = $1`, EmailKey(email))
}

// LoginByID finds a login by account id.
func (t *Tenancy) LoginByID(ctx context.Context, accountID uuid.UUID) (Login, error) {
	return t.login(ctx, `account_id = $1`, accountID)
}

func (t *Tenancy) login(ctx context.Context, where string, arg any) (Login, error) {
	var l Login
	var group *uuid.UUID
	err := t.pool.QueryRow(ctx, `
		SELECT account_id, org_id, email, role, group_id, password_hash, must_change_password, active
		FROM account_logins WHERE `+where, arg).
		Scan(&l.AccountID, &l.OrgID, &l.Email, &l.Role, &group, &l.PasswordHash, &l.MustChangePassword, &l.Active)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, ErrNotFound
	}
	if group != nil {
		l.GroupID = *group
	}
	return l, err
}

// EmailKey is the form emails are compared in: the domain's one rule.
func EmailKey(email string) string { return account.EmailKey(email) }

func tenancyRole(s string) tenancy.Role { return tenancy.Role(s) }

func nullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
}
