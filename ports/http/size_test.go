package http

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A port stays thin: no file under ports/ grows past 400 lines, so a
// handler that starts deciding rules shows up as a file that wants
// splitting.
func TestPortFilesStaySmall(t *testing.T) {
	const most = 400
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if n := bytes.Count(b, []byte("\n")); n > most {
			t.Errorf("%s has %d lines; split it (at most %d)", path, n, most)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
