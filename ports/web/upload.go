package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

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
