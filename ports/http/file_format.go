package http

import (
	"net/http"

	"github.com/rollcall/rollcall/application/command"
)

// rereadFile is PUT /imports/{id}/file: read the CSV again with another
// encoding or separator; the mapping starts over.
func (a *API) rereadFile(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	var req struct {
		Encoding  string `json:"encoding"`
		Delimiter string `json:"delimiter"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	imp, err := a.wizard.RereadFile(r.Context(), command.RereadFile{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID,
		Encoding: req.Encoding, Delimiter: req.Delimiter})
	a.answer(w, r, http.StatusOK, imp, err)
}
