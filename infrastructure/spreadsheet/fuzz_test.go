package spreadsheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// formatErrorCodes are the refusals a person can be shown; anything else
// coming out of Open or Next would reach them as a 500.
var formatErrorCodes = map[string]bool{
	"empty_file": true, "unsupported_file_type": true, "no_header": true, "header_only": true,
	"too_many_columns": true, "cell_too_large": true, "malformed_csv": true, "xlsx_too_large": true,
}

// FuzzOpenAndRead: any bytes, under any name, open and read without a
// panic, and
//   - every refusal, from Open or from Next, is a *FormatError with a known
//     code and a message, and reading ends with io.EOF or such an error;
//   - no cell, header or data, holds more than MaxCellBytes bytes of
//     decoded text (the documented limit, whatever the file's encoding), and
//     the header has 1 to MaxColumns columns, each named once;
//   - a data row has at most 4 × MaxColumns cells, and rows are numbered
//     1, 2, 3 … as the file's people are counted.
//
// The corpus is committed under testdata/fuzz/FuzzOpenAndRead; `make test`
// fuzzes for 30 s from it (scripts/test.sh), `make fuzz` for a minute.
func FuzzOpenAndRead(f *testing.F) {
	opts := Options{MaxCellBytes: 1 << 10, MaxColumns: 64, MaxXLSXUnzipped: 8 << 20}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		r, err := Open(bytes.NewReader(data), int64(len(data)), name, opts)
		if err != nil {
			requireFormatError(t, "Open", err)
			return
		}
		defer r.Close()
		info := r.Info()
		if info.Format != "csv" && info.Format != "xlsx" {
			t.Fatalf("format %q", info.Format)
		}
		if n := len(info.Headers); n < 1 || n > opts.MaxColumns {
			t.Fatalf("%d header columns; the limit is %d", n, opts.MaxColumns)
		}
		seen := map[string]bool{}
		for _, h := range info.Headers {
			if len(h) > opts.MaxCellBytes+len(" (64)") {
				t.Fatalf("a header of %d bytes passed the %d-byte cell limit", len(h), opts.MaxCellBytes)
			}
			if seen[strings.ToLower(h)] {
				t.Fatalf("header %q appears twice in %q: a mapping could not tell the columns apart", h, info.Headers)
			}
			seen[strings.ToLower(h)] = true
		}
		for want := 1; want <= 10000; want++ {
			row, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				requireFormatError(t, "Next", err)
				return
			}
			if row.Number != want {
				t.Fatalf("row numbered %d, want %d", row.Number, want)
			}
			if row.Extra > 4*opts.MaxColumns {
				t.Fatalf("row %d has %d cells beyond the headers; the limit is %d cells", row.Number, row.Extra, 4*opts.MaxColumns)
			}
			for _, c := range row.Cells {
				if len(c) > opts.MaxCellBytes {
					t.Fatalf("a cell of %d bytes on row %d passed the %d-byte limit", len(c), row.Number, opts.MaxCellBytes)
				}
			}
		}
	})
}

func requireFormatError(t *testing.T, step string, err error) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("%s: untyped error %T: %v", step, err, err)
	}
	if !formatErrorCodes[fe.Code] || len(fe.Message) < 20 {
		t.Fatalf("%s: FormatError with code %q and message %q", step, fe.Code, fe.Message)
	}
}

// BenchmarkReadCSV streams a generated 100,000-row file.
func BenchmarkReadCSV(b *testing.B) {
	const rows = 100_000
	path := filepath.Join(b.TempDir(), "people.csv")
	var buf bytes.Buffer
	buf.WriteString("First Name,Last Name,Email,Password,Group,Tag\n")
	for i := range rows {
		fmt.Fprintf(&buf, "Given%d,Family%d,person%d@example.org,pass-word-%d,Class %d,Tag%d\n", i, i, i, i, i%40, i%7)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	b.SetBytes(st.Size())
	start := time.Now()
	for b.Loop() {
		r, err := Open(f, st.Size(), "people.csv", Options{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			if _, err := r.Next(); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != rows {
			b.Fatalf("read %d rows", n)
		}
	}
	b.ReportMetric(float64(rows*b.N)/time.Since(start).Seconds(), "rows/s")
}
