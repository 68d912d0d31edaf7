package spreadsheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/rollcall/rollcall/domain/failure"
)

// A worksheet or shared-strings table over MaxXLSXPart is refused before
// excelize sees it: excelize would unpack it to a temporary file in clear.
// Parts declare their size; archive/zip refuses one that inflates past it.
func TestRefusesPartsExcelizeWouldSpool(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tests := []struct {
		name, part string
		size       uint64
		code       string
	}{
		{"a 100 MiB sheet", "xl/worksheets/sheet1.xml", 100 << 20, "sheet_too_large"},
		{"a 65 MiB text table", "xl/sharedStrings.xml", 65 << 20, "sheet_too_large"},
		{"a sheet over the whole workbook's limit", "xl/worksheets/sheet1.xml", 600 << 20, "xlsx_too_large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := declaredPart(t, tt.part, tt.size)
			_, err := Open(bytes.NewReader(data), int64(len(data)), "big.xlsx", Options{})
			var fe *FormatError
			if !errors.As(err, &fe) || fe.Code != tt.code {
				t.Fatalf("err = %v, want code %s", err, tt.code)
			}
			if app, ok := failure.As(asAppError(err)); !ok || app.Kind != failure.TooLarge {
				t.Fatalf("%v is not a 413", err)
			}
		})
	}
	left, _ := filepath.Glob(filepath.Join(tmp, "*"))
	if len(left) > 0 {
		t.Fatalf("files left in the temporary directory: %v", left)
	}
	// The real workbook of the tests still opens.
	data, err := os.ReadFile(filepath.Join("testdata", "people.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(bytes.NewReader(data), int64(len(data)), "people.xlsx", Options{})
	if err != nil {
		t.Fatal(err)
	}
	_ = r.Close()
}

// declaredPart is a zip with one part that says it unpacks to size bytes.
func declaredPart(t testing.TB, name string, size uint64) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: name, Method: zip.Store, UncompressedSize64: size, CompressedSize64: 4})
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
