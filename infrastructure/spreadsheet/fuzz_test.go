package spreadsheet

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzOpenAndRead: any bytes, under any name, open and read without a panic,
// and no cell ever exceeds the limit (so memory stays bounded).
func FuzzOpenAndRead(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) < 64<<10 {
			f.Add(b, filepath.Base(s))
		}
	}
	f.Add([]byte("a;b\n\"x\n"), "x.csv")
	f.Add([]byte("\xff\xfea\x00,\x00b\x00"), "u.csv")
	opts := Options{MaxCellBytes: 1 << 10, MaxColumns: 64, MaxXLSXUnzipped: 8 << 20}
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		r, err := Open(bytes.NewReader(data), int64(len(data)), name, opts)
		if err != nil {
			if _, ok := err.(*FormatError); !ok && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		defer r.Close()
		for range 10000 {
			row, err := r.Next()
			if err != nil {
				return
			}
			if len(row.Cells) != len(r.Info().Headers) {
				t.Fatalf("row has %d cells for %d headers", len(row.Cells), len(r.Info().Headers))
			}
			for _, c := range row.Cells {
				if len(c) > opts.MaxCellBytes*4 { // a decoded cell may grow (1252 → UTF-8)
					t.Fatalf("cell of %d bytes passed the limit", len(c))
				}
			}
		}
	})
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
