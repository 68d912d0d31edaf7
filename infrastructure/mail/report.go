package mail

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/query"
)

// Report counts what became of an import's emails.
type Report struct{ Pool *pgxpool.Pool }

var _ query.MailReport = Report{}

// WelcomeEmails counts the import's welcome emails by outcome, from the
// index mail_outbox_import.
func (r Report) WelcomeEmails(ctx context.Context, orgID, importID uuid.UUID) (query.WelcomeEmails, error) {
	var w query.WelcomeEmails
	err := r.Pool.QueryRow(ctx, `
		SELECT count(*) FILTER (WHERE state = 'sent'),
		       count(*) FILTER (WHERE state IN ('pending', 'sending')),
		       count(*) FILTER (WHERE state = 'failed')
		FROM mail_outbox
		WHERE import_id = $1 AND org_id = $2 AND idempotency_key LIKE 'welcome:%'`, importID, orgID).
		Scan(&w.Sent, &w.Pending, &w.Failed)
	if err != nil {
		return w, fmt.Errorf("mail: count the welcome emails of import %s: %w", importID, err)
	}
	return w, nil
}
