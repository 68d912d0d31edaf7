package importsession

import (
	"fmt"
	"time"

	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// LoginCardsLifetime is how long after the commit the login cards, and the
// generated passwords they print, are kept: long enough to print them the
// same day or the next, short enough that a forgotten download does not
// leave passwords waiting.
const LoginCardsLifetime = 24 * time.Hour

// canGeneratePasswords: generated passwords are the import's only source of
// passwords for new accounts, so a card holds the password the account
// really has.
func (imp *Import) canGeneratePasswords(d Defaults) error {
	if d.PasswordSet {
		return &InvalidValueError{"Choose either a default password or a generated password for each account, not both."}
	}
	for header, field := range imp.mapping {
		if field == FieldPassword {
			return &InvalidValueError{fmt.Sprintf("The column %q holds passwords, and generated passwords would replace them. Match that column to \"ignore\", or do not generate passwords.", header)}
		}
	}
	return nil
}

// GeneratesPasswords reports whether the commit generates a password for
// each new account.
func (imp *Import) GeneratesPasswords() bool { return imp.defaults.GeneratePasswords }

// LoginCardsExpireAt is when the login cards and their passwords go.
func (imp *Import) LoginCardsExpireAt() time.Time {
	return imp.committed.CommittedAt.Add(LoginCardsLifetime)
}

// LoginCardsDownloads is how many times the cards were downloaded.
func (imp *Import) LoginCardsDownloads() int { return imp.cardDownloads }

// LoginCardsGoneError: the cards existed and are destroyed.
type LoginCardsGoneError struct{ Reason string }

func (e *LoginCardsGoneError) Error() string { return e.Reason }
func (e *LoginCardsGoneError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Gone, Code: "gone", Message: e.Error()}
}

// LoginCardsExpired is the refusal once the window has closed.
func LoginCardsExpired(expiredAt time.Time) *LoginCardsGoneError {
	return &LoginCardsGoneError{fmt.Sprintf("The login cards of this import expired on %s UTC, %s after the commit, and their passwords were destroyed. Ask the students to use \"Forgot password\", or set new passwords with a new import (update passwords).",
		expiredAt.UTC().Format("2 January 2006 at 15:04"), humanDuration(LoginCardsLifetime))}
}

// CanDownloadLoginCards says whether the actor may download the login
// cards now. Only the importer may: the cards hold passwords, which no one
// else was ever meant to see (a system administrator who can see the import
// is told so; anyone who cannot see it finds no such import).
func (imp *Import) CanDownloadLoginCards(actor tenancy.Actor, now time.Time) error {
	if err := imp.authorize(actor); err != nil {
		return err
	}
	if actor.ID != imp.createdBy {
		return &ForbiddenError{"Only the person who ran this import can download its login cards: they hold the new accounts' passwords."}
	}
	if !imp.defaults.GeneratePasswords {
		return &failure.Error{Kind: failure.NotFound, Code: "no_login_cards",
			Message: "This import has no login cards: they are made only when an import generates a password for each account."}
	}
	switch imp.state {
	case StateCompleted, StateFailed:
		// A failed commit's accounts were created too, with their cards.
		if imp.state == StateCompleted && imp.completed.Created == 0 {
			return &failure.Error{Kind: failure.NotFound, Code: "no_login_cards",
				Message: "This import created no accounts, so it has no login cards."}
		}
	case StateUndoing, StateUndone:
		return &LoginCardsGoneError{"This import was undone: its accounts are deactivated and its login cards destroyed."}
	case StateCommitting:
		return &WrongStepError{Current: imp.state, Wanted: []State{StateCompleted}}
	default:
		return &failure.Error{Kind: failure.NotFound, Code: "no_login_cards",
			Message: "This import has no login cards yet: they are made when it is committed."}
	}
	if expires := imp.LoginCardsExpireAt(); !now.Before(expires) {
		return LoginCardsExpired(expires)
	}
	return nil
}

// DownloadLoginCards records that the importer downloaded the cards.
func (imp *Import) DownloadLoginCards(actor tenancy.Actor, cards int, now time.Time) error {
	if err := imp.CanDownloadLoginCards(actor, now); err != nil {
		return err
	}
	imp.record(LoginCardsDownloaded{ByActor: actor.ID, ByEmail: actor.Email, Cards: cards, DownloadedAt: now.UTC()})
	return nil
}
