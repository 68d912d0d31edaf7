package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
)

func (p *Pages) commitSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	confirm, _ := strconv.Atoi(r.PostFormValue("confirm_changed"))
	if _, err := p.wizard.Commit(r.Context(), command.Commit{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID,
		ConfirmChanged: confirm}); err != nil {
		var guard *importsession.ChangeThresholdError
		if errors.As(err, &guard) {
			q := url.Values{"confirm": {strconv.Itoa(guard.Changed)}, "percent": {strconv.Itoa(guard.Percent())}, "accounts": {strconv.Itoa(guard.Accounts)},
				"deactivated": {strconv.Itoa(guard.Deactivated)}}
			http.Redirect(w, r, "/imports/"+imp.ID.String()+"/verification?"+q.Encode()+"#commit-form", http.StatusSeeOther)
			return
		}
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/progress", http.StatusSeeOther)
}

func (p *Pages) progressPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if imp.State.Open() {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	title := "Creating the accounts"
	switch imp.State {
	case importsession.StateCompleted:
		title = "Import complete"
	case importsession.StateFailed:
		title = "Import failed"
	case importsession.StateCancelled:
		title = "Import cancelled"
	case importsession.StateUndoing:
		title = "Undoing the import"
	case importsession.StateUndone:
		title = "Import undone"
	}
	p.render(w, r, "progress", http.StatusOK, view{Title: title, Data: p.progressView(r, imp)})
}

// status is what the pages poll while a background job runs.
func (p *Pages) status(w http.ResponseWriter, r *http.Request) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	// The read model alone: a poll every second must not read the event
	// stream. It may be behind the page, which says so by its version.
	imp, err := p.queries.Status(r.Context(), sessionFrom(r).actor, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	progress := query.Progress{Done: imp.Progress.Done, Total: imp.Progress.Total}
	if imp.Undo != nil {
		progress = query.Progress{Done: imp.Undo.Done, Total: imp.Undo.Total}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"state": imp.State, "version": imp.Version, "next": stepPath(imp), "progress": progress, "counts": imp.Counts,
		"label": fmt.Sprintf("%d of %d", progress.Done, progress.Total),
	})
}

func (p *Pages) cancelSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if _, err := p.wizard.Cancel(r.Context(), importCommand(r, imp.ID)); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/?notice=cancelled", http.StatusSeeOther)
}
