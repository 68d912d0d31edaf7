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
// read) and the validated rows (who was in which class). Only imports in
// the state completed count: an undone import's students were never
// imported, as far as a re-sync is concerned.
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

// EarlierMembers are the people of the classes courseIDs whom completed
// imports of the organization (other than importID) imported, as new or
// existing rows, the most recent import's first.
func (h *ClassroomHistory) EarlierMembers(ctx context.Context, orgID, importID uuid.UUID, courseIDs []string) ([]importsession.RosterMember, error) {
	if orgID == uuid.Nil {
		return nil, errNoOrganization
	}
	rows, err := h.pool.Query(ctx, `
		SELECT r.email, r.first_name, r.last_name
		FROM imports_view v
		JOIN import_rows r ON r.import_id = v.id AND r.org_id = v.org_id
		WHERE v.org_id = $1 AND v.id <> $2 AND v.source = 'google_classroom' AND v.state = 'completed'
		  AND v.course_ids && $3 AND r.course_ids && $3 AND r.status IN ('new', 'existing')
		ORDER BY v.completed_at DESC, v.id, r.row_number`, orgID, importID, courseIDs)
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
	rows, err := h.pool.Query(ctx, `
		WITH latest AS (
			SELECT DISTINCT ON (c) c, v.id
			FROM imports_view v, unnest(v.course_ids) AS c
			WHERE v.org_id = $1 AND v.source = 'google_classroom' AND v.state = 'completed' AND NOT (c = ANY($2))
			ORDER BY c, v.completed_at DESC, v.id)
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
