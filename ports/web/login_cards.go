package web

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
)

// loginCards sends the import's login cards to the importer's browser.
func (p *Pages) loginCards(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	doc, err := p.loginCardsHandler.Handle(r.Context(), command.DownloadLoginCards{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: id})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="login-cards-`+id.String()[:8]+`.pdf"`)
	_, _ = w.Write(doc)
}
