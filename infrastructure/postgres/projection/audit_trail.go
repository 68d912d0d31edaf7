package projection

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
)

// AuditTrail keeps every event with who, when and in which organization, so
// an auditor can replay an import or an account without touching the event
// store. Events hold no secrets, so their data is kept as is.
type AuditTrail struct{}

func (AuditTrail) Name() string     { return "audit_trail" }
func (AuditTrail) Version() int     { return 1 }
func (AuditTrail) Tables() []string { return []string{"audit_trail"} }

func (AuditTrail) Handle(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	data, err := json.Marshal(ev.Data)
	if err != nil {
		return fmt.Errorf("audit trail: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO audit_trail (position, event_id, stream_id, stream_version, event_type, org_id, actor_id, correlation_id, data, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (position) DO NOTHING`,
		ev.Position, ev.ID, ev.StreamID, ev.Version, ev.Type,
		nullableUUID(ev.Metadata.OrgID), nullableUUID(ev.Metadata.ActorID), ev.Metadata.CorrelationID,
		data, ev.RecordedAt)
	return err
}
