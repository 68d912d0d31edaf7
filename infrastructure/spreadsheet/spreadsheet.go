// Package spreadsheet reads uploaded .csv and .xlsx files row by row, so
// memory does not grow with the file: it detects the format, the text
// encoding, the delimiter and the header row, and refuses with a clear
// message what it cannot read.
package spreadsheet

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Options bound what a file may contain; zero values take the defaults.
type Options struct {
	MaxCellBytes    int   // default 64 KiB
	MaxColumns      int   // default 512
	MaxXLSXUnzipped int64 // default 512 MiB, against zip bombs
	// Encoding and Delimiter, when set, are used instead of being detected
	// (a CSV the detection got wrong, chosen again on the mapping page).
	Encoding  string
	Delimiter string
}

func (o *Options) setDefaults() {
	if o.MaxCellBytes <= 0 {
		o.MaxCellBytes = 64 << 10
	}
	if o.MaxColumns <= 0 {
		o.MaxColumns = 512
	}
	if o.MaxXLSXUnzipped <= 0 {
		o.MaxXLSXUnzipped = 512 << 20
	}
}

// Info describes a file as detected.
type Info struct {
	Format          string // "csv" or "xlsx"
	Encoding        string // utf-8, utf-8-bom, utf-16le, utf-16be, windows-1252 ("" for xlsx)
	Delimiter       string // ",", ";", "\t" ("" for xlsx)
	Headers         []string
	HeaderLine      int // 1-based row of the header in the file
	SkippedPreamble int // rows before the header
}

// Row is one data row. Number is 1-based from the first row after the
// header, and stays stable across blank rows so "row 17" means the same
// thing to the reader and to the person who made the file.
type Row struct {
	Number int
	Cells  []string // aligned to the headers
	Blank  bool
	// Extra counts non-empty cells beyond the last header.
	Extra int
}

// FormatError is a file Rollcall cannot read, with a message for the person
// who uploaded it.
type FormatError struct {
	Code    string
	Message string
}

func (e *FormatError) Error() string { return e.Message }

func formatError(code, format string, args ...any) *FormatError {
	return &FormatError{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Reader streams a file's data rows.
type Reader struct {
	info Info
	next func() ([]string, error)
	// pending holds rows read while looking for the header.
	pending [][]string
	row     int
	// line is the file's 1-based line (or sheet row) of the last record read.
	line  int
	close func() error
	opts  Options
}

// Open detects the file's format and header and returns a reader at the
// first data row.
func Open(r io.ReaderAt, size int64, fileName string, opts Options) (*Reader, error) {
	opts.setDefaults()
	if size == 0 {
		return nil, formatError("empty_file", "The file is empty. Choose the file again, or export it again from your spreadsheet program.")
	}
	head := make([]byte, min(size, 8))
	if _, err := r.ReadAt(head, 0); err != nil && err != io.EOF {
		return nil, err
	}
	format, err := detectFormat(head, fileName)
	if err != nil {
		return nil, err
	}
	var rd *Reader
	if format == "xlsx" {
		rd, err = openXLSX(r, size, opts)
	} else {
		rd, err = openCSV(io.NewSectionReader(r, 0, size), opts)
	}
	if err != nil {
		return nil, err
	}
	if err := rd.findHeader(); err != nil {
		_ = rd.Close()
		return nil, err
	}
	return rd, nil
}

// DetectFromName says which format a file name suggests.
func DetectFromName(name string) (format string, ok bool) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".txt", ".tsv":
		return "csv", true
	case ".xlsx":
		return "xlsx", true
	}
	return "", false
}

func detectFormat(head []byte, name string) (string, error) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return "xlsx", nil
	case bytes.HasPrefix(head, []byte("\xD0\xCF\x11\xE0")):
		return "", formatError("unsupported_file_type", "This is an old Excel (.xls) file. Open it in your spreadsheet program and save it as .xlsx or .csv, then upload that.")
	case bytes.HasPrefix(head, []byte("%PDF")):
		return "", formatError("unsupported_file_type", "This is a PDF. Rollcall reads .csv and .xlsx files; export the list from your spreadsheet program as one of those.")
	}
	if looksBinary(head) {
		return "", formatError("unsupported_file_type", "This file is neither a CSV nor an Excel (.xlsx) file. Export the list from your spreadsheet program as .csv or .xlsx.")
	}
	if f, ok := DetectFromName(name); ok && f == "xlsx" {
		return "", formatError("unsupported_file_type", "The file is named .xlsx but is not an Excel workbook. Save it again from your spreadsheet program.")
	}
	return "csv", nil
}

// looksBinary flags control bytes that no text export contains, leaving
// room for UTF-16's zero bytes.
func looksBinary(head []byte) bool {
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return false
	}
	zeros := 0
	for _, b := range head {
		switch {
		case b == 0:
			zeros++
		case b < 0x09 || (b > 0x0D && b < 0x20 && b != 0x1A):
			return true
		}
	}
	// UTF-16 without a BOM has a zero every other byte.
	return zeros > 0 && zeros < len(head)/3
}

// Info returns what was detected.
func (r *Reader) Info() Info { return r.info }

// Close releases the file.
func (r *Reader) Close() error {
	if r.close != nil {
		return r.close()
	}
	return nil
}

// findHeader takes the first of the first ten rows that has at least two
// non-empty cells, or one when the file has a single column.
func (r *Reader) findHeader() error {
	var seen [][]string
	var lines []int
	for len(seen) < 10 {
		cells, err := r.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		seen = append(seen, cells)
		lines = append(lines, r.line)
	}
	headerAt := -1
	for i, cells := range seen {
		if nonEmpty(cells) >= 2 {
			headerAt = i
			break
		}
	}
	if headerAt < 0 {
		for i, cells := range seen {
			if nonEmpty(cells) == 1 {
				headerAt = i
				break
			}
		}
	}
	if headerAt < 0 {
		return formatError("no_header", "The file has no header row in its first 10 rows. Put the column names (such as First Name, Last Name, Email) in the first row.")
	}
	raw := seen[headerAt]
	for len(raw) > 0 && strings.TrimSpace(raw[len(raw)-1]) == "" {
		raw = raw[:len(raw)-1]
	}
	if len(raw) > r.opts.MaxColumns {
		return formatError("too_many_columns", "The file has %d columns; Rollcall reads at most %d. Remove the columns you do not need and upload again.", len(raw), r.opts.MaxColumns)
	}
	r.info.Headers = headerNames(raw)
	r.info.HeaderLine = lines[headerAt]
	r.info.SkippedPreamble = lines[headerAt] - 1
	r.pending = seen[headerAt+1:]
	if len(r.pending) == 0 {
		// Peek one row so a header-only file is refused at upload.
		cells, err := r.next()
		if err == io.EOF {
			return formatError("header_only", "The file has a header row but no people in it. Add one row per person under the header.")
		}
		if err != nil {
			return err
		}
		r.pending = [][]string{cells}
	}
	return nil
}

// headerNames names every column once, compared case-insensitively, since
// a mapping refers to columns by name: names written in the file are kept,
// then blank headers become "Column N" and repeats "Name (2)", "Name (3)",
// skipping any name already taken (a file may itself hold "A (2)" or
// "Column 3").
func headerNames(raw []string) []string {
	out := make([]string, len(raw))
	taken := map[string]bool{}
	for i, h := range raw {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if h != "" && !taken[strings.ToLower(h)] {
			out[i] = h
			taken[strings.ToLower(h)] = true
		}
	}
	for i, h := range raw {
		if out[i] != "" {
			continue
		}
		base := strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if base == "" {
			base = fmt.Sprintf("Column %d", i+1)
		}
		name := base
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s (%d)", base, n)
		}
		out[i] = name
		taken[strings.ToLower(name)] = true
	}
	return out
}

func nonEmpty(cells []string) int {
	n := 0
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			n++
		}
	}
	return n
}

// Next returns the next data row, or io.EOF.
func (r *Reader) Next() (Row, error) {
	var cells []string
	if len(r.pending) > 0 {
		cells, r.pending = r.pending[0], r.pending[1:]
	} else {
		var err error
		if cells, err = r.next(); err != nil {
			return Row{}, err
		}
	}
	r.row++
	row := Row{Number: r.row, Cells: make([]string, len(r.info.Headers))}
	copy(row.Cells, cells)
	for _, c := range cells[min(len(cells), len(r.info.Headers)):] {
		if strings.TrimSpace(c) != "" {
			row.Extra++
		}
	}
	row.Blank = nonEmpty(row.Cells) == 0
	return row, nil
}

// xlsxTooLarge checks the zip's declared sizes before anything is inflated.
func xlsxTooLarge(r io.ReaderAt, size int64, limit int64) (*zip.Reader, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, formatError("unsupported_file_type", "The file looks like an Excel workbook but cannot be opened (%v). Save it again from your spreadsheet program.", err)
	}
	var total uint64
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if total > uint64(limit) {
			return nil, formatError("xlsx_too_large", "The workbook unpacks to more than %d MiB. Keep only the sheet with the people, or save it as CSV.", limit>>20)
		}
	}
	return zr, nil
}
