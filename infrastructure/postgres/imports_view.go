package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/domain/importsession"
)

// ImportView reads an import's row of the imports read model back as the
// aggregate it describes (pgx.ErrNoRows: no row).
func ImportView(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id uuid.UUID) (*importsession.Import, error) {
	var snapshot []byte
	if err := q.QueryRow(ctx, `SELECT snapshot FROM imports_view WHERE id = $1`, id).Scan(&snapshot); err != nil {
		return nil, err
	}
	return decodeImport(snapshot)
}

// decodeImport is the import a stored snapshot describes.
func decodeImport(snapshot []byte) (*importsession.Import, error) {
	var s importsession.Snapshot
	if err := json.Unmarshal(snapshot, &s); err != nil {
		return nil, fmt.Errorf("imports view: %w", err)
	}
	return importsession.FromSnapshot(s), nil
}
