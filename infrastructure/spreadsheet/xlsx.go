package spreadsheet

import (
	"io"
	"strings"

	"github.com/xuri/excelize/v2"
)

// MaxXLSXPart is the largest part (a worksheet, the shared strings) a
// workbook may unpack to. excelize unpacks a larger worksheet or shared
// strings table into a temporary file in clear, password column and all,
// outside the encrypted upload store; so a larger part is refused with 413
// and a sentence pointing to CSV, which streams at any size. 64 MiB of
// worksheet holds a few hundred thousand rows.
const MaxXLSXPart = 64 << 20

// openXLSX reads the first sheet with excelize's streaming row iterator;
// the zip's declared sizes are checked first so a zip bomb is refused before
// anything is inflated, and excelize's own limits back that up. The part
// limit and excelize's in-memory limit are the same number, so excelize
// never spools a part it is given to a temporary file (archive/zip refuses
// a part that inflates to more than it declared).
func openXLSX(r io.ReaderAt, size int64, opts Options) (*Reader, error) {
	zr, err := xlsxTooLarge(r, size, opts.MaxXLSXUnzipped)
	if err != nil {
		return nil, err
	}
	partLimit := min(opts.MaxXLSXUnzipped, MaxXLSXPart)
	for _, part := range zr.File {
		if part.UncompressedSize64 > uint64(partLimit) {
			return nil, formatError("sheet_too_large", "The workbook's %s unpacks to %d MiB; Rollcall reads Excel sheets of up to %d MiB. Save the sheet as CSV (File → Save As → CSV UTF-8) and upload that: CSV files of any length up to the upload limit are read.",
				partName(part.Name), part.UncompressedSize64>>20, partLimit>>20)
		}
	}
	f, err := excelize.OpenReader(io.NewSectionReader(r, 0, size), excelize.Options{
		UnzipSizeLimit:    opts.MaxXLSXUnzipped,
		UnzipXMLSizeLimit: partLimit,
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

// partName says which part of a workbook a zip entry is, for a person.
func partName(name string) string {
	lower := strings.ToLower(strings.ReplaceAll(name, "\\", "/"))
	switch {
	case strings.HasPrefix(lower, "xl/worksheets/"):
		return "sheet " + strings.TrimSuffix(strings.TrimPrefix(lower, "xl/worksheets/"), ".xml")
	case lower == "xl/sharedstrings.xml":
		return "text table (shared strings)"
	}
	return "part " + name
}
