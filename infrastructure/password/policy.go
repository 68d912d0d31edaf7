package password

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rollcall/rollcall/domain/secret"
)

// Policy is the password rule of NIST SP 800-63B: length, and not one of the
// passwords every attacker tries first; no composition rules.
type Policy struct {
	MinLength int
	MaxLength int
}

// DefaultPolicy: at least 8 characters, at most 128.
func DefaultPolicy() Policy { return Policy{MinLength: 8, MaxLength: 128} }

// Problem is a broken rule, with a message for the person choosing it.
type Problem struct {
	Code    string
	Message string
}

var common = map[string]bool{
	"password": true, "password1": true, "12345678": true, "123456789": true, "1234567890": true,
	"qwertyui": true, "qwerty123": true, "11111111": true, "iloveyou": true, "abc12345": true,
	"welcome1": true, "letmein1": true, "passw0rd": true, "changeme": true, "football": true,
	"sunshine": true, "princess": true, "00000000": true, "azertyui": true, "motdepasse": true,
}

// Check returns the rules pw breaks; none means acceptable.
func (p Policy) Check(pw secret.Secret) []Problem {
	plain := pw.Reveal()
	n := utf8.RuneCountInString(plain)
	switch {
	case strings.TrimSpace(plain) == "":
		return []Problem{{"password_blank", "The password is empty. Choose one of at least " + strconv.Itoa(p.MinLength) + " characters."}}
	case n < p.MinLength:
		return []Problem{{"password_too_short", "The password is shorter than " + strconv.Itoa(p.MinLength) + " characters. Choose a longer one; a few words together are easy to remember."}}
	case n > p.MaxLength:
		return []Problem{{"password_too_long", "The password is longer than " + strconv.Itoa(p.MaxLength) + " characters. Choose a shorter one."}}
	case common[strings.ToLower(plain)]:
		return []Problem{{"password_too_common", "This password is among the first any attacker tries. Choose another one."}}
	}
	return nil
}
