package command

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// DownloadLoginCards asks for the login cards of an import that generated
// its new accounts' passwords.
type DownloadLoginCards struct {
	Actor         tenancy.Actor
	CorrelationID string
	ImportID      uuid.UUID
}

// LoginCard is one account's card: who, and the password generated for it.
type LoginCard struct {
	FirstName, LastName string
	Email               string
	Password            secret.Secret
}

// LoginCardSheet is everything printed: the organization, where to sign
// in, and a card per account, in the file's row order.
type LoginCardSheet struct {
	Organization string
	SignInURL    string
	Cards        []LoginCard
}

// LoginCardStore reads an import's stored cards, their passwords opened.
// found is false when none are kept: expired and swept, or never written.
type LoginCardStore interface {
	LoginCards(ctx context.Context, orgID, importID uuid.UUID) (cards []LoginCard, expiresAt time.Time, found bool, err error)
	// Expiry is when the kept cards expire, without reading them.
	Expiry(ctx context.Context, orgID, importID uuid.UUID) (expiresAt time.Time, found bool, err error)
}

// CardPrinter lays the cards out as a printable document.
type CardPrinter interface {
	Print(sheet LoginCardSheet) ([]byte, error)
}

// LoginCardsHandler hands the importer the login cards, and records that
// it did.
type LoginCardsHandler struct {
	imports   Imports
	cards     LoginCardStore
	printer   CardPrinter
	orgs      Organizations
	publicURL string
	now       func() time.Time
}

// NewLoginCardsHandler refuses missing dependencies.
func NewLoginCardsHandler(imports Imports, cards LoginCardStore, printer CardPrinter, orgs Organizations, publicURL string, now func() time.Time) (*LoginCardsHandler, error) {
	if imports == nil || cards == nil || printer == nil || orgs == nil || now == nil {
		return nil, errors.New("command: NewLoginCardsHandler needs every dependency")
	}
	return &LoginCardsHandler{imports: imports, cards: cards, printer: printer, orgs: orgs, publicURL: publicURL, now: now}, nil
}

// Handle returns the cards as a document. The domain decides who may and
// until when; the stored expiry is checked again here, so a card the sweep
// has not reached yet is refused all the same. The download is recorded
// before the document is handed over: no cards leave unaudited.
func (h *LoginCardsHandler) Handle(ctx context.Context, cmd DownloadLoginCards) ([]byte, error) {
	imp, err := h.imports.Load(ctx, cmd.ImportID)
	if err != nil {
		return nil, err
	}
	now := h.now()
	if err := imp.CanDownloadLoginCards(cmd.Actor, now); err != nil {
		return nil, err
	}
	cards, expiresAt, found, err := h.cards.LoginCards(ctx, cmd.Actor.OrgID, cmd.ImportID)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, importsession.LoginCardsExpired(imp.LoginCardsExpireAt())
	}
	if !now.Before(expiresAt) {
		return nil, importsession.LoginCardsExpired(expiresAt)
	}
	org, err := h.orgs.Organization(ctx, cmd.Actor.OrgID)
	if err != nil {
		return nil, err
	}
	doc, err := h.printer.Print(LoginCardSheet{Organization: org.Name, SignInURL: strings.TrimSuffix(h.publicURL, "/") + "/sign-in", Cards: cards})
	if err != nil {
		return nil, err
	}
	_, err = h.imports.Update(ctx, cmd.ImportID, meta(cmd.Actor, cmd.CorrelationID), func(imp *importsession.Import) error {
		return imp.DownloadLoginCards(cmd.Actor, len(cards), now)
	})
	if err != nil {
		return nil, err
	}
	return doc, nil
}

// LoginCardsAvailability is what the import's page offers the reader.
type LoginCardsAvailability struct {
	Available bool
	ExpiresAt time.Time
}

// Availability says whether the actor may download the import's cards now
// (the same rule as Handle, without reading a password), for the page to
// offer the link only then.
func (h *LoginCardsHandler) Availability(ctx context.Context, actor tenancy.Actor, importID uuid.UUID) (LoginCardsAvailability, error) {
	imp, err := h.imports.Load(ctx, importID)
	if err != nil {
		return LoginCardsAvailability{}, err
	}
	now := h.now()
	if imp.CanDownloadLoginCards(actor, now) != nil {
		return LoginCardsAvailability{}, nil
	}
	expiresAt, found, err := h.cards.Expiry(ctx, actor.OrgID, importID)
	if err != nil || !found || !now.Before(expiresAt) {
		return LoginCardsAvailability{}, err
	}
	return LoginCardsAvailability{Available: true, ExpiresAt: expiresAt}, nil
}
