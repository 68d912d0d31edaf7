package account

import (
	"time"

	"github.com/google/uuid"
)

// WelcomeEmailUndelivered: the relay refused the account's welcome email for
// good (an SMTP 5xx for the recipient), or did not take it in all the tries;
// nothing more will be sent. Recorded on the account's stream so its audit
// trail says why the person never got the email.
type WelcomeEmailUndelivered struct {
	AccountID uuid.UUID
	ImportID  uuid.UUID // the import that queued it; uuid.Nil if none
	// Reason is the relay's answer, e.g. "550 5.1.1 mailbox unavailable"
	// (at most a few hundred characters).
	Reason   string
	FailedAt time.Time
}

func (WelcomeEmailUndelivered) EventType() string { return "WelcomeEmailUndelivered" }

// MailEvents lists a sample of every mail event of an account's stream, for
// the codec registry.
func MailEvents() []interface{ EventType() string } {
	return []interface{ EventType() string }{WelcomeEmailUndelivered{}}
}
