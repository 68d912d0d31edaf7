package web

import (
	"net/http"
	"strings"
	"unicode"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// registerSettings adds the organization's groups, tags, presets and welcome-email setting.
func (p *Pages) registerSettings(r *mux.Router) {
	r.HandleFunc("/settings", p.withSession(p.settingsPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/settings/welcome-email", p.withSession(p.settingsWelcomeEmail, false)).Methods(http.MethodPost)
	r.HandleFunc("/settings/google-sign-in", p.withSession(p.settingsGoogleSignIn, false)).Methods(http.MethodPost)
	r.HandleFunc("/settings/{kind:groups|tags|presets}", p.withSession(p.settingsCreateNamed, false)).Methods(http.MethodPost)
}

// settingsData is the settings page.
type settingsData struct {
	Organization command.Organization
	CanChange    bool
	Sections     []settingsSection
	// Saved confirms the last change; it is chosen from fixed sentences, so
	// a crafted link cannot make the page say something else.
	Saved string
	// GoogleConfigured: this server has a Google client (GOOGLE_CLIENT_ID).
	GoogleConfigured bool
	// GoogleDomainsTyped refills the domains after a refusal.
	GoogleDomainsTyped *string
}

// GoogleDomains is the domain field's text.
func (d settingsData) GoogleDomains() string {
	if d.GoogleDomainsTyped != nil {
		return *d.GoogleDomainsTyped
	}
	return strings.Join(d.Organization.GoogleSignInDomains, ", ")
}

// settingsSection is the list of groups, tags or presets, with its form.
type settingsSection struct {
	Kind, Heading, Singular, About string
	Items                          []command.Named
	// Typed refills the form after a refusal, so the name can be corrected.
	Typed string
}

var settingsSections = []settingsSection{
	{Kind: string(command.Groups), Heading: "Groups", Singular: "group", About: "Classes or departments. Each account belongs to at most one; an administrator imports into their own group."},
	{Kind: string(command.Tags), Heading: "Tags", Singular: "tag", About: "Labels such as clubs or options. An account can have several."},
	{Kind: string(command.Presets), Heading: "Presets", Singular: "preset", About: "Named import setups to choose when uploading a file."},
}

var savedSentences = map[string]string{
	"welcome-email":         "The welcome email setting is saved.",
	"google-sign-in":        "The Sign in with Google settings are saved.",
	string(command.Groups):  "The group is added.",
	string(command.Tags):    "The tag is added.",
	string(command.Presets): "The preset is added.",
}

func (p *Pages) settingsPage(w http.ResponseWriter, r *http.Request) {
	p.showSettings(w, r, http.StatusOK, "", "", "")
}

// showSettings renders the page; a refused change is shown on the page
// itself, with the status the API gives, and the name as typed.
func (p *Pages) showSettings(w http.ResponseWriter, r *http.Request, status int, problem, kind, typed string) {
	actor := sessionFrom(r).actor
	org, err := p.reference.Organization(r.Context(), actor)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data := settingsData{Organization: org, CanChange: actor.Role.IsSystemAdmin(), GoogleConfigured: p.googleSignIn != nil}
	if kind == "google-sign-in" {
		data.GoogleDomainsTyped = &typed
	}
	if problem == "" {
		data.Saved = savedSentences[r.URL.Query().Get("saved")]
	}
	for _, section := range settingsSections {
		if section.Items, err = p.reference.ListNamed(r.Context(), actor, command.ReferenceKind(section.Kind)); err != nil {
			p.fail(w, r, err)
			return
		}
		if section.Kind == kind {
			section.Typed = typed
		}
		data.Sections = append(data.Sections, section)
	}
	p.render(w, r, "settings", status, view{Title: "Settings", Error: problem, Data: data})
}

func (p *Pages) settingsWelcomeEmail(w http.ResponseWriter, r *http.Request) {
	enabled := r.PostFormValue("welcome_email") == "on"
	if _, err := p.reference.UpdateOrganization(r.Context(), sessionFrom(r).actor, command.OrganizationSettings{WelcomeEmailEnabled: &enabled}); err != nil {
		p.showSettings(w, r, rhttp.StatusOf(err), p.message(err), "", "")
		return
	}
	http.Redirect(w, r, "/settings?saved=welcome-email#welcome-email", http.StatusSeeOther)
}

// settingsGoogleSignIn takes the domains as typed: separated by commas,
// spaces or lines.
func (p *Pages) settingsGoogleSignIn(w http.ResponseWriter, r *http.Request) {
	enabled := r.PostFormValue("google_sign_in_enabled") == "on"
	typed := r.PostFormValue("google_sign_in_domains")
	domains := strings.FieldsFunc(typed, func(c rune) bool { return c == ',' || c == ';' || unicode.IsSpace(c) })
	_, err := p.reference.UpdateOrganization(r.Context(), sessionFrom(r).actor, command.OrganizationSettings{
		GoogleSignInEnabled: &enabled, GoogleSignInDomains: &domains})
	if err != nil {
		p.showSettings(w, r, rhttp.StatusOf(err), p.message(err), "google-sign-in", typed)
		return
	}
	http.Redirect(w, r, "/settings?saved=google-sign-in#google-sign-in", http.StatusSeeOther)
}

func (p *Pages) settingsCreateNamed(w http.ResponseWriter, r *http.Request) {
	kind := mux.Vars(r)["kind"]
	typed := r.PostFormValue("name")
	_, err := p.reference.CreateNamed(r.Context(), command.CreateNamed{Actor: sessionFrom(r).actor, Kind: command.ReferenceKind(kind), Name: typed})
	if err != nil {
		p.showSettings(w, r, rhttp.StatusOf(err), p.message(err), kind, typed)
		return
	}
	http.Redirect(w, r, "/settings?saved="+kind+"#"+kind, http.StatusSeeOther)
}
