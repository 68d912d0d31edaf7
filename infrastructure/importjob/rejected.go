package importjob

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"strings"

	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
)

// WriteRejected writes the invalid rows as uploaded, plus a last column
// "problems", for the importer to fix and upload again. Two things differ
// from the upload on purpose: password cells are left empty (a download must
// not carry plaintext passwords), and a cell that a spreadsheet would run as
// a formula (starting with = + - @ or a control character) is prefixed with
// an apostrophe.
func (r *Runner) WriteRejected(ctx context.Context, imp *importsession.Import, w io.Writer) error {
	f, err := r.Uploads.Open(ctx, imp.ID())
	if err != nil {
		return err
	}
	defer f.Close()
	file, err := spreadsheet.Open(f, f.Size(), imp.File().FileName, r.Reader)
	if err != nil {
		return err
	}
	defer file.Close()
	headers := file.Info().Headers
	passwordCols := map[int]bool{}
	for i, h := range headers {
		if imp.Mapping()[h] == importsession.FieldPassword {
			passwordCols[i] = true
		}
	}
	rows, err := r.Pool.Query(ctx, `
		SELECT row_number, problems FROM import_rows
		WHERE import_id = $1 AND status = 'invalid' ORDER BY row_number`, imp.ID())
	if err != nil {
		return err
	}
	defer rows.Close()

	out := csv.NewWriter(w)
	if err := out.Write(append(neutralise(headers), "problems")); err != nil {
		return err
	}
	for rows.Next() {
		var number int
		var raw []byte
		if err := rows.Scan(&number, &raw); err != nil {
			return err
		}
		var problems []struct{ Field, Message string }
		if err := json.Unmarshal(raw, &problems); err != nil {
			return err
		}
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Field + ": " + p.Message
		}
		for {
			row, err := file.Next()
			if err != nil {
				return err
			}
			if row.Number < number {
				continue
			}
			cells := neutralise(row.Cells)
			for i := range cells {
				if passwordCols[i] {
					cells[i] = ""
				}
			}
			if err := out.Write(append(cells, neutraliseCell(strings.Join(msgs, " | ")))); err != nil {
				return err
			}
			break
		}
	}
	out.Flush()
	if err := out.Error(); err != nil {
		return err
	}
	return rows.Err()
}

func neutralise(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = neutraliseCell(c)
	}
	return out
}

// neutraliseCell keeps spreadsheets from running a cell as a formula
// (CSV injection, OWASP's advice).
func neutraliseCell(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}
