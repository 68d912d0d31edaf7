package spreadsheet

import (
	"io"

	"github.com/xuri/excelize/v2"
)

// openXLSX reads the first sheet with excelize's streaming row iterator;
// the zip's declared sizes are checked first so a zip bomb is refused before
// anything is inflated, and excelize's own limits back that up.
func openXLSX(r io.ReaderAt, size int64, opts Options) (*Reader, error) {
	if _, err := xlsxTooLarge(r, size, opts.MaxXLSXUnzipped); err != nil {
		return nil, err
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{
		UnzipSizeLimit:    opts.MaxXLSXUnzipped,
		UnzipXMLSizeLimit: min(opts.MaxXLSXUnzipped, 64<<20),
	})
	if err != nil {
		return nil, formatError("unsupported_file_type", "The Excel workbook cannot be opened (%v). Save it again from your spreadsheet program, or as CSV.", err)
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, formatError("empty_file", "The workbook has no sheet.")
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		_ = f.Close()
		return nil, formatError("unsupported_file_type", "The first sheet of the workbook cannot be read (%v).", err)
	}
	rd := &Reader{info: Info{Format: "xlsx"}, opts: opts}
	line := 0
	rd.next = func() ([]string, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return nil, formatError("unsupported_file_type", "The workbook stops being readable after row %d (%v).", line, err)
			}
			return nil, io.EOF
		}
		line++
		rd.line = line
		cells, err := rows.Columns()
		if err != nil {
			return nil, formatError("unsupported_file_type", "Row %d of the workbook cannot be read (%v).", line, err)
		}
		if len(cells) > opts.MaxColumns*4 {
			return nil, formatError("too_many_columns", "Row %d has %d cells; Rollcall reads at most %d columns.", line, len(cells), opts.MaxColumns)
		}
		for _, c := range cells {
			if len(c) > opts.MaxCellBytes {
				return nil, formatError("cell_too_large", "A cell on row %d holds more than %d KiB. Fix that cell and upload again.", line, opts.MaxCellBytes>>10)
			}
		}
		return cells, nil
	}
	rd.close = func() error {
		_ = rows.Close()
		return f.Close()
	}
	return rd, nil
}
