package web

import (
	"net/http"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

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
	// NoPassword: nothing but this page can give new rows a password (the
	// domain's trap, importsession.TrapNoPassword).
	NoPassword bool
	// Generate: a password is generated for each new account (login cards);
	// offered when no column holds passwords (a Classroom roster has none).
	Generate, CanGenerate bool
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
	v.CanGenerate = true
	for _, field := range imp.Mapping {
		if field == importsession.FieldGroup {
			v.HasGroupColumn = true
		}
		if field == importsession.FieldPassword {
			v.CanGenerate = false
		}
	}
	for _, w := range imp.Warnings {
		if w.Code == importsession.TrapNoPassword {
			v.NoPassword = true
		}
	}
	if d := imp.Defaults; d != nil {
		v.Force, v.Generate = d.ForcePasswordChange, d.GeneratePasswords
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
	if !imp.State.Open() || imp.State == importsession.StateUploaded {
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
		ForcePasswordChange: r.PostFormValue("force_password_change") == "true", GeneratePasswords: r.PostFormValue("generate_passwords") == "true"}
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
		v.Force, v.Generate = cmd.ForcePasswordChange, cmd.GeneratePasswords
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
	if imp.State != importsession.StateValidating {
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
