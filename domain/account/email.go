// Package account holds the Account aggregate: a person who can sign in,
// created by an import or by an operator, and the values it is made of.
package account

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/rollcall/rollcall/domain/failure"
)

// Email is a syntactically valid email address. It keeps the casing the
// person typed; Key is the form used for uniqueness.
type Email struct {
	address string
}

// EmailError says why an address is refused.
type EmailError struct {
	Code    string // email_missing, email_invalid
	Address string
	Reason  string
}

func (e *EmailError) Error() string {
	if e.Code == "email_missing" {
		return "The email address is missing."
	}
	return fmt.Sprintf("The email %q is not a valid address: %s.", e.Address, e.Reason)
}

// Failure says it in the common vocabulary.
func (e *EmailError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Unprocessable, Code: "invalid_value", Message: e.Error()}
}

// NewEmail validates an address: one @, a local part of at most 64
// characters, a domain with a dot and valid labels, no spaces, at most 254 in
// all. Plus-addressing and internationalised domains are accepted.
func NewEmail(s string) (Email, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Email{}, &EmailError{Code: "email_missing"}
	}
	invalid := func(reason string) (Email, error) {
		return Email{}, &EmailError{Code: "email_invalid", Address: s, Reason: reason}
	}
	if len(s) > 254 {
		return invalid("it is longer than 254 characters")
	}
	if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
		return invalid("it contains a space")
	}
	if strings.ContainsAny(s, "<>()[],;:\"\\") {
		return invalid("it contains a character such as < > , ; or a quote; put only the address in the cell")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok {
		return invalid("it has no @")
	}
	if strings.Contains(domain, "@") {
		return invalid("it has more than one @")
	}
	if local == "" {
		return invalid("nothing comes before the @")
	}
	if len(local) > 64 {
		return invalid("the part before the @ is longer than 64 characters")
	}
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return invalid("the part before the @ has a misplaced dot")
	}
	if domain == "" {
		return invalid("the domain after the @ is missing")
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return invalid("the domain has no dot (such as school.org); check for a typo")
	}
	for _, label := range labels {
		if label == "" {
			return invalid("the domain has an empty part (two dots, or a dot at the start or end)")
		}
		if len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return invalid("a part of the domain is malformed")
		}
		for _, r := range label {
			if r != '-' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				return invalid(fmt.Sprintf("the domain contains %q", r))
			}
		}
	}
	if tld := labels[len(labels)-1]; len(tld) < 2 || strings.IndexFunc(tld, unicode.IsDigit) >= 0 {
		return invalid("the domain does not end in a real top-level domain such as .org")
	}
	return Email{address: s}, nil
}

// EmailFromStorage rebuilds an Email without validating it again.
func EmailFromStorage(s string) Email { return Email{address: s} }

func (e Email) String() string { return e.address }

// Key is the lower-cased address: sign-in names are unique across the
// service regardless of case.
func (e Email) Key() string { return EmailKey(e.address) }

// EmailKey is the one form in which emails are compared and stored for
// uniqueness, whatever their casing or surrounding spaces.
func EmailKey(address string) string { return strings.ToLower(strings.TrimSpace(address)) }

// IsZero reports whether the email is unset.
func (e Email) IsZero() bool { return e.address == "" }

// ErrNotFound: no such account in the caller's organization.
var ErrNotFound = errors.New("account not found")
