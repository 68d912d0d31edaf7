// Package mail delivers Rollcall's emails through an outbox table.
//
// A producer writes the email into mail_outbox in its own database
// transaction — the one that records the event causing the email — under a
// deterministic idempotency key ("welcome:<account-id>",
// "summary:<import-id>"). The key is UNIQUE, so a redelivered event queues
// nothing new, and a rolled-back transaction queues nothing at all.
//
// A Dispatcher then claims rows in short transactions, sends each one outside
// any transaction through a Sender (SMTPSender in production, LogSender in
// development without SMTP_URL), and marks it sent right after the server
// accepted it. Delivery is at least once: see Dispatcher for the one window in
// which a message can be sent twice, and why it then carries the same
// Message-ID.
package mail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/google/uuid"
)

// Message is one email to queue.
//
// There is no HTML body yet: mail_outbox has no html_body column (see
// Outgoing.HTML, which the MIME builder already supports).
type Message struct {
	OrgID uuid.UUID
	// ImportID is the import that caused the email, if any: its page counts
	// the welcome emails that could not be delivered.
	ImportID uuid.UUID
	// IdempotencyKey names the cause of the email, e.g. "welcome:<account-id>":
	// the same key is queued once, whatever the number of Enqueue calls.
	IdempotencyKey string
	To             string // a bare address, e.g. "zoe@example.org"
	Subject        string
	// Text must never hold a password: callers say how to sign in and leave
	// the first password to the administrator.
	Text string
}

// Outgoing is a message ready to send.
type Outgoing struct {
	// MessageID is the RFC 5322 Message-ID with its angle brackets. It is
	// derived from the idempotency key, so a resend carries the same one.
	MessageID string
	To        string
	Subject   string
	Text      string
	// HTML, when set, makes the message multipart/alternative with Text as
	// the plain part. Only direct users of a Sender can set it for now.
	HTML string
}

// Sender delivers one message. An error wrapping *PermanentError means that
// retrying cannot help; any other error is worth retrying later.
type Sender interface {
	Send(ctx context.Context, m Outgoing) error
}

// ReadySender is a Sender that can hold a message back at its last step. It
// sends all but the end of the message (the final "." of SMTP's DATA, the
// moment the relay accepts), then calls ready, and finishes only if ready
// returns nil. The dispatcher records the previous message as sent
// meanwhile: the database's round trip overlaps the relay's, and still no
// second message is accepted before the first is recorded.
type ReadySender interface {
	Sender
	SendWhenReady(ctx context.Context, m Outgoing, ready func() error) error
}

// NotOfferedError says ready failed: the message was abandoned before its
// end, so the relay accepted nothing.
type NotOfferedError struct{ Err error }

func (e *NotOfferedError) Error() string { return "mail: message held back: " + e.Err.Error() }
func (e *NotOfferedError) Unwrap() error { return e.Err }

// PermanentError is a refusal that retrying cannot fix, such as an SMTP 5xx
// reply to the recipient or the content.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says the message will never be accepted.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// checkHeaderValue refuses the line breaks that would let a value, such as a
// subject built from an organization's name, add headers of its own.
func checkHeaderValue(field, v string) error {
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("mail: the %s contains a line break", field)
	}
	return nil
}

// checkAddress accepts one bare address ("zoe@example.org"), the form the
// envelope needs; display names belong to MAIL_FROM only.
func checkAddress(field, addr string) error {
	if err := checkHeaderValue(field, addr); err != nil {
		return err
	}
	parsed, err := mail.ParseAddress(addr)
	if err != nil || parsed.Name != "" || parsed.Address != addr {
		return fmt.Errorf("mail: the %s %q is not a bare email address", field, addr)
	}
	return nil
}
