package spreadsheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openFile(t testing.TB, name string) (*Reader, error) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return Open(bytes.NewReader(b), int64(len(b)), name, Options{})
}

func readAll(t testing.TB, r *Reader) []Row {
	t.Helper()
	var rows []Row
	for {
		row, err := r.Next()
		if err == io.EOF {
			return rows
		}
		if err != nil {
			t.Fatalf("row %d: %v", len(rows)+1, err)
		}
		rows = append(rows, row)
	}
}

func TestReadsRealFiles(t *testing.T) {
	people := "[[Zoë Müller zoe@example.org] [José Peña jose@example.org]]"
	tests := []struct {
		file, format, encoding, delimiter string
		headers                           string
		rows                              string
		headerLine                        int
	}{
		{"utf8.csv", "csv", "utf-8", ",", "[First Name Last Name Email]", people, 1},
		{"utf8_bom.csv", "csv", "utf-8-bom", ",", "[First Name Last Name Email]", people, 1},
		{"utf16le_bom.csv", "csv", "utf-16le", "\t", "[First Name Last Name Email]", people, 1},
		{"utf16le_nobom.csv", "csv", "utf-16le", ",", "[First Name Last Name Email]", people, 1},
		{"utf16be_bom.csv", "csv", "utf-16be", ",", "[First Name Last Name Email]", people, 1},
		{"windows1252.csv", "csv", "windows-1252", ";", "[First Name Last Name Email]", people, 1},
		{"semicolon.csv", "csv", "utf-8", ";", "[First Name Last Name Email]", people, 1},
		{"tab.tsv", "csv", "utf-8", "\t", "[First Name Last Name Email]", people, 1},
		{"quoted_crlf.csv", "csv", "utf-8", ",", "[First Name Last Name Email Note]",
			"[[Ana Lima, Jr. ana@example.org line one\nline two, with comma] [Bo \"the kid\" Ek bo@example.org ]]", 1},
		{"preamble.csv", "csv", "utf-8", ",", "[First Name Last Name Email]", "[[Ana Lima ana@example.org]]", 3},
		{"people.xlsx", "xlsx", "", "", "[First Name Last Name Email Born]",
			"[[Zoë Müller zoe@example.org 2012] [   ] [José Peña jose@example.org 2013]]", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			r, err := openFile(t, tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			info := r.Info()
			if info.Format != tt.format || info.Encoding != tt.encoding || info.Delimiter != tt.delimiter || info.HeaderLine != tt.headerLine {
				t.Fatalf("info = %+v", info)
			}
			if got := strings.Join(strings.Fields(fmtSlice(info.Headers)), " "); got != strings.Join(strings.Fields(tt.headers), " ") {
				t.Fatalf("headers = %q, want %q", fmtSlice(info.Headers), tt.headers)
			}
			var cells [][]string
			for _, row := range readAll(t, r) {
				cells = append(cells, row.Cells)
			}
			if got := fmtRows(cells); got != tt.rows {
				t.Fatalf("rows = %q\nwant   %q", got, tt.rows)
			}
		})
	}
}

func TestBlankAndShortRowsKeepTheirNumbers(t *testing.T) {
	r, err := openFile(t, "blank_and_short.csv")
	if err != nil {
		t.Fatal(err)
	}
	rows := readAll(t, r)
	// encoding/csv skips a fully empty line, but ",," is a blank row.
	want := []struct {
		number int
		blank  bool
		extra  int
		cells  string
	}{
		{1, false, 0, "[Ana Lima ana@example.org]"},
		{2, true, 0, "[  ]"},
		{3, false, 0, "[Bo Ek ]"},
		{4, false, 1, "[Cy Do cy@example.org]"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		if rows[i].Number != w.number || rows[i].Blank != w.blank || rows[i].Extra != w.extra || fmtSlice(rows[i].Cells) != w.cells {
			t.Errorf("row %d = %+v, want %+v", i, rows[i], w)
		}
	}
}

func TestRefusesWhatItCannotRead(t *testing.T) {
	huge := "First Name,Last Name,Email\nAna,Lima," + strings.Repeat("x", 10<<20) + "\n"
	wide := strings.Repeat("col,", 10000) + "last\n" + strings.Repeat("v,", 10000) + "v\n"
	unclosed := "First Name,Last Name,Email\nAna,\"Lima," + strings.Repeat("long text ", 300000) + "\n"
	tests := []struct {
		name string
		data []byte
		file string
		code string
	}{
		{"empty", nil, "empty.csv", "empty_file"},
		{"header only", nil, "header_only.csv", "header_only"},
		{"binary junk", nil, "junk.bin", "unsupported_file_type"},
		{"pdf", nil, "fake.pdf", "unsupported_file_type"},
		{"old xls", nil, "old.xls", "unsupported_file_type"},
		{"text named xlsx", []byte("a,b\n1,2\n"), "list.xlsx", "unsupported_file_type"},
		{"10 MB cell", []byte(huge), "huge.csv", "cell_too_large"},
		{"10,000 columns", []byte(wide), "wide.csv", "too_many_columns"},
		{"quote never closed", []byte(unclosed), "unclosed.csv", "cell_too_large"},
		{"zip bomb", zipBomb(t), "bomb.xlsx", "xlsx_too_large"},
		{"no header", []byte("\n\n\n"), "blank.csv", "no_header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if data == nil {
				var err error
				if data, err = os.ReadFile(filepath.Join("testdata", tt.file)); err != nil {
					t.Fatal(err)
				}
			}
			r, err := Open(bytes.NewReader(data), int64(len(data)), tt.file, Options{})
			if err == nil {
				// Some problems only show while reading.
				for err == nil {
					_, err = r.Next()
				}
			}
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Code != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if len(fe.Message) < 20 {
				t.Fatalf("message too terse: %q", fe.Message)
			}
		})
	}
}

// zipBomb is a tiny zip whose sheet declares 1 GiB once inflated: deflate
// squeezes zeros about a thousand-fold, so a real one is this shape. Only the
// central directory is ever read; writing the 1 GiB of zeros through deflate
// for every test run would cost more than it proves.
func zipBomb(t testing.TB) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: "xl/worksheets/sheet1.xml", Method: zip.Store, UncompressedSize64: 1 << 30, CompressedSize64: 4, CRC32: 0}
	w, err := zw.CreateRaw(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("<a/>")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSample(t *testing.T) {
	s := Sample()
	r, err := Open(bytes.NewReader(s), int64(len(s)), "sample.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rows := readAll(t, r); len(rows) != 3 || len(r.Info().Headers) != 6 {
		t.Fatalf("sample: %d rows, headers %v", len(rows), r.Info().Headers)
	}
}

func fmtSlice(s []string) string { return "[" + strings.Join(s, " ") + "]" }

func fmtRows(rows [][]string) string {
	parts := make([]string, len(rows))
	for i, r := range rows {
		parts[i] = fmtSlice(r)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
