package postgres

import (
	"context"
	"errors"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/importsession"
)

// ClassroomHistory reads what an organization's completed Google Classroom
// imports did, from the imports read model (which classes each import
// read) and the validated rows (who was in which class). Only completed
// imports count: an undone import's students were never imported, as far
// as a re-sync is concerned.
//
// The classes page reads completion from the read model (it may lag the
// last import by a moment). Finding the departed is a decision the commit
// acts on, so it reads completion from the event store itself
// (completedImports): an import completed a second ago counts, whatever
// the projection has folded.
type ClassroomHistory struct{ pool *pgxpool.Pool }

// NewClassroomHistory reads through pool.
func NewClassroomHistory(pool *pgxpool.Pool) *ClassroomHistory { return &ClassroomHistory{pool: pool} }

var errNoOrganization = errors.New("postgres: a read of an organization's data needs the organization")

// LastImports is, per class of courseIDs that was ever imported, the most
// recent completed import of the organization that included it.
func (h *ClassroomHistory) LastImports(ctx context.Context, orgID uuid.UUID, courseIDs []string) (map[string]command.LastImport, error) {
	if orgID == uuid.Nil {
		return nil, errNoOrganization
	}
	rows, err := h.pool.Query(ctx, `
		SELECT DISTINCT ON (c) c, v.id, v.completed_at
		FROM imports_view v, unnest(v.course_ids) AS c
		WHERE v.org_id = $1 AND v.source = 'google_classroom' AND v.state = 'completed'
		  AND v.course_ids && $2 AND c = ANY($2)
		ORDER BY c, v.completed_at DESC, v.id`, orgID, courseIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]command.LastImport{}
	for rows.Next() {
		var course string
		var last command.LastImport
		if err := rows.Scan(&course, &last.ID, &last.At); err != nil {
			return nil, err
		}
		last.At = last.At.UTC()
		out[course] = last
	}
	return out, rows.Err()
}

// completedImports is the organization's ($1) Google Classroom imports
// that completed and were not undone, with when they completed, from the
// event store.
const completedImports = `
	WITH done AS (
		SELECT v.id, v.course_ids, e.created_at AS completed_at
		FROM imports_view v
		JOIN events e ON e.stream_id = 'import-' || v.id::text AND e.event_type = 'ImportCompleted'
		WHERE v.org_id = $1 AND v.source = 'google_classroom'
		  AND NOT EXISTS (SELECT 1 FROM events u WHERE u.stream_id = e.stream_id AND u.event_type = 'UndoStarted'))`

// EarlierMembers are the people of the classes courseIDs whom completed
// imports of the organization (other than importID) imported, as new or
// existing rows, the most recent import's first.
func (h *ClassroomHistory) EarlierMembers(ctx context.Context, orgID, importID uuid.UUID, courseIDs []string) ([]importsession.RosterMember, error) {
	if orgID == uuid.Nil {
		return nil, errNoOrganization
	}
	rows, err := h.pool.Query(ctx, completedImports+`
		SELECT r.email, r.first_name, r.last_name
		FROM done d
		JOIN import_rows r ON r.import_id = d.id AND r.org_id = $1
		WHERE d.id <> $3 AND d.course_ids && $2 AND r.course_ids && $2 AND r.status IN ('new', 'existing')
		ORDER BY d.completed_at DESC, d.id, r.row_number`, orgID, courseIDs, importID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []importsession.RosterMember
	for rows.Next() {
		var m importsession.RosterMember
		if err := rows.Scan(&m.Email, &m.FirstName, &m.LastName); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// InOtherClasses are the email keys of the people in the latest completed
// import of each class of the organization that is not in courseIDs.
func (h *ClassroomHistory) InOtherClasses(ctx context.Context, orgID uuid.UUID, courseIDs []string) (map[string]bool, error) {
	if orgID == uuid.Nil {
		return nil, errNoOrganization
	}
	rows, err := h.pool.Query(ctx, completedImports+`,
		latest AS (
			SELECT DISTINCT ON (c) c, d.id
			FROM done d, unnest(d.course_ids) AS c
			WHERE NOT (c = ANY($2))
			ORDER BY c, d.completed_at DESC, d.id)
		SELECT DISTINCT r.email_key
		FROM latest l JOIN import_rows r ON r.import_id = l.id AND l.c = ANY(r.course_ids)
		WHERE r.org_id = $1 AND r.status IN ('new', 'existing') AND r.email_key <> ''`, orgID, courseIDs)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			return nil, err
		}
		out[key] = true
	}
	return out, rows.Err()
}
