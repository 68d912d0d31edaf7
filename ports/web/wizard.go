package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// previewRows is how many of the file's rows the mapping page shows beside
// each column.
const previewRows = 3

// registerWizard adds the CSV/Excel wizard's pages. Each step is a page of
// its own under /imports/{id}/…, so a bookmark or the start page's
// "Continue" lands where the import was left; /imports/{id} sends the
// browser to the page of the import's current step.
func (p *Pages) registerWizard(r *mux.Router) {
	r.HandleFunc("/imports/new", p.withSession(p.uploadPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/new", p.withUploadSession(p.uploadSubmit)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}", p.withSession(p.resume, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/mapping", p.withSession(p.mappingPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/mapping", p.withSession(p.mappingSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/file-format", p.withSession(p.fileFormatSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/groups", p.withSession(p.createGroupsSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/defaults", p.withSession(p.defaultsPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/defaults", p.withSession(p.defaultsSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/validation", p.withSession(p.validationPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/validation", p.withSession(p.validationSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/verification", p.withSession(p.verificationPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/verification", p.withSession(p.verificationSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/existing-accounts", p.withSession(p.existingSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rejected.csv", p.withSession(p.rejected, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/commit", p.withSession(p.commitSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/progress", p.withSession(p.progressPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/status.json", p.withSession(p.status, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/cancel", p.withSession(p.cancelSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/undo", p.withSession(p.undoSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rows/{row}", p.withSession(p.correctRow, false)).Methods(http.MethodPost)
}

// stepPath is the page that continues an import.
func stepPath(imp query.Import) string {
	base := "/imports/" + imp.ID.String()
	switch importsession.Step(imp.Step) {
	case importsession.StepMapping:
		return base + "/mapping"
	case importsession.StepDefaults:
		return base + "/defaults"
	case importsession.StepValidation:
		if imp.State == string(importsession.StateDefaultsChosen) {
			return base + "/defaults"
		}
		return base + "/validation"
	case importsession.StepVerification:
		return base + "/verification"
	}
	return base + "/progress"
}

// load reads the import named in the path, as the actor may see it.
func (p *Pages) load(w http.ResponseWriter, r *http.Request) (query.Import, bool) {
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		p.fail(w, r, query.ErrNotFound)
		return query.Import{}, false
	}
	imp, err := p.queries.Import(r.Context(), sessionFrom(r).actor, id)
	if err != nil {
		p.fail(w, r, err)
		return query.Import{}, false
	}
	return imp, true
}

func importCommand(r *http.Request, id uuid.UUID) command.ImportCommand {
	return command.ImportCommand{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: id}
}

func (p *Pages) resume(w http.ResponseWriter, r *http.Request) {
	if imp, ok := p.load(w, r); ok {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
	}
}

// wizardView is what every wizard page gets: the import and where it is.
type wizardView struct {
	Import query.Import
}

// ---- Upload

type uploadView struct {
	IsSystemAdmin       bool
	WelcomeEmailEnabled bool
	Presets             []command.Named
	MaxUploadMiB        int64
	AccountType         string
	SendWelcomeEmail    bool
	PresetID            string
}

func (p *Pages) uploadView(r *http.Request) (uploadView, error) {
	actor := sessionFrom(r).actor
	if !actor.Role.CanImport() {
		return uploadView{}, failure.New(failure.Forbidden, "forbidden", "Only administrators can import accounts.")
	}
	org, err := p.reference.Organization(r.Context(), actor)
	if err != nil {
		return uploadView{}, err
	}
	presets, err := p.reference.ListNamed(r.Context(), actor, command.Presets)
	if err != nil {
		return uploadView{}, err
	}
	return uploadView{IsSystemAdmin: actor.Role.IsSystemAdmin(), WelcomeEmailEnabled: org.WelcomeEmailEnabled, Presets: presets,
		MaxUploadMiB: p.maxUpload >> 20, AccountType: importsession.AccountTypeUsers}, nil
}

func (p *Pages) uploadPage(w http.ResponseWriter, r *http.Request) {
	v, err := p.uploadView(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "upload", http.StatusOK, view{Title: "Import from a spreadsheet", Data: v})
}

func (p *Pages) uploadSubmit(w http.ResponseWriter, r *http.Request) {
	s := sessionFrom(r)
	form, err := rhttp.ReadUploadForm(w, r, p.wizard, p.upload)
	if err == nil && !p.validCSRF(s, form.Fields["csrf"]) {
		p.wizard.Discard(r.Context(), form.File)
		p.expired(w)
		return
	}
	var created *importsession.Import
	if err == nil {
		created, err = p.startUpload(r, form)
	}
	if err != nil {
		v, viewErr := p.uploadView(r)
		if viewErr != nil {
			p.fail(w, r, viewErr)
			return
		}
		v.AccountType, v.SendWelcomeEmail, v.PresetID = form.Fields["account_type"], form.Fields["send_welcome_email"] == "true", form.Fields["preset_id"]
		p.render(w, r, "upload", rhttp.StatusOf(err), view{Title: "Import from a spreadsheet", Error: p.message(err), Data: v})
		return
	}
	http.Redirect(w, r, stepPath(query.ImportFrom(created)), http.StatusSeeOther)
}

// startUpload records the streamed upload. Refused options leave no file
// behind: Command's are discarded here, Upload discards on its own refusals.
func (p *Pages) startUpload(r *http.Request, form rhttp.UploadForm) (*importsession.Import, error) {
	cmd, err := form.Command(sessionFrom(r).actor, uuid.NewString())
	if err != nil {
		p.wizard.Discard(r.Context(), form.File)
		return nil, err
	}
	return p.wizard.Upload(r.Context(), cmd)
}

// ---- Mapping

// mappingColumn is one column of the file on the mapping page.
type mappingColumn struct {
	Header   string
	Chosen   string
	Examples []string
}

type mappingView struct {
	wizardView
	Columns []mappingColumn
	Fields  []string
	// Preview are the first rows as a table, for files whose columns are
	// easier to recognise side by side.
	Preview []query.PreviewRow
	// Format is how the file was read, with the choices to read it again.
	Format fileFormatView
	// UnknownGroups warns of a Group column whose values are not groups.
	UnknownGroups *query.UnknownGroups
	IsSystemAdmin bool
	Notice        string
}

func (p *Pages) mappingView(r *http.Request, imp query.Import, chosen map[string]string) (mappingView, error) {
	preview, err := p.queries.Preview(r.Context(), sessionFrom(r).actor, imp.ID, previewRows)
	if err != nil {
		return mappingView{}, err
	}
	if chosen == nil {
		chosen = imp.Mapping
	}
	if len(chosen) == 0 {
		chosen = imp.SuggestedMapping
	}
	v := mappingView{wizardView: wizardView{Import: imp}, Preview: preview,
		Fields: []string{importsession.FieldFirstName, importsession.FieldLastName, importsession.FieldFullName, importsession.FieldEmail,
			importsession.FieldPassword, importsession.FieldTag}}
	if sessionFrom(r).actor.Role.IsSystemAdmin() {
		v.Fields = append(v.Fields, importsession.FieldGroup)
	}
	for i, h := range imp.File.Headers {
		c := mappingColumn{Header: h, Chosen: chosen[h]}
		if c.Chosen == "" {
			c.Chosen = importsession.FieldIgnore
		}
		for _, row := range preview {
			if i < len(row.Cells) && row.Cells[i] != "" {
				c.Examples = append(c.Examples, row.Cells[i])
			}
		}
		v.Columns = append(v.Columns, c)
	}
	v.IsSystemAdmin, v.Notice = sessionFrom(r).actor.Role.IsSystemAdmin(), r.URL.Query().Get("notice")
	v.Format = formatView(imp)
	for h, f := range chosen {
		if f == importsession.FieldGroup && v.IsSystemAdmin {
			unknown, err := p.queries.UnknownGroups(r.Context(), sessionFrom(r).actor, imp.ID, h)
			if err != nil {
				return mappingView{}, err
			}
			if len(unknown.Values) > 0 {
				v.UnknownGroups = &unknown
			}
		}
	}
	return v, nil
}

func (p *Pages) mappingPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if imp.Source == importsession.SourceClassroom || !importsession.State(imp.State).Open() {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	v, err := p.mappingView(r, imp, nil)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "mapping", http.StatusOK, view{Title: "Match the columns", Data: v})
}

func (p *Pages) mappingSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	columns := map[string]string{}
	for i, h := range imp.File.Headers {
		// Columns are posted by position: headers may hold any character.
		columns[h] = r.PostFormValue("column-" + strconv.Itoa(i))
	}
	updated, err := p.wizard.MapColumns(r.Context(), command.MapColumns{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID, Columns: columns})
	if err != nil {
		v, viewErr := p.mappingView(r, imp, columns)
		if viewErr != nil {
			p.fail(w, r, viewErr)
			return
		}
		p.render(w, r, "mapping", rhttp.StatusOf(err), view{Title: "Match the columns", Error: p.message(err), Data: v})
		return
	}
	http.Redirect(w, r, stepPath(query.ImportFrom(updated)), http.StatusSeeOther)
}

// ---- Defaults

type defaultsView struct {
	wizardView
	Groups         []command.Named
	Tags           []command.Named
	IsSystemAdmin  bool
	HasGroupColumn bool
	Force          bool
	GroupID        string
	TagIDs         map[uuid.UUID]bool
	// FollowUpOf is the import whose rejected rows this file fixes.
	FollowUpOf *query.Import
	// NoPasswordColumn: nothing but this page can give new rows a password.
	NoPasswordColumn bool
}

func (p *Pages) defaultsView(r *http.Request, imp query.Import) (defaultsView, error) {
	actor := sessionFrom(r).actor
	groups, err := p.reference.ListNamed(r.Context(), actor, command.Groups)
	if err != nil {
		return defaultsView{}, err
	}
	tags, err := p.reference.ListNamed(r.Context(), actor, command.Tags)
	if err != nil {
		return defaultsView{}, err
	}
	v := defaultsView{wizardView: wizardView{Import: imp}, Groups: groups, Tags: tags, IsSystemAdmin: actor.Role.IsSystemAdmin(),
		Force: true, TagIDs: map[uuid.UUID]bool{}}
	v.NoPasswordColumn = imp.Classroom == nil
	for _, field := range imp.Mapping {
		if field == importsession.FieldGroup {
			v.HasGroupColumn = true
		}
		if field == importsession.FieldPassword {
			v.NoPasswordColumn = false
		}
	}
	if d := imp.Defaults; d != nil {
		v.Force = d.ForcePasswordChange
		if d.GroupID != nil {
			v.GroupID = d.GroupID.String()
		}
		for _, t := range d.TagIDs {
			v.TagIDs[t] = true
		}
	} else if imp.Classroom != nil && imp.Classroom.GroupID != nil {
		// The class picker asked for the group already.
		v.GroupID = imp.Classroom.GroupID.String()
	} else if imp.FollowUpOf != nil {
		// A follow-up whose first import ended: its choices, but for the
		// default password, which ended with it.
		if first, err := p.queries.Import(r.Context(), actor, *imp.FollowUpOf); err == nil && first.Defaults != nil {
			v.FollowUpOf = &first
			v.Force = first.Defaults.ForcePasswordChange
			if first.Defaults.GroupID != nil {
				v.GroupID = first.Defaults.GroupID.String()
			}
			for _, t := range first.Defaults.TagIDs {
				v.TagIDs[t] = true
			}
		}
	}
	return v, nil
}

func (p *Pages) defaultsPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if !importsession.State(imp.State).Open() || imp.State == string(importsession.StateUploaded) {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	v, err := p.defaultsView(r, imp)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "defaults", http.StatusOK, view{Title: "Choose the defaults", Data: v})
}

// defaultsSubmit saves the defaults and starts checking the rows at once:
// for the person at the screen they are one step, "check my rows".
func (p *Pages) defaultsSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	actor := sessionFrom(r).actor
	cmd := command.ChooseDefaults{Actor: actor, CorrelationID: uuid.NewString(), ImportID: imp.ID,
		Password: secret.New(r.PostFormValue("password")), KeepPassword: r.PostFormValue("keep_password") == "true",
		ForcePasswordChange: r.PostFormValue("force_password_change") == "true"}
	var err error
	if v := r.PostFormValue("group_id"); v != "" && actor.Role.IsSystemAdmin() {
		cmd.GroupID, err = uuid.Parse(v)
	}
	for _, v := range r.PostForm["tag_id"] {
		if err != nil {
			break
		}
		var id uuid.UUID
		if id, err = uuid.Parse(v); err == nil {
			cmd.TagIDs = append(cmd.TagIDs, id)
		}
	}
	if err != nil {
		err = failure.New(failure.Invalid, "malformed_request", "The form was changed in a way this page cannot read. Reload the page and choose again.")
	}
	if err == nil {
		_, err = p.wizard.ChooseDefaults(r.Context(), cmd)
	}
	if err == nil {
		_, err = p.wizard.StartValidation(r.Context(), importCommand(r, imp.ID))
	}
	if err != nil {
		v, viewErr := p.defaultsView(r, imp)
		if viewErr != nil {
			p.fail(w, r, viewErr)
			return
		}
		v.Force = cmd.ForcePasswordChange
		v.GroupID = r.PostFormValue("group_id")
		v.TagIDs = map[uuid.UUID]bool{}
		for _, t := range cmd.TagIDs {
			v.TagIDs[t] = true
		}
		p.render(w, r, "defaults", rhttp.StatusOf(err), view{Title: "Choose the defaults", Error: p.message(err), Data: v})
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/validation", http.StatusSeeOther)
}

// ---- Validation

func (p *Pages) validationPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if imp.State != string(importsession.StateValidating) {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	p.render(w, r, "validation", http.StatusOK, view{Title: "Checking the rows", Data: wizardView{Import: imp}})
}

func (p *Pages) validationSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if _, err := p.wizard.StartValidation(r.Context(), importCommand(r, imp.ID)); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/validation", http.StatusSeeOther)
}

// ---- Verification

// verificationRow is a row with its problems placed on the cells they
// concern; problems about fields the table does not show stay with the row.
type verificationRow struct {
	query.Row
	ByField map[string][]query.Problem
	Other   []query.Problem
	// Changes are what a changed row changes, by the column they show in.
	Changes map[string]query.Change
}

// shownFields are the verification table's columns.
var shownFields = map[string]bool{"first_name": true, "last_name": true, "email": true, "group": true, "tags": true}

type filterTab struct {
	Status, Label string
	Count         int
	Current       bool
}

type verificationView struct {
	wizardView
	IsSystemAdmin bool
	// GroupColumn: the file has a group column, so a row's group can be fixed.
	GroupColumn bool
	Status      string
	Filters     []filterTab
	Page        query.RowsPage
	Pages       int
	Rows        []verificationRow
	Notice      string
	// Corrected says how a row fixed on this page came out of the check.
	CorrectedRow, CorrectedNow string
	// Confirm is set when the commit was refused for changing too many
	// existing accounts: the figures to confirm.
	Confirm *thresholdView
}

type thresholdView struct{ Changed, Percent, Accounts int }

// PageURL is the link to another page of the same filter.
func (v verificationView) PageURL(page int) string {
	q := url.Values{"page": {strconv.Itoa(page)}}
	if v.Status != "" {
		q.Set("status", v.Status)
	}
	return "/imports/" + v.Import.ID.String() + "/verification?" + q.Encode()
}

// PagesLeft is how many pages are still to review.
func (v verificationView) PagesLeft() int {
	return v.Import.Verification.Pages - len(v.Import.Verification.ReviewedPages)
}

func (p *Pages) verificationPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if imp.State != string(importsession.StateValidated) {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	status := r.URL.Query().Get("status")
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
		if status == "" {
			// Resume at the first page not reviewed yet.
			for page <= imp.Verification.Pages && imp.Verification.Reviewed(page) {
				page++
			}
			page = min(page, max(imp.Verification.Pages, 1))
		}
	}
	rows, err := p.queries.Rows(r.Context(), sessionFrom(r).actor, imp.ID, status, page)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := verificationView{wizardView: wizardView{Import: imp}, IsSystemAdmin: sessionFrom(r).actor.Role.IsSystemAdmin(), Status: status, Page: rows,
		GroupColumn: slices.Contains(slices.Collect(maps.Values(imp.Mapping)), importsession.FieldGroup),
		Pages:       max(1, (rows.Total+rows.PageSize-1)/rows.PageSize), Notice: r.URL.Query().Get("notice"),
		CorrectedRow: r.URL.Query().Get("row"), CorrectedNow: r.URL.Query().Get("now")}
	if n, err := strconv.Atoi(r.URL.Query().Get("confirm")); err == nil && n > 0 {
		percent, _ := strconv.Atoi(r.URL.Query().Get("percent"))
		accounts, _ := strconv.Atoi(r.URL.Query().Get("accounts"))
		v.Confirm = &thresholdView{Changed: n, Percent: percent, Accounts: accounts}
	}
	c := imp.Counts
	for _, f := range []filterTab{{"", "All rows", c.New + c.Existing + c.Invalid, false}, {"new", "New", c.New, false},
		{"changed", "Changed", c.Changed, false}, {"unchanged", "Unchanged", c.Unchanged, false}, {"invalid", "Invalid", c.Invalid, false}} {
		f.Current = f.Status == status
		v.Filters = append(v.Filters, f)
	}
	for _, row := range rows.Rows {
		vr := verificationRow{Row: row, ByField: map[string][]query.Problem{}, Changes: map[string]query.Change{}}
		for _, ch := range row.Changes {
			vr.Changes[ch.Field] = ch
		}
		for _, pr := range row.Problems {
			field := pr.Field
			switch field {
			case importsession.FieldTag:
				field = "tags"
			case importsession.FieldFullName:
				// The table shows the full name split; its problem is the
				// first name's as much as the last name's.
				field = importsession.FieldFirstName
			}
			if shownFields[field] {
				vr.ByField[field] = append(vr.ByField[field], pr)
			} else {
				vr.Other = append(vr.Other, pr)
			}
		}
		v.Rows = append(v.Rows, vr)
	}
	p.render(w, r, "verification", http.StatusOK, view{Title: "Review the rows", Data: v})
}

// verificationSubmit records a reviewed page (then shows the next one not
// reviewed) or that the review is skipped.
func (p *Pages) verificationSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	cmd := command.Verify{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID, Skip: r.PostFormValue("skip") == "true"}
	if !cmd.Skip {
		cmd.Page, _ = strconv.Atoi(r.PostFormValue("page"))
	}
	updated, err := p.wizard.Verify(r.Context(), cmd)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	next := "/imports/" + imp.ID.String() + "/verification"
	if v := query.ImportFrom(updated).Verification; v.Done() && !cmd.Skip {
		next += "?notice=reviewed&page=" + strconv.Itoa(cmd.Page)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Pages) existingSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	policy := importsession.ExistingPolicy{UpdatePassword: r.PostFormValue("update_password") == "true",
		UpdateGroup: r.PostFormValue("update_group") == "true", UpdateTags: r.PostFormValue("update_tags") == "true",
		UpdateNames: r.PostFormValue("update_names") == "true"}
	if _, err := p.wizard.ChooseExistingPolicy(r.Context(), command.ChooseExistingPolicy{Actor: sessionFrom(r).actor,
		CorrelationID: uuid.NewString(), ImportID: imp.ID, Policy: policy}); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/verification?notice=existing", http.StatusSeeOther)
}

func (p *Pages) rejected(w http.ResponseWriter, r *http.Request) {
	if imp, ok := p.load(w, r); ok {
		rhttp.ServeRejected(w, r, p.queries, p.logger, sessionFrom(r).actor, imp.ID, func(err error) { p.fail(w, r, err) })
	}
}

// ---- Commit and progress

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
			q := url.Values{"confirm": {strconv.Itoa(guard.Changed)}, "percent": {strconv.Itoa(guard.Percent())}, "accounts": {strconv.Itoa(guard.Accounts)}}
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
	if importsession.State(imp.State).Open() {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	title := "Creating the accounts"
	switch importsession.State(imp.State) {
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
