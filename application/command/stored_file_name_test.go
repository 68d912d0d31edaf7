package command

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStoredFileName(t *testing.T) {
	long := strings.Repeat("é", 300)
	tests := []struct {
		name, in, want string
	}{
		{"short name kept", "class 7B.csv", "class 7B.csv"},
		{"control characters dropped", "a\x00b\r\nc.csv", "abc.csv"},
		{"invalid UTF-8 replaced", "caf\xe9.csv", "caf\uFFFD.csv"},
		{"long name cut, extension kept", long + ".xlsx", strings.Repeat("é", 250) + ".xlsx"},
		{"no extension", long, strings.Repeat("é", 255)},
		{"a dot far back is no extension", "x." + long, "x." + strings.Repeat("é", 253)},
	}
	for _, tt := range tests {
		got := StoredFileName(tt.in)
		if got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > MaxFileNameLength {
			t.Errorf("%s: %d characters", tt.name, n)
		}
	}
}
