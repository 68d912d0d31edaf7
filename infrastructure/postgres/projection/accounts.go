package projection

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/account"
)

// Accounts keeps the account list by organization, group, tag, import and
// email.
type Accounts struct{}

func (Accounts) Name() string     { return "accounts" }
func (Accounts) Version() int     { return 3 }
func (Accounts) Tables() []string { return []string{"accounts_view"} }

func (Accounts) Handle(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	switch e := ev.Data.(type) {
	case account.AccountCreated:
		tags := e.TagIDs
		if tags == nil {
			tags = []uuid.UUID{}
		}
		_, err := tx.Exec(ctx, `
			INSERT INTO accounts_view (id, org_id, email, email_key, first_name, last_name, role, group_id, tag_ids, import_id, preset_id, created_at, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
			ON CONFLICT (id) DO NOTHING`,
			e.AccountID, e.OrgID, e.Email, account.EmailKey(e.Email), e.FirstName, e.LastName, e.Role, optionalID(e.GroupID), tags,
			optionalID(e.ImportID), optionalID(e.PresetID), e.CreatedAt, ev.Version)
		return err
	case account.AccountUpdated:
		var group *uuid.UUID
		if e.Group != nil {
			group = optionalID(e.Group.To)
		}
		_, err := tx.Exec(ctx, `
			UPDATE accounts_view SET
				first_name = coalesce($3, first_name),
				last_name = coalesce($4, last_name),
				group_id = CASE WHEN $5 THEN $6 ELSE group_id END,
				tag_ids = tag_ids || ARRAY(SELECT DISTINCT t FROM unnest($7::uuid[]) AS t WHERE t <> ALL(tag_ids)),
				active = active OR $8,
				version = $2
			WHERE id = $1 AND version < $2`,
			e.AccountID, ev.Version, textTo(e.FirstName), textTo(e.LastName), e.Group != nil, group, nonNil(e.TagsAdded), e.Reactivated)
		return err
	case account.EmailChanged:
		_, err := tx.Exec(ctx, `UPDATE accounts_view SET email = $3, email_key = $4, version = $2 WHERE id = $1 AND version < $2`,
			e.AccountID, ev.Version, e.To, account.EmailKey(e.To))
		return err
	case account.AccountDeactivated:
		_, err := tx.Exec(ctx, `UPDATE accounts_view SET active = false, version = $2 WHERE id = $1 AND version < $2`, e.AccountID, ev.Version)
		return err
	case account.AccountReactivated:
		_, err := tx.Exec(ctx, `UPDATE accounts_view SET active = true, version = $2 WHERE id = $1 AND version < $2`, e.AccountID, ev.Version)
		return err
	case account.AccountRestored:
		var group *uuid.UUID
		if e.Group != nil {
			group = optionalID(e.Group.To)
		}
		_, err := tx.Exec(ctx, `
			UPDATE accounts_view SET
				first_name = coalesce($3, first_name),
				last_name = coalesce($4, last_name),
				group_id = CASE WHEN $5 THEN $6 ELSE group_id END,
				tag_ids = ARRAY(SELECT t FROM unnest(tag_ids) AS t WHERE t <> ALL($7::uuid[])),
				active = active AND NOT $8,
				version = $2
			WHERE id = $1 AND version < $2`,
			e.AccountID, ev.Version, textTo(e.FirstName), textTo(e.LastName), e.Group != nil, group, nonNil(e.TagsRemoved), e.Deactivated)
		return err
	}
	return nil
}

func textTo(c *account.TextChange) *string {
	if c == nil {
		return nil
	}
	return &c.To
}
