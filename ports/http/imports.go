package http

import (
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"

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
	r.HandleFunc("/imports/{id}/rows", a.rows).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/verification", a.verify).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rejected.csv", a.rejected).Methods(http.MethodGet)
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

func (a *API) sample(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="rollcall-sample.csv"`)
	_, _ = w.Write(a.sampleFile)
}

// upload reads the multipart form as it streams: the file goes straight
// into the encrypted store, never whole into memory or in clear to disk.
func (a *API) upload(w http.ResponseWriter, r *http.Request) {
	form, err := ReadUploadForm(w, r, a.wizard, a.uploadLimits)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	cmd, err := form.Command(actorFrom(r.Context()), correlationID(r))
	if err != nil {
		a.wizard.Discard(r.Context(), form.File)
		a.fail(w, r, err)
		return
	}
	imp, err := a.wizard.Upload(r.Context(), cmd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	shown, err := a.queries.Shown(r.Context(), cmd.Actor, imp)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, shown)
}

// UploadForm is a multipart upload read as it streamed: the file already in
// the encrypted store, the other parts as short texts.
type UploadForm struct {
	File     command.StoredUpload
	FileName string
	Fields   map[string]string
}

// ReadUploadForm reads a multipart upload with a part named "file" (the web
// pages use it too), under the upload's own deadlines instead of the
// server's. The stored file is the caller's to use or Discard once
// ReadUploadForm returned without error.
func ReadUploadForm(w http.ResponseWriter, r *http.Request, wizard *command.ImportWizard, limits UploadLimits) (UploadForm, error) {
	maxUpload := limits.MaxBytes
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "multipart/form-data" {
		return UploadForm{}, failure.New(failure.Unsupported, "unsupported_media_type", "Send the file as multipart/form-data with a part named \"file\".")
	}
	limits.lift(w, r)
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		return UploadForm{}, failure.New(failure.Invalid, "malformed_request", "The upload is not a valid multipart form: %v", err)
	}
	form := UploadForm{Fields: map[string]string{}}
	stored := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if stored {
				wizard.Discard(r.Context(), form.File)
			}
			var maxErr *http.MaxBytesError
			if errors.As(err, &maxErr) {
				return UploadForm{}, failure.New(failure.TooLarge, "file_too_large", "The file is larger than %d MiB.", maxUpload>>20)
			}
			return UploadForm{}, failure.New(failure.Invalid, "malformed_request", "The upload could not be read: %v", err)
		}
		if part.FormName() == "file" && !stored {
			form.FileName = part.FileName()
			if form.File, err = wizard.StoreUpload(r.Context(), part); err != nil {
				return UploadForm{}, err
			}
			stored = true
			continue
		}
		value, _ := io.ReadAll(io.LimitReader(part, 1<<10))
		if why := BadText(part.FormName()) + BadText(string(value)); why != "" {
			if stored {
				wizard.Discard(r.Context(), form.File)
			}
			return UploadForm{}, InvalidParameter("The form field %q %s.", truncate(part.FormName(), 40), why)
		}
		form.Fields[part.FormName()] = strings.TrimSpace(string(value))
	}
	if !stored {
		return UploadForm{}, failure.New(failure.Invalid, "file_missing", "Choose a file to upload (a form part named \"file\").")
	}
	return form, nil
}

// Command reads the upload's options.
func (f UploadForm) Command(actor tenancy.Actor, correlationID string) (command.UploadFile, error) {
	cmd := command.UploadFile{Actor: actor, CorrelationID: correlationID, File: f.File, FileName: f.FileName, AccountType: f.Fields["account_type"]}
	switch v := f.Fields["send_welcome_email"]; v {
	case "", "false":
	case "true":
		cmd.SendWelcomeEmail = true
	default:
		return cmd, failure.New(failure.Unprocessable, "invalid_value", "send_welcome_email must be true or false, not %q.", v)
	}
	if v := f.Fields["preset_id"]; v != "" {
		var err error
		if cmd.PresetID, err = uuid.Parse(v); err != nil {
			return cmd, failure.New(failure.Unprocessable, "invalid_value", "preset_id %q is not an id.", v)
		}
	}
	if v := f.Fields["follow_up_of"]; v != "" {
		var err error
		if cmd.FollowUpOf, err = uuid.Parse(v); err != nil {
			return cmd, failure.New(failure.Unprocessable, "invalid_value", "follow_up_of %q is not the id of an import.", v)
		}
	}
	return cmd, nil
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
		ForcePasswordChange bool        `json:"force_password_change"`
		GroupID             *uuid.UUID  `json:"group_id"`
		TagIDs              []uuid.UUID `json:"tag_ids"`
	}
	if !ok || !a.decode(w, r, &req) {
		return
	}
	cmd := command.ChooseDefaults{Actor: base.Actor, CorrelationID: base.CorrelationID, ImportID: base.ImportID,
		ForcePasswordChange: req.ForcePasswordChange, TagIDs: req.TagIDs}
	if req.Password != nil {
		cmd.Password = secret.New(*req.Password)
	}
	if req.GroupID != nil {
		cmd.GroupID = *req.GroupID
	}
	imp, err := a.wizard.ChooseDefaults(r.Context(), cmd)
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
