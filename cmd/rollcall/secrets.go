package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/infrastructure/vault"
)

// sealedColumn is a database column sealed with ROLLCALL_SECRET_KEY, bound
// (as associated data) to its row's key: the id's 16 bytes, or the text.
type sealedColumn struct {
	table, keyColumn, column string
	keyIsUUID                bool
}

// sealedColumns are every value the service seals in the database. A new
// one belongs here, or a rotation would leave it readable only with the
// retired key.
var sealedColumns = []sealedColumn{
	{table: "import_secrets", keyColumn: "import_id", column: "default_password", keyIsUUID: true},
	{table: "google_connections", keyColumn: "account_id", column: "token", keyIsUUID: true},
	{table: "google_oauth_states", keyColumn: "state", column: "verifier"},
	{table: "login_cards", keyColumn: "account_id", column: "password", keyIsUUID: true},
}

// Secrets is `rollcall secrets rotate`: re-seal with ROLLCALL_SECRET_KEY
// whatever ROLLCALL_SECRET_KEY_PREVIOUS sealed, in the database and in
// UPLOAD_DIR. Safe while `serve` runs with both keys set; see
// docs/operations.md for the whole procedure.
func (m *Main) Secrets(ctx context.Context, args []string) error {
	if len(args) != 1 || args[0] != "rotate" {
		return errors.New("say: rollcall secrets rotate")
	}
	key, err := m.secretKey()
	if err != nil {
		return err
	}
	if !key.HasPrevious() {
		return errors.New("ROLLCALL_SECRET_KEY_PREVIOUS is not set: set ROLLCALL_SECRET_KEY to the new key and ROLLCALL_SECRET_KEY_PREVIOUS to the old one, then run this again")
	}
	pool, err := m.db(ctx)
	if err != nil {
		return err
	}
	var unreadable []string
	for _, c := range sealedColumns {
		r, err := resealColumn(ctx, pool, key, c)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", c.table, c.column, err)
		}
		fmt.Fprintf(m.Stdout, "%s.%s: %d re-sealed, %d already under the new key\n", c.table, c.column, r.Resealed, r.Current)
		unreadable = append(unreadable, r.Unreadable...)
	}
	files, err := vault.NewFileStore(m.Config.UploadDir, key)
	if err != nil {
		return err
	}
	r, err := files.Rotate(ctx)
	if err != nil {
		return fmt.Errorf("uploads in %s: %w", m.Config.UploadDir, err)
	}
	fmt.Fprintf(m.Stdout, "uploads in %s: %d re-encrypted, %d already under the new key\n", m.Config.UploadDir, r.Resealed, r.Current)
	for _, name := range r.Unreadable {
		unreadable = append(unreadable, m.Config.UploadDir+"/"+name)
	}
	if len(unreadable) > 0 {
		return fmt.Errorf("%d value(s) open with neither key and were left as they are (sealed with yet another key, or damaged): %v", len(unreadable), unreadable)
	}
	fmt.Fprintln(m.Stdout, "done: ROLLCALL_SECRET_KEY_PREVIOUS can now be removed from every process")
	return nil
}

// resealColumn re-seals the column's values row by row. Each update is
// guarded by the value it replaces, so a value the service rewrote
// meanwhile (already under the new key) is left alone.
func resealColumn(ctx context.Context, pool *pgxpool.Pool, key vault.Key, c sealedColumn) (vault.Rotation, error) {
	var r vault.Rotation
	ident := func(s string) string { return pgx.Identifier{s}.Sanitize() }
	rows, err := pool.Query(ctx, fmt.Sprintf(`SELECT %s::text, %s FROM %s WHERE %s IS NOT NULL`,
		ident(c.keyColumn), ident(c.column), ident(c.table), ident(c.column)))
	if err != nil {
		return r, err
	}
	type sealedRow struct {
		key    string
		sealed []byte
	}
	all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealedRow, error) {
		var s sealedRow
		return s, row.Scan(&s.key, &s.sealed)
	})
	if err != nil {
		return r, err
	}
	update := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %s = $3`,
		ident(c.table), ident(c.column), ident(c.keyColumn), ident(c.column))
	for _, row := range all {
		ad := []byte(row.key)
		if c.keyIsUUID {
			id, err := uuid.Parse(row.key)
			if err != nil {
				return r, err
			}
			ad = id[:]
		}
		resealed, changed, err := vault.Reseal(key, row.sealed, ad)
		switch {
		case errors.Is(err, vault.ErrTampered):
			r.Unreadable = append(r.Unreadable, fmt.Sprintf("%s %s=%s", c.table, c.keyColumn, row.key))
			continue
		case err != nil:
			return r, err
		case !changed:
			r.Current++
			continue
		}
		if _, err := pool.Exec(ctx, update, resealed, row.key, row.sealed); err != nil {
			return r, err
		}
		r.Resealed++
	}
	return r, nil
}
