package web

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
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
	r.HandleFunc("/imports/{id}/departed", p.withSession(p.departedSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rejected.csv", p.withSession(p.rejected, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/commit", p.withSession(p.commitSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/progress", p.withSession(p.progressPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/login-cards.pdf", p.withSession(p.loginCards, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/status.json", p.withSession(p.status, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/cancel", p.withSession(p.cancelSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/undo", p.withSession(p.undoSubmit, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/{id}/rows/{row}", p.withSession(p.correctRow, false)).Methods(http.MethodPost)
}

// stepPath is the page that continues an import.
func stepPath(imp query.Import) string {
	base := "/imports/" + imp.ID.String()
	switch imp.Step {
	case importsession.StepMapping:
		return base + "/mapping"
	case importsession.StepDefaults:
		return base + "/defaults"
	case importsession.StepValidation:
		if imp.State == importsession.StateDefaultsChosen {
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
