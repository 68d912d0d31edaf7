package query

import (
	"context"

	"github.com/google/uuid"
)

// WelcomeEmails says how a completed import's welcome emails fared: the
// importer learns on the summary that "3 welcome emails could not be
// delivered" and finds why on each account's audit trail.
type WelcomeEmails struct {
	Sent int `json:"sent"`
	// Pending are queued or waiting for another try.
	Pending int `json:"pending"`
	// Failed were given up: the relay refused them for good, or did not
	// take them in all the tries.
	Failed int `json:"failed"`
}

// MailReport counts an import's welcome emails by outcome (the mail outbox).
type MailReport interface {
	WelcomeEmails(ctx context.Context, orgID, importID uuid.UUID) (WelcomeEmails, error)
}
