package web

import (
	"net/http"
	"time"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
)

// progressView is the commit's page: its progress, its summary, and once it
// is complete whether the reader may still undo it.
type progressView struct {
	wizardView
	// CanUndo: the reader ran the import or is a system administrator, and
	// the undo window is open until UndoUntil.
	CanUndo   bool
	UndoUntil time.Time
	// LoginCards: the reader may download the import's login cards now.
	LoginCards command.LoginCardsAvailability
}

func (p *Pages) progressView(r *http.Request, imp query.Import) progressView {
	v := progressView{wizardView: wizardView{Import: imp}}
	actor := sessionFrom(r).actor
	if imp.LoginCards != nil {
		// The page still shows without the link if this fails.
		cards, err := p.loginCardsHandler.Availability(r.Context(), actor, imp.ID)
		if err != nil {
			p.logger.WarnContext(r.Context(), "could not tell whether login cards are available", "import_id", imp.ID, "err", err)
		}
		v.LoginCards = cards
	}
	if imp.State != importsession.StateCompleted || imp.Summary == nil {
		return v
	}
	v.UndoUntil = imp.Summary.CompletedAt.Add(p.wizard.UndoWindow())
	v.CanUndo = (actor.ID == imp.CreatedBy || actor.Role.IsSystemAdmin()) && time.Now().Before(v.UndoUntil)
	return v
}

// undoSubmit starts the undo the page asked to confirm, then shows its
// progress.
func (p *Pages) undoSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if _, err := p.wizard.Undo(r.Context(), importCommand(r, imp.ID)); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/progress", http.StatusSeeOther)
}
