package account

import (
	"errors"
	"testing"
)

func TestNewEmail(t *testing.T) {
	tests := []struct {
		in, code, key string
	}{
		{"Jane.Doe@School.org", "", "jane.doe@school.org"},
		{"  pat+class7@example.co.uk ", "", "pat+class7@example.co.uk"},
		{"zoë@école.fr", "", "zoë@école.fr"},
		{"", "email_missing", ""},
		{"   ", "email_missing", ""},
		{"jane.doe@", "email_invalid", ""},
		{"a@b", "email_invalid", ""},
		{"foo@@bar.com", "email_invalid", ""},
		{"foo bar@x.org", "email_invalid", ""},
		{"foo@bar.com.", "email_invalid", ""},
		{"Bob <b@x.org>", "email_invalid", ""},
		{".jane@x.org", "email_invalid", ""},
		{"jane..doe@x.org", "email_invalid", ""},
		{"jane@-x.org", "email_invalid", ""},
		{"jane@x.o", "email_invalid", ""},
		{"jane@x.123", "email_invalid", ""},
		{"no-at-sign.org", "email_invalid", ""},
	}
	for _, tt := range tests {
		e, err := NewEmail(tt.in)
		var ee *EmailError
		code := ""
		if errors.As(err, &ee) {
			code = ee.Code
		} else if err != nil {
			t.Fatalf("%q: untyped error %v", tt.in, err)
		}
		if code != tt.code {
			t.Errorf("NewEmail(%q) code = %q, want %q (%v)", tt.in, code, tt.code, err)
		}
		if tt.code == "" && e.Key() != tt.key {
			t.Errorf("NewEmail(%q).Key() = %q, want %q", tt.in, e.Key(), tt.key)
		}
	}
}

func TestSplitFullName(t *testing.T) {
	tests := []struct {
		full, first, last string
		ok                bool
	}{
		{"Jane Doe", "Jane", "Doe", true},
		{"Doe, Jane", "Jane", "Doe", true},
		{"  Mary   Ann  Smith ", "Mary Ann", "Smith", true},
		{"Ludwig van Beethoven", "Ludwig", "van Beethoven", true},
		{"Juan de la Cruz", "Juan", "de la Cruz", true},
		{"Thaïs Da Silva", "Thaïs", "Da Silva", true},
		{"Mathéo Van der Berg", "Mathéo", "Van der Berg", true},
		{"Anna Maria DE LA FUENTE", "Anna Maria", "DE LA FUENTE", true},
		{"Omar Bin Laden Ali", "Omar Bin Laden", "Ali", true},
		{"Aisha binti Ahmad", "Aisha", "binti Ahmad", true},
		{"Van Morrison", "Van", "Morrison", true},
		{"Da Silva, Thaïs", "Thaïs", "Da Silva", true},
		{"Madonna", "", "", false},
		{"", "", "", false},
		{"Doe,", "", "Doe", false},
	}
	for _, tt := range tests {
		first, last, ok := SplitFullName(tt.full)
		if first != tt.first || last != tt.last || ok != tt.ok {
			t.Errorf("SplitFullName(%q) = %q %q %v, want %q %q %v", tt.full, first, last, ok, tt.first, tt.last, tt.ok)
		}
	}
}
