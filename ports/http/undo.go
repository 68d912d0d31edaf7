package http

import "net/http"

// undo starts undoing a completed import (202); it runs in the background
// like a commit.
func (a *API) undo(w http.ResponseWriter, r *http.Request) {
	if cmd, ok := a.simple(w, r); ok {
		imp, err := a.wizard.Undo(r.Context(), cmd)
		a.answer(w, r, http.StatusAccepted, imp, err)
	}
}
