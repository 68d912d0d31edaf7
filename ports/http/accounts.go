package http

import (
	"net/http"
	"strings"

	"github.com/rollcall/rollcall/domain/failure"
)

// accountAudit is GET /api/v1/accounts/audit?email=: the audit trail of an
// account the caller may view; 404 for one out of reach, as for none.
func (a *API) accountAudit(w http.ResponseWriter, r *http.Request) {
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	if email == "" {
		a.fail(w, r, failure.New(failure.Invalid, "invalid_parameter", "Say whose audit trail: ?email=<the account's email>."))
		return
	}
	events, err := a.queries.AccountTrail(r.Context(), actorFrom(r.Context()), email)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
}
