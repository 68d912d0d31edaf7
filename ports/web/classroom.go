package web

import (
	"crypto/hmac"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// registerClassroom adds the Google Classroom pages: connect, pick classes,
// import. The OAuth callback stays on the API's registered redirect URI and
// reaches GoogleCallback from there.
func (p *Pages) registerClassroom(r *mux.Router) {
	r.HandleFunc("/imports/new/classroom", p.withSession(p.classroomPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/google/connect", p.withSession(p.googleConnect, false)).Methods(http.MethodGet)
	r.HandleFunc("/google/disconnect", p.withSession(p.googleDisconnect, false)).Methods(http.MethodPost)
	r.HandleFunc("/imports/classroom", p.withSession(p.classroomImport, false)).Methods(http.MethodPost)
}

// classroomPicker is what templates/classroom.html shows.
type classroomPicker struct {
	Configured bool
	// Connected is false until a Google account is linked; the page then
	// explains what Rollcall will read and offers to connect.
	Connected bool
	// Reconnect offers to connect again next to an error Google gave.
	Reconnect bool
	// ListFailed is set when Google did not give the classes: there is
	// nothing to pick, only to try again.
	ListFailed   bool
	Courses      []command.GoogleCourse
	Picked       map[string]bool
	PickGroup    bool
	Groups       []command.Named
	GroupID      string
	Teachers     bool
	WelcomeEmail bool
	SendWelcome  bool
	// EmailMismatch is the Google email connected instead of the person's
	// own: the page offers to change their Rollcall email to it.
	EmailMismatch string
}

const classroomTitle = "Import from Google Classroom"

func (p *Pages) classroomPage(w http.ResponseWriter, r *http.Request) {
	p.showPicker(w, r, classroomPicker{Picked: map[string]bool{}}, nil)
}

// showPicker renders the class picker with the person's earlier choices
// and, when given, the error of what they just tried.
func (p *Pages) showPicker(w http.ResponseWriter, r *http.Request, picker classroomPicker, failed error) {
	actor := sessionFrom(r).actor
	if !actor.Role.CanImport() {
		p.fail(w, r, failure.New(failure.Forbidden, "forbidden", "Only administrators can import from Google Classroom."))
		return
	}
	if p.classroom == nil {
		p.render(w, r, "classroom", http.StatusOK, view{Title: classroomTitle, Data: picker})
		return
	}
	picker.Configured = true
	status, message := http.StatusOK, ""
	if failed != nil {
		status, message = rhttp.StatusOf(failed), p.message(failed)
		picker.Reconnect = needsReconnect(failed)
		if e, ok := failure.As(failed); ok && e.Code == "google_email_mismatch" {
			picker.EmailMismatch, _ = e.Details["google_email"].(string)
		}
	}
	courses, err := p.classroom.Courses(r.Context(), actor)
	switch {
	case err == nil:
		picker.Connected, picker.Courses = true, courses
	case codeOf(err) == "google_not_connected":
		// Not an error: the page is where one connects.
	default:
		picker.Connected = codeOf(err) != "google_reconnect_required"
		picker.Reconnect, picker.ListFailed = true, true
		if message == "" {
			status, message = rhttp.StatusOf(err), p.message(err)
		}
	}
	if picker.Connected {
		if err := p.pickerChoices(r, actor, &picker); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	p.render(w, r, "classroom", status, view{Title: classroomTitle, Error: message, Data: picker})
}

// pickerChoices fills the options that depend on the role and on the
// organization's settings.
func (p *Pages) pickerChoices(r *http.Request, actor tenancy.Actor, picker *classroomPicker) error {
	if actor.Role.IsSystemAdmin() {
		groups, err := p.reference.ListNamed(r.Context(), actor, command.Groups)
		if err != nil {
			return err
		}
		picker.PickGroup, picker.Groups = true, groups
	}
	org, err := p.reference.Organization(r.Context(), actor)
	if err != nil {
		return err
	}
	picker.WelcomeEmail = org.WelcomeEmailEnabled
	return nil
}

func codeOf(err error) string {
	if e, ok := failure.As(err); ok {
		return e.Code
	}
	return ""
}

// needsReconnect tells the errors that connecting again may cure from those
// (quota, outage) that only waiting cures.
func needsReconnect(err error) bool {
	e, ok := failure.As(err)
	return ok && e.Kind == failure.Conflict && strings.HasPrefix(e.Code, "google_")
}

// googleConnect is a link carrying the CSRF token, not a form: the pages'
// CSP (form-action 'self') makes browsers refuse a form whose answer
// redirects to Google. The token keeps another site from starting a
// connection in the administrator's name.
func (p *Pages) googleConnect(w http.ResponseWriter, r *http.Request) {
	if p.classroom == nil {
		p.classroomPage(w, r)
		return
	}
	s := sessionFrom(r)
	if !hmac.Equal([]byte(r.URL.Query().Get("csrf")), []byte(p.csrf(s.token))) {
		p.fail(w, r, failure.New(failure.Forbidden, "csrf", "This link has expired. Go back, reload the page and try again."))
		return
	}
	to, err := p.classroom.Connect(r.Context(), s.actor)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

func (p *Pages) googleDisconnect(w http.ResponseWriter, r *http.Request) {
	if p.classroom == nil {
		p.classroomPage(w, r)
		return
	}
	if err := p.classroom.Disconnect(r.Context(), sessionFrom(r).actor); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/new/classroom", http.StatusSeeOther)
}

func (p *Pages) classroomImport(w http.ResponseWriter, r *http.Request) {
	if p.classroom == nil {
		p.classroomPage(w, r)
		return
	}
	actor := sessionFrom(r).actor
	courseIDs := slices.DeleteFunc(slices.Clone(r.PostForm["course_id"]), func(id string) bool { return id == "" })
	picker := classroomPicker{Picked: map[string]bool{}, GroupID: r.PostFormValue("group_id"),
		Teachers: r.PostFormValue("include_teachers") == "true", SendWelcome: r.PostFormValue("send_welcome_email") == "true"}
	for _, id := range courseIDs {
		picker.Picked[id] = true
	}
	cmd := command.CreateClassroomImport{Actor: actor, CorrelationID: uuid.NewString(), CourseIDs: courseIDs,
		IncludeTeachers: picker.Teachers, SendWelcomeEmail: picker.SendWelcome}
	// Only system administrators choose a group; an administrator's
	// accounts go to their own group, which the domain enforces.
	if actor.Role.IsSystemAdmin() && picker.GroupID != "" {
		id, err := uuid.Parse(picker.GroupID)
		if err != nil {
			p.showPicker(w, r, picker, failure.New(failure.Unprocessable, "invalid_value", "Pick a group from the list."))
			return
		}
		cmd.GroupID = id
	}
	imp, err := p.classroom.CreateImport(r.Context(), cmd)
	if err != nil {
		p.showPicker(w, r, picker, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID().String(), http.StatusSeeOther)
}

// GoogleCallback finishes connecting Google for a signed-in browser. Google
// sends the browser to the API's registered redirect URI, which hands
// requests without a bearer token here. A failure is shown on the page, in
// full, never carried in a URL.
func (p *Pages) GoogleCallback(w http.ResponseWriter, r *http.Request) {
	p.withSession(p.googleCallback, false)(w, r)
}

func (p *Pages) googleCallback(w http.ResponseWriter, r *http.Request) {
	if p.classroom == nil {
		p.classroomPage(w, r)
		return
	}
	if err := p.classroom.Callback(r.Context(), sessionFrom(r).actor, r.URL.Query()); err != nil {
		p.showPicker(w, r, classroomPicker{Picked: map[string]bool{}}, err)
		return
	}
	http.Redirect(w, r, "/imports/new/classroom", http.StatusSeeOther)
}
