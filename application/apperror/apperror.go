// Package apperror is the application's short list of error kinds. Every
// error that reaches a person carries a kind, a stable slug and a message
// written for them; ports/http maps kinds to status codes in one place.
package apperror

import (
	"errors"
	"fmt"
	"time"
)

// Kind says what sort of failure it is, independent of transport.
type Kind int

const (
	Internal      Kind = iota // a bug or an outage; details go to the log only
	Invalid                   // malformed request
	Unprocessable             // well-formed but invalid values
	Unauthorized              // no or invalid credentials
	Forbidden                 // not allowed for this role
	NotFound                  // missing, or belonging to another organization
	Conflict                  // wrong wizard step, duplicate, concurrent change
	TooLarge                  // over a size limit
	Unsupported               // unsupported media type
	Unavailable               // a service we depend on is down or limiting us; try later

	TooManyRequests // the caller must slow down (sign-in throttling); try after RetryAfter
)

// Error is an error meant for the person at the screen.
type Error struct {
	Kind    Kind
	Slug    string // stable, kebab-case: "wrong-wizard-step"
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
func New(kind Kind, slug, format string, args ...any) *Error {
	return &Error{Kind: kind, Slug: slug, Message: fmt.Sprintf(format, args...)}
}

// Slugged is implemented by domain errors.
type Slugged interface {
	error
	Slug() string
}

// As finds the application error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
