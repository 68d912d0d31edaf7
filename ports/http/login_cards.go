package http

import (
	"net/http"

	"github.com/rollcall/rollcall/application/command"
)

// loginCards answers the import's login cards as a PDF, to its importer.
func (a *API) loginCards(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	if !ok {
		return
	}
	doc, err := a.loginCardsHandler.Handle(r.Context(), command.DownloadLoginCards(base))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="login-cards-`+base.ImportID.String()[:8]+`.pdf"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(doc)
}
