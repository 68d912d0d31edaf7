// Package failure is Rollcall's one error vocabulary: what sort of failure
// it is (Kind), a stable code clients can branch on, and a sentence for the
// person at the screen. Domain errors keep their own types, for callers that
// need their fields, and describe themselves in this vocabulary; the
// application builds its own errors with New; ports/http turns a Kind into
// an HTTP status in one table.
package failure

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what sort of failure it is, independent of transport.
type Kind int

const (
	Internal        Kind = iota // a bug or an outage; details go to the log only
	Invalid                     // malformed request
	Unprocessable               // well-formed but invalid values
	Unauthorized                // no or invalid credentials
	Forbidden                   // not allowed for this role
	NotFound                    // missing, or belonging to another organization
	Conflict                    // wrong wizard step, duplicate, concurrent change
	TooLarge                    // over a size limit
	Unsupported                 // unsupported media type
	Unavailable                 // a service we depend on is down or limiting us; try later
	TooManyRequests             // the caller must slow down; try after RetryAfter
	Gone                        // existed, and is no more (an expired download)
)

// Error is an error meant for the person at the screen.
type Error struct {
	Kind    Kind
	Code    string // stable, snake_case: "wrong_wizard_step"
	Message string // a sentence: what is wrong and what to do
	Details map[string]any
	Err     error // the cause, for the log

	// RetryAfter, when set, is how long the caller should wait before
	// trying again (TooManyRequests, Unavailable).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New builds an Error.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Described is implemented by the domain's own error types: each says how
// it reads in the common vocabulary.
type Described interface {
	error
	Failure() *Error
}

// As finds the failure in err's chain, whether built with New or described
// by a domain error (an Error wrapping a domain error speaks for it); ok is
// false for errors nobody described: bugs and outages.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	var d Described
	if errors.As(err, &d) {
		return d.Failure(), true
	}
	return nil, false
}

// Is tells whether err is a failure of the given code.
func Is(err error, code string) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
