package http

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/failure"
)

// RowCorrector fixes a row on the review and checks it again.
type RowCorrector interface {
	CorrectRow(ctx context.Context, cmd importing.CorrectRow) (importing.Corrected, error)
}

// correctRow is PATCH /imports/{id}/rows/{row}: the fields sent replace the
// row's; the answer is the row checked again and the import's new counts.
// A password cannot be sent (unknown fields are refused).
func (a *API) correctRow(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	if !ok {
		return
	}
	row, err := strconv.Atoi(mux.Vars(r)["row"])
	if err != nil || row < 1 || row > 100_000_000 {
		a.fail(w, r, failure.New(failure.Invalid, "invalid_parameter", "The row must be the number of a data row of the file, from 1."))
		return
	}
	var req struct {
		Email     *string   `json:"email"`
		FirstName *string   `json:"first_name"`
		LastName  *string   `json:"last_name"`
		Group     *string   `json:"group"`
		Tags      *[]string `json:"tags"`
	}
	if !a.decode(w, r, &req) {
		return
	}
	_, err = a.rowCorrector.CorrectRow(r.Context(), importing.CorrectRow{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID,
		Row: row, Email: req.Email, FirstName: req.FirstName, LastName: req.LastName, Group: req.Group, Tags: req.Tags})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	shown, imp, err := a.queries.Row(r.Context(), base.Actor, base.ImportID, row)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"row": shown, "counts": imp.Counts})
}
