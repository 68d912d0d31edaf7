package importjob

import (
	"context"
	"errors"
	"io"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
)

// previewCellRunes bounds a shown cell: a file may hold a 10 MB cell, and
// the mapping page only needs enough to recognise the column.
const previewCellRunes = 60

// Preview reads the first non-blank data rows of the upload, for the mapping
// page. Cells of a column that holds passwords, by the mapping or, before
// there is one, by the suggestion, are masked: a password is never sent back
// to a browser.
func (r *Runner) Preview(ctx context.Context, imp *importsession.Import, rows int) ([]query.PreviewRow, error) {
	f, err := r.Uploads.Open(ctx, imp.ID())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	file, err := spreadsheet.Open(f, f.Size(), imp.File().FileName, r.Reader)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	mapping := imp.Mapping()
	if len(mapping) == 0 {
		mapping = imp.File().SuggestedMapping
	}
	headers := file.Info().Headers
	var out []query.PreviewRow
	for len(out) < rows {
		row, err := file.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if row.Blank {
			continue
		}
		cells := make([]string, len(row.Cells))
		for i, c := range row.Cells {
			switch {
			case c == "":
			case i < len(headers) && mapping[headers[i]] == importsession.FieldPassword:
				cells[i] = query.HiddenCell
			default:
				cells[i] = shorten(c)
			}
		}
		out = append(out, query.PreviewRow{Row: row.Number, Cells: cells})
	}
	return out, nil
}

func shorten(s string) string {
	n := 0
	for i := range s {
		if n == previewCellRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
