package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
)

// ImportRows keeps an import's validated rows (import_rows): written by the
// validation job in short batches, read by the review and the commit. Bulk
// row data never travels in events.
type ImportRows struct{ pool *pgxpool.Pool }

var _ importing.Rows = (*ImportRows)(nil)

// NewImportRows returns the store.
func NewImportRows(pool *pgxpool.Pool) *ImportRows { return &ImportRows{pool: pool} }

// Delete forgets the rows of an earlier validation.
func (s *ImportRows) Delete(ctx context.Context, importID uuid.UUID) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM import_rows WHERE import_id = $1`, importID)
	return err
}

// FirstRows replays the emails validated so far, so a resumed validation
// still spots duplicates of earlier rows.
func (s *ImportRows) FirstRows(ctx context.Context, importID uuid.UUID, fn func(key string, row int)) error {
	rows, err := s.pool.Query(ctx, `
		SELECT email_key, row_number FROM import_rows
		WHERE import_id = $1 AND email_key <> '' ORDER BY row_number`, importID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var row int
		if err := rows.Scan(&key, &row); err != nil {
			return err
		}
		fn(key, row)
	}
	return rows.Err()
}

// ToCommit reads the next new and existing rows of a chunk.
func (s *ImportRows) ToCommit(ctx context.Context, importID uuid.UUID, after, to, limit int) ([]importing.CommitRow, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT seq_all, row_number, status, first_name, last_name, email, group_id, tag_ids, has_password, diff, password_sealed
		FROM import_rows
		WHERE import_id = $1 AND seq_all > $2 AND seq_all <= $3 AND status IN ('new', 'existing')
		ORDER BY seq_all LIMIT $4`, importID, after, to, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (importing.CommitRow, error) {
		var (
			cr          importing.CommitRow
			status      string
			email       string
			group       *uuid.UUID
			diff        []byte
			first, last string
		)
		if err := row.Scan(&cr.SeqAll, &cr.Row.Number, &status, &first, &last, &email, &group, &cr.Row.TagIDs, &cr.Row.HasPassword,
			&diff, &cr.SealedPassword); err != nil {
			return cr, err
		}
		cr.Row.Email, cr.Row.FirstName, cr.Row.LastName, cr.Row.GroupID = account.EmailFromStorage(email), first, last, deref(group)
		cr.Reviewed.New = status == importsession.RowNew
		var err error
		cr.Reviewed.Diff, err = decodeDiff(diff)
		return cr, err
	})
}

// Row reads one validated row.
func (s *ImportRows) Row(ctx context.Context, importID uuid.UUID, number int) (importing.ValidatedRow, bool, error) {
	var (
		v        importing.ValidatedRow
		group    *uuid.UUID
		problems []byte
		diff     []byte
		mask     int32
	)
	err := s.pool.QueryRow(ctx, `
		SELECT row_number, status, first_name, last_name, email, email_key, group_name, group_id, tags, tag_ids, has_password,
			problems, diff, changed_under, password_sealed, seq_all, seq_status
		FROM import_rows WHERE import_id = $1 AND row_number = $2`, importID, number).
		Scan(&v.Number, &v.Status, &v.FirstName, &v.LastName, &v.Email, &v.EmailKey, &v.Group, &group, &v.Tags, &v.TagIDs, &v.HasPassword,
			&problems, &diff, &mask, &v.SealedPassword, &v.SeqAll, &v.SeqStatus)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	v.GroupID, v.ChangedUnder = deref(group), uint16(mask)
	var stored []query.Problem
	if err := json.Unmarshal(problems, &stored); err != nil {
		return v, false, err
	}
	for _, p := range stored {
		v.Problems = append(v.Problems, importsession.Problem(p))
	}
	v.Diff, err = decodeDiff(diff)
	return v, true, err
}

// RowWithEmail is the first other listed row of the import with the email.
func (s *ImportRows) RowWithEmail(ctx context.Context, importID uuid.UUID, key string, except int) (int, error) {
	if key == "" {
		return 0, nil
	}
	var row *int
	err := s.pool.QueryRow(ctx, `SELECT min(row_number) FROM import_rows WHERE import_id = $1 AND email_key = $2 AND row_number <> $3`,
		importID, key, except).Scan(&row)
	if err != nil || row == nil {
		return 0, err
	}
	return *row, nil
}

// replaceImportRow rewrites a corrected row. One that changed status goes
// last among its new status's rows, so every filter still pages.
func replaceImportRow(ctx context.Context, tx pgx.Tx, importID uuid.UUID, v importing.ValidatedRow) error {
	problems := make([]map[string]string, len(v.Problems))
	for j, p := range v.Problems {
		problems[j] = map[string]string{"field": p.Field, "code": p.Code, "message": storable(p.Message)}
	}
	pj, err := json.Marshal(problems)
	if err != nil {
		return err
	}
	var diff []byte
	if v.Status == importsession.RowExisting {
		if diff, err = encodeDiff(v.Diff); err != nil {
			return err
		}
	}
	tags := make([]string, len(v.Tags))
	for j, t := range v.Tags {
		tags[j] = storable(t)
	}
	tag, err := tx.Exec(ctx, `
		UPDATE import_rows SET
			seq_status = CASE WHEN status = $3 THEN seq_status
				ELSE (SELECT coalesce(max(seq_status), 0) + 1 FROM import_rows WHERE import_id = $1 AND status = $3) END,
			status = $3, first_name = $4, last_name = $5, email = $6, email_key = $7, group_name = $8, group_id = $9,
			tags = $10, tag_ids = $11, problems = $12, diff = $13, changed_under = $14
		WHERE import_id = $1 AND row_number = $2`,
		importID, v.Number, v.Status, storable(v.FirstName), storable(v.LastName), storable(v.Email), v.EmailKey, storable(v.Group),
		nullUUID(v.GroupID), tags, v.TagIDs, pj, diff, int32(v.ChangedUnder))
	if err == nil && tag.RowsAffected() != 1 {
		return fmt.Errorf("postgres: import %s has no row %d", importID, v.Number)
	}
	return err
}

// ToUndo reads what the commit did to the accounts of a chunk's rows.
func (s *ImportRows) ToUndo(ctx context.Context, importID uuid.UUID, after, to, limit int) ([]importing.UndoRow, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT seq_all, account_id, created, diff, coalesce(previous_hash, ''), coalesce(previous_must_change, false)
		FROM import_account_changes
		WHERE import_id = $1 AND seq_all > $2 AND seq_all <= $3
		ORDER BY seq_all LIMIT $4`, importID, after, to, limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (importing.UndoRow, error) {
		var u importing.UndoRow
		var diff []byte
		if err := row.Scan(&u.Seq, &u.AccountID, &u.Created, &diff, &u.PreviousHash, &u.PreviousMustChange); err != nil {
			return u, err
		}
		var err error
		u.Change, err = decodeDiff(diff)
		return u, err
	})
}

// insertImportRows copies a batch of validated rows in one round trip.
func insertImportRows(ctx context.Context, tx pgx.Tx, importID, orgID uuid.UUID, rows []importing.ValidatedRow) error {
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"},
		[]string{"import_id", "row_number", "org_id", "status", "first_name", "last_name", "email", "email_key",
			"group_name", "group_id", "tags", "tag_ids", "has_password", "problems", "seq_all", "seq_status", "diff", "changed_under", "password_sealed", "course_ids"},
		pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
			v := rows[i]
			problems := make([]map[string]string, len(v.Problems))
			for j, p := range v.Problems {
				problems[j] = map[string]string{"field": p.Field, "code": p.Code, "message": storable(p.Message)}
			}
			pj, err := json.Marshal(problems)
			if err != nil {
				return nil, err
			}
			var diff []byte
			if v.Status == importsession.RowExisting {
				if diff, err = encodeDiff(v.Diff); err != nil {
					return nil, err
				}
			}
			tags := make([]string, len(v.Tags))
			for j, t := range v.Tags {
				tags[j] = storable(t)
			}
			return []any{importID, v.Number, orgID, v.Status, storable(v.FirstName), storable(v.LastName), storable(v.Email), v.EmailKey,
				storable(v.Group), nullUUID(v.GroupID), tags, v.TagIDs, v.HasPassword, pj, v.SeqAll, v.SeqStatus, diff, int32(v.ChangedUnder), v.SealedPassword, nonNilStrings(v.CourseIDs)}, nil
		}))
	return err
}

// storable replaces what PostgreSQL text cannot hold (a NUL byte, invalid
// UTF-8) with U+FFFD, so a stray byte in a cell shows on the review as a
// problem instead of failing the validation.
func storable(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// diffJSON is how a row's diff is stored; the domain's Diff knows nothing
// of storage.
type diffJSON struct {
	FirstName  *[2]string    `json:"first_name,omitempty"`
	LastName   *[2]string    `json:"last_name,omitempty"`
	Group      *[2]uuid.UUID `json:"group,omitempty"`
	TagsAdded  []uuid.UUID   `json:"tags_added,omitempty"`
	Password   bool          `json:"password,omitempty"`
	Reactivate bool          `json:"reactivate,omitempty"`
}

func encodeDiff(d account.Diff) ([]byte, error) {
	j := diffJSON{TagsAdded: d.TagsAdded, Password: d.Password, Reactivate: d.Reactivate}
	if d.FirstName != nil {
		j.FirstName = &[2]string{storable(d.FirstName.From), storable(d.FirstName.To)}
	}
	if d.LastName != nil {
		j.LastName = &[2]string{storable(d.LastName.From), storable(d.LastName.To)}
	}
	if d.Group != nil {
		j.Group = &[2]uuid.UUID{d.Group.From, d.Group.To}
	}
	return json.Marshal(j)
}

func decodeDiff(b []byte) (account.Diff, error) {
	if len(b) == 0 {
		return account.Diff{}, nil
	}
	var j diffJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return account.Diff{}, err
	}
	d := account.Diff{TagsAdded: j.TagsAdded, Password: j.Password, Reactivate: j.Reactivate}
	if j.FirstName != nil {
		d.FirstName = &account.TextChange{From: j.FirstName[0], To: j.FirstName[1]}
	}
	if j.LastName != nil {
		d.LastName = &account.TextChange{From: j.LastName[0], To: j.LastName[1]}
	}
	if j.Group != nil {
		d.Group = &account.GroupChange{From: j.Group[0], To: j.Group[1]}
	}
	return d, nil
}

// Rows reads a verification page. Every filter but changed and unchanged
// is a range scan on the row's position within it, so page 10,000 costs
// what page 1 does; changed and unchanged depend on the policy chosen, so
// they skip through the existing rows by their precomputed mask.
func (r *ReadModels) Rows(ctx context.Context, importID uuid.UUID, f query.RowFilter, page int) ([]query.StoredRow, error) {
	from, to := (page-1)*query.PageSize+1, page*query.PageSize
	const cols = `row_number, status, first_name, last_name, email, group_name, tags, problems, diff, changed_under`
	var rows pgx.Rows
	var err error
	switch f.Status {
	case "":
		rows, err = r.pool.Query(ctx, `SELECT `+cols+` FROM import_rows WHERE import_id = $1 AND seq_all BETWEEN $2 AND $3 ORDER BY seq_all`, importID, from, to)
	case query.RowChanged, query.RowUnchanged:
		changed := f.Status == query.RowChanged
		rows, err = r.pool.Query(ctx, `
			SELECT `+cols+` FROM import_rows
			WHERE import_id = $1 AND status = 'existing' AND ((changed_under & (1 << $2)) <> 0) = $3
			ORDER BY seq_status OFFSET $4 LIMIT $5`, importID, f.Policy, changed, from-1, query.PageSize)
	default:
		rows, err = r.pool.Query(ctx, `SELECT `+cols+` FROM import_rows WHERE import_id = $1 AND status = $2 AND seq_status BETWEEN $3 AND $4 ORDER BY seq_status`,
			importID, f.Status, from, to)
	}
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (query.StoredRow, error) {
		var v query.StoredRow
		var problems, diff []byte
		var mask int32
		if err := row.Scan(&v.Row, &v.Status, &v.FirstName, &v.LastName, &v.Email, &v.Group, &v.Tags, &problems, &diff, &mask); err != nil {
			return v, err
		}
		v.ChangedUnder = uint16(mask)
		if err := json.Unmarshal(problems, &v.Problems); err != nil {
			return v, err
		}
		var err error
		v.Diff, err = decodeDiff(diff)
		return v, err
	})
	if out == nil {
		out = []query.StoredRow{}
	}
	return out, err
}

// Row reads one listed row of the review.
func (r *ReadModels) Row(ctx context.Context, importID uuid.UUID, number int) (query.StoredRow, bool, error) {
	var v query.StoredRow
	var problems, diff []byte
	var mask int32
	err := r.pool.QueryRow(ctx, `
		SELECT row_number, status, first_name, last_name, email, group_name, tags, problems, diff, changed_under
		FROM import_rows WHERE import_id = $1 AND row_number = $2`, importID, number).
		Scan(&v.Row, &v.Status, &v.FirstName, &v.LastName, &v.Email, &v.Group, &v.Tags, &problems, &diff, &mask)
	if errors.Is(err, pgx.ErrNoRows) {
		return v, false, nil
	}
	if err != nil {
		return v, false, err
	}
	v.ChangedUnder = uint16(mask)
	if err := json.Unmarshal(problems, &v.Problems); err != nil {
		return v, false, err
	}
	v.Diff, err = decodeDiff(diff)
	return v, true, err
}

// InvalidRows streams the invalid rows' numbers and problems in row order.
func (r *ReadModels) InvalidRows(ctx context.Context, importID uuid.UUID, fn func(row int, problems []query.Problem) error) error {
	rows, err := r.pool.Query(ctx, `
		SELECT row_number, problems FROM import_rows
		WHERE import_id = $1 AND status = 'invalid' ORDER BY row_number`, importID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var number int
		var raw []byte
		if err := rows.Scan(&number, &raw); err != nil {
			return err
		}
		var problems []query.Problem
		if err := json.Unmarshal(raw, &problems); err != nil {
			return err
		}
		if err := fn(number, problems); err != nil {
			return err
		}
	}
	return rows.Err()
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
