package http

import (
	"io"
	"log/slog"
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/tenancy"
)

func (a *API) registerImports(r *mux.Router) {
	r.HandleFunc("/imports", a.upload).Methods(http.MethodPost)
	r.HandleFunc("/imports", a.listImports).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}", a.getImport).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}", a.cancelImport).Methods(http.MethodDelete)
	r.HandleFunc("/imports/{id}/mapping", a.mapColumns).Methods(http.MethodPut)
	r.HandleFunc("/imports/{id}/defaults", a.chooseDefaults).Methods(http.MethodPut)
	r.HandleFunc("/imports/{id}/validation", a.startValidation).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/existing-accounts", a.existingAccounts).Methods(http.MethodPut)
	r.HandleFunc("/imports/{id}/departed", a.deactivateDeparted).Methods(http.MethodPut)
	r.HandleFunc("/imports/{id}/rows", a.rows).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/verification", a.verify).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rejected.csv", a.rejected).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/login-cards.pdf", a.loginCards).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/commit", a.commit).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/events", a.importEvents).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/undo", a.undo).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rows/{row}", a.correctRow).Methods(http.MethodPatch)
	r.HandleFunc("/imports/{id}/file", a.rereadFile).Methods(http.MethodPut)
	r.HandleFunc("/accounts", a.accounts).Methods(http.MethodGet)
}

// importID reads {id}; a malformed id is simply not found.
func importID(r *http.Request) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		return uuid.Nil, &importsession.NotFoundError{}
	}
	return id, nil
}

func (a *API) listImports(w http.ResponseWriter, r *http.Request) {
	state := r.URL.Query().Get("state")
	if state != "" && state != "open" {
		a.fail(w, r, failure.New(failure.Invalid, "invalid_value", "state can only be \"open\" (or left out for every import)."))
		return
	}
	list, err := a.queries.ListImports(r.Context(), actorFrom(r.Context()), state == "open")
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"imports": list})
}

func (a *API) getImport(w http.ResponseWriter, r *http.Request) {
	id, err := importID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	imp, err := a.queries.Import(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, imp)
}

// answer writes the import a command produced.
func (a *API) answer(w http.ResponseWriter, r *http.Request, status int, imp *importsession.Import, err error) {
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, status, query.ImportFrom(imp))
}

func (a *API) simple(w http.ResponseWriter, r *http.Request) (command.ImportCommand, bool) {
	id, err := importID(r)
	if err != nil {
		a.fail(w, r, err)
		return command.ImportCommand{}, false
	}
	return command.ImportCommand{Actor: actorFrom(r.Context()), CorrelationID: correlationID(r), ImportID: id}, true
}

func (a *API) cancelImport(w http.ResponseWriter, r *http.Request) {
	if cmd, ok := a.simple(w, r); ok {
		imp, err := a.wizard.Cancel(r.Context(), cmd)
		a.answer(w, r, http.StatusOK, imp, err)
	}
}

func (a *API) mapColumns(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	var req struct {
		Columns map[string]string `json:"columns"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	imp, err := a.wizard.MapColumns(r.Context(), command.MapColumns{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID, Columns: req.Columns})
	a.answer(w, r, http.StatusOK, imp, err)
}

func (a *API) chooseDefaults(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	var req struct {
		Password            *string     `json:"password"`
		GeneratePasswords   bool        `json:"generate_passwords"`
		ForcePasswordChange bool        `json:"force_password_change"`
		GroupID             *uuid.UUID  `json:"group_id"`
		TagIDs              []uuid.UUID `json:"tag_ids"`
		DeactivateDeparted  bool        `json:"deactivate_departed"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	cmd := command.ChooseDefaults{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID,
		ForcePasswordChange: req.ForcePasswordChange, GeneratePasswords: req.GeneratePasswords, TagIDs: req.TagIDs, DeactivateDeparted: req.DeactivateDeparted}
	if req.Password != nil {
		cmd.Password = secret.New(*req.Password)
	}
	if req.GroupID != nil {
		cmd.GroupID = *req.GroupID
	}
	imp, err := a.wizard.ChooseDefaults(r.Context(), cmd)
	a.answer(w, r, http.StatusOK, imp, err)
}

// deactivateDeparted sets, on the review, whether a re-sync deactivates the
// students who left the class, without checking the rows again.
func (a *API) deactivateDeparted(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	var req struct {
		DeactivateDeparted bool `json:"deactivate_departed"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	imp, err := a.wizard.ChooseDeactivateDeparted(r.Context(), command.ChooseDeactivateDeparted{Actor: base.Actor, CorrelationID: base.CorrelationID,
		ImportID: base.ImportID, Deactivate: req.DeactivateDeparted})
	a.answer(w, r, http.StatusOK, imp, err)
}

func (a *API) startValidation(w http.ResponseWriter, r *http.Request) {
	if cmd, ok := a.simple(w, r); ok {
		imp, err := a.wizard.StartValidation(r.Context(), cmd)
		a.answer(w, r, http.StatusAccepted, imp, err)
	}
}

func (a *API) existingAccounts(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	var req struct {
		UpdatePassword bool `json:"update_password"`
		UpdateGroup    bool `json:"update_group"`
		UpdateTags     bool `json:"update_tags"`
		UpdateNames    bool `json:"update_names"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	imp, err := a.wizard.ChooseExistingPolicy(r.Context(), command.ChooseExistingPolicy{Actor: base.Actor, CorrelationID: base.CorrelationID,
		ImportID: base.ImportID, Policy: importsession.ExistingPolicy{UpdatePassword: req.UpdatePassword, UpdateGroup: req.UpdateGroup,
			UpdateTags: req.UpdateTags, UpdateNames: req.UpdateNames}})
	a.answer(w, r, http.StatusOK, imp, err)
}

func (a *API) rows(w http.ResponseWriter, r *http.Request) {
	id, err := importID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	page, err := ParsePage(r.URL.Query().Get("page"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.queries.Rows(r.Context(), actorFrom(r.Context()), id, r.URL.Query().Get("status"), page)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) verify(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	var req struct {
		Skip bool `json:"skip"`
		Page int  `json:"page"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	if !req.Skip && req.Page < 1 {
		a.fail(w, r, failure.New(failure.Invalid, "invalid_value", "Send {\"skip\":true} or {\"page\":N} with the page you verified."))
		return
	}
	imp, err := a.wizard.Verify(r.Context(), command.Verify{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID, Skip: req.Skip, Page: req.Page})
	a.answer(w, r, http.StatusOK, imp, err)
}

func (a *API) rejected(w http.ResponseWriter, r *http.Request) {
	id, err := importID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ServeRejected(w, r, a.queries, a.logger, actorFrom(r.Context()), id, func(err error) { a.fail(w, r, err) })
}

// ServeRejected sends an import's rejected rows as a CSV download (the web
// pages use it too). fail answers an error met before the first byte; one
// met later can only cut the download short, and goes to the log.
func ServeRejected(w http.ResponseWriter, r *http.Request, queries *query.Queries, logger *slog.Logger, actor tenancy.Actor, id uuid.UUID, fail func(error)) {
	started := false
	err := queries.Rejected(r.Context(), actor, id, func() io.Writer {
		started = true
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="rejected-rows.csv"`)
		// A BOM makes Excel read the UTF-8 accents right.
		_, _ = w.Write([]byte("\uFEFF"))
		return w
	})
	if err != nil && !started {
		fail(err)
	} else if err != nil {
		logger.Error("rejected rows cut short", "import_id", id, "err", err)
	}
}

// commit takes an optional body: {"confirm_changed": N} confirms a change
// of N existing accounts past the organization's threshold.
func (a *API) commit(w http.ResponseWriter, r *http.Request) {
	base, ok := a.simple(w, r)
	if !ok {
		return
	}
	var req struct {
		ConfirmChanged int `json:"confirm_changed"`
	}
	if r.ContentLength != 0 && !a.decodeOptional(w, r, &req) {
		return
	}
	imp, err := a.wizard.Commit(r.Context(), command.Commit{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID,
		ConfirmChanged: req.ConfirmChanged})
	a.answer(w, r, http.StatusAccepted, imp, err)
}

func (a *API) importEvents(w http.ResponseWriter, r *http.Request) {
	id, err := importID(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	events, err := a.queries.ImportTrail(r.Context(), actorFrom(r.Context()), id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events})
}

func (a *API) accounts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := query.AccountFilter{Email: q.Get("email"), Q: q.Get("q")}
	var err error
	switch v := q.Get("active"); v {
	case "":
	case "true", "false":
		active := v == "true"
		f.Active = &active
	default:
		a.fail(w, r, failure.New(failure.Invalid, "invalid_parameter", "active must be true or false, not %q.", v))
		return
	}
	for name, dst := range map[string]*uuid.UUID{"import_id": &f.ImportID, "group_id": &f.GroupID, "tag_id": &f.TagID} {
		if v := q.Get(name); v != "" {
			if *dst, err = uuid.Parse(v); err != nil {
				a.fail(w, r, failure.New(failure.Invalid, "invalid_value", "%s %q is not an id.", name, v))
				return
			}
		}
	}
	if f.Page, err = ParsePage(q.Get("page")); err != nil {
		a.fail(w, r, err)
		return
	}
	out, err := a.queries.Accounts(r.Context(), actorFrom(r.Context()), f)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
