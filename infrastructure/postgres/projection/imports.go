package projection

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Decoder turns stored payloads back into domain events.
type Decoder interface {
	Decode(name string, version int, payload []byte) (any, error)
}

// Imports keeps one row per import with its wizard state, for the resume
// list and GET /imports/{id}. It rebuilds the aggregate from its stream up
// to the event at hand, so the read model shows exactly what the domain
// decided, with no second copy of the state machine.
type Imports struct{ Codec Decoder }

func (Imports) Name() string     { return "imports" }
func (Imports) Version() int     { return 1 }
func (Imports) Tables() []string { return []string{"imports_view"} }

func (p Imports) Handle(ctx context.Context, tx pgx.Tx, ev eventstore.Recorded) error {
	if !strings.HasPrefix(ev.StreamID, "import-") {
		return nil
	}
	rows, err := tx.Query(ctx, `
		SELECT event_type, schema_version, payload FROM events
		WHERE stream_id = $1 AND stream_version <= $2 ORDER BY stream_version`, ev.StreamID, ev.Version)
	if err != nil {
		return err
	}
	var events []any
	for rows.Next() {
		var typ string
		var version int
		var payload []byte
		if err := rows.Scan(&typ, &version, &payload); err != nil {
			rows.Close()
			return err
		}
		e, err := p.Codec.Decode(typ, version, payload)
		if err != nil {
			rows.Close()
			return err
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	imp := importsession.Rehydrate(events)
	return upsertImport(ctx, tx, imp)
}

func upsertImport(ctx context.Context, tx pgx.Tx, imp *importsession.Import) error {
	doc, err := json.Marshal(query.ImportFrom(imp))
	if err != nil {
		return fmt.Errorf("imports view: %w", err)
	}
	_, err = tx.Exec(ctx, `
		INSERT INTO imports_view (id, org_id, created_by, state, doc, version, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (id) DO UPDATE SET state = excluded.state, doc = excluded.doc, version = excluded.version, updated_at = excluded.updated_at
		WHERE imports_view.version < excluded.version`,
		imp.ID(), imp.OrgID(), imp.CreatedBy(), string(imp.State()), doc, imp.Version(), imp.CreatedAt(), imp.UpdatedAt())
	return err
}

func optionalID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

func nonNilIDs(s []uuid.UUID) []uuid.UUID {
	if s == nil {
		return []uuid.UUID{}
	}
	return s
}
