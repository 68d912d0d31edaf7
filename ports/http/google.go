package http

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
)

func (a *API) registerGoogle(r *mux.Router) {
	if a.classroom == nil {
		return
	}
	r.HandleFunc("/google/connect", a.googleConnect).Methods(http.MethodGet)
	r.HandleFunc("/google/connection", a.googleDisconnect).Methods(http.MethodDelete)
	r.HandleFunc("/google/courses", a.googleCourses).Methods(http.MethodGet)
	r.HandleFunc("/imports/classroom", a.classroomImport).Methods(http.MethodPost)
}

func (a *API) googleConnect(w http.ResponseWriter, r *http.Request) {
	to, err := a.classroom.Connect(r.Context(), actorFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// registerGoogleCallback adds the callback outside the bearer-only routes:
// it is the redirect URI registered at Google, where a browser arrives with
// only its cookie. Requests with an Authorization header, and every request
// when no browser handler is set, are authenticated as on any API route.
func (a *API) registerGoogleCallback(r *mux.Router) {
	if a.classroom == nil {
		return
	}
	bearer := a.authenticate(http.HandlerFunc(a.googleCallback))
	r.HandleFunc("/google/callback", func(w http.ResponseWriter, r *http.Request) {
		if a.browserCallback != nil && r.Header.Get("Authorization") == "" {
			a.browserCallback.ServeHTTP(w, r)
			return
		}
		bearer.ServeHTTP(w, r)
	}).Methods(http.MethodGet)
}

// googleCallback is where Google sends the browser back; success goes on to
// the wizard's class picker.
func (a *API) googleCallback(w http.ResponseWriter, r *http.Request) {
	if err := a.classroom.Callback(r.Context(), actorFrom(r.Context()), r.URL.Query()); err != nil {
		a.fail(w, r, err)
		return
	}
	http.Redirect(w, r, a.afterGoogle, http.StatusFound)
}

func (a *API) googleDisconnect(w http.ResponseWriter, r *http.Request) {
	if err := a.classroom.Disconnect(r.Context(), actorFrom(r.Context())); err != nil {
		a.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type courseJSON struct {
	ID         string          `json:"id"`
	Name       string          `json:"name"`
	Section    string          `json:"section"`
	Students   int             `json:"students"`
	LastImport *lastImportJSON `json:"last_import"`
}

// lastImportJSON is the organization's latest completed import of a class.
type lastImportJSON struct {
	ID uuid.UUID `json:"id"`
	At time.Time `json:"at"`
}

func (a *API) googleCourses(w http.ResponseWriter, r *http.Request) {
	courses, err := a.classroom.Courses(r.Context(), actorFrom(r.Context()))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]courseJSON, len(courses))
	for i, c := range courses {
		out[i] = courseJSON{ID: c.ID, Name: c.Name, Section: c.Section, Students: c.Students}
		if c.LastImport != nil {
			out[i].LastImport = &lastImportJSON{ID: c.LastImport.ID, At: c.LastImport.At}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"courses": out})
}

func (a *API) classroomImport(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CourseIDs        []string   `json:"course_ids"`
		GroupID          *uuid.UUID `json:"group_id"`
		IncludeTeachers  bool       `json:"include_teachers"`
		SendWelcomeEmail bool       `json:"send_welcome_email"`
	}
	if !a.decode(w, r, &req) {
		return
	}
	cmd := command.CreateClassroomImport{Actor: actorFrom(r.Context()), CorrelationID: correlationID(r), CourseIDs: req.CourseIDs,
		IncludeTeachers: req.IncludeTeachers, SendWelcomeEmail: req.SendWelcomeEmail}
	if req.GroupID != nil {
		cmd.GroupID = *req.GroupID
	}
	imp, err := a.classroom.CreateImport(r.Context(), cmd)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, query.ImportFrom(imp))
}
