package mail

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/importing"
)

// DefaultDomain names the Message-IDs when no domain is configured. .invalid
// is reserved (RFC 2606), so it can never collide with a real host's IDs.
const DefaultDomain = "rollcall.invalid"

// Enqueue inserts the messages into the outbox inside tx, the producer's own
// transaction: they exist if and only if tx commits. A message whose
// idempotency key is queued already (by an earlier call, or earlier in msgs)
// is skipped; enqueued counts the rows actually inserted.
//
// domain is the right-hand side of the Message-IDs (the public host name; ""
// means DefaultDomain). It is a parameter rather than package state, so one
// process can hold several configurations (tests do).
//
// All messages go in one INSERT … SELECT FROM unnest(…): one round trip for
// 20,000 welcome emails, where an INSERT per row would cost 20,000.
func Enqueue(ctx context.Context, tx pgx.Tx, domain string, msgs ...Message) (enqueued int, err error) {
	if len(msgs) == 0 {
		return 0, nil
	}
	if domain == "" {
		domain = DefaultDomain
	}
	if !validDomain(domain) {
		return 0, fmt.Errorf("mail: %q is not a domain name for Message-IDs", domain)
	}
	n := len(msgs)
	ids, orgs, imports := make([]uuid.UUID, n), make([]uuid.UUID, n), make([]*uuid.UUID, n)
	keys, tos, subjects, texts, messageIDs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, m := range msgs {
		if err := m.validate(); err != nil {
			return 0, err
		}
		// Version 7 ids sort by creation time, so a listing by id shows the
		// outbox in the order it was filled.
		if ids[i], err = uuid.NewV7(); err != nil {
			return 0, err
		}
		orgs[i], keys[i], tos[i], subjects[i], texts[i] = m.OrgID, m.IdempotencyKey, m.To, m.Subject, m.Text
		if m.ImportID != uuid.Nil {
			imports[i] = &m.ImportID
		}
		messageIDs[i] = MessageID(m.IdempotencyKey, domain)
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO mail_outbox (id, org_id, idempotency_key, to_address, subject, text_body, message_id, import_id)
		SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[])
		ON CONFLICT (idempotency_key) DO NOTHING`,
		ids, orgs, keys, tos, subjects, texts, messageIDs, imports)
	if err != nil {
		return 0, fmt.Errorf("mail: enqueue %d message(s): %w", n, err)
	}
	return int(tag.RowsAffected()), nil
}

func (m Message) validate() error {
	switch {
	case m.IdempotencyKey == "":
		return errors.New("mail: a message without an idempotency key")
	case m.OrgID == uuid.Nil:
		return fmt.Errorf("mail: message %s has no organization", m.IdempotencyKey)
	case m.To == "":
		return fmt.Errorf("mail: message %s has no recipient", m.IdempotencyKey)
	}
	// Only what could inject headers is refused here: refusing an odd but
	// harmless address would fail the producer's whole transaction (a commit
	// batch of accounts) for one email. The sender parses the address fully
	// and fails that one row instead.
	if err := checkHeaderValue("recipient", m.To); err != nil {
		return fmt.Errorf("%w (message %s)", err, m.IdempotencyKey)
	}
	if err := checkHeaderValue("subject", m.Subject); err != nil {
		return fmt.Errorf("%w (message %s)", err, m.IdempotencyKey)
	}
	return nil
}

// MessageID is the RFC 5322 Message-ID of the message queued under key: a
// digest of the key (so it reveals nothing of it) at domain. The same key
// always gives the same Message-ID, so a message sent again after a crash is
// recognisable as the same message where it arrives.
func MessageID(key, domain string) string {
	sum := sha256.Sum256([]byte(key))
	return "<" + hex.EncodeToString(sum[:16]) + "@" + domain + ">"
}

// validDomain accepts host names (letters, digits, '-', '.'): a Message-ID's
// right-hand side is a dot-atom, and these characters need no quoting in it.
func validDomain(d string) bool {
	if len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return false
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return d != ""
}

// Outbox queues the application's emails (importing.Mail) in the
// producer's transaction, adding the configured domain.
type Outbox struct {
	// Domain names the Message-IDs, e.g. the public host name.
	Domain string
}

// Enqueue queues the mails in tx, skipping the keys queued already.
func (o Outbox) Enqueue(ctx context.Context, tx pgx.Tx, mails ...importing.Mail) error {
	msgs := make([]Message, len(mails))
	for i, m := range mails {
		msgs[i] = Message{OrgID: m.OrgID, ImportID: m.ImportID, IdempotencyKey: m.IdempotencyKey, To: m.To, Subject: m.Subject, Text: m.Text}
	}
	_, err := Enqueue(ctx, tx, o.Domain, msgs...)
	return err
}
