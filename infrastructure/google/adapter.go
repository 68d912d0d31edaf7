package google

import (
	"context"
	"encoding/json"
	"net/url"

	"golang.org/x/oauth2"

	"github.com/rollcall/rollcall/application/command"
)

// Adapter implements the application's Google port; tokens cross it as the
// JSON of an oauth2.Token, which the caller stores encrypted.
type Adapter struct{ Client *Client }

var _ command.Google = Adapter{}

func (Adapter) NewVerifier() string { return NewVerifier() }
func (a Adapter) AuthCodeURL(state, verifier string) string {
	return a.Client.AuthCodeURL(state, verifier)
}
func (Adapter) ErrorFromCallback(v url.Values) error { return ErrorFromCallback(v) }

// Exchange returns the token and the scopes the person unticked.
func (a Adapter) Exchange(ctx context.Context, code, verifier string) ([]byte, []string, error) {
	tok, err := a.Client.Exchange(ctx, code, verifier)
	if err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(tok)
	return raw, MissingScopes(tok), err
}

// Session opens the Classroom API with a stored token.
func (a Adapter) Session(ctx context.Context, token []byte, onRefresh func([]byte)) (command.ClassroomSession, error) {
	var tok oauth2.Token
	if err := json.Unmarshal(token, &tok); err != nil {
		return nil, err
	}
	cr, err := a.Client.Classroom(ctx, &tok, func(fresh *oauth2.Token) {
		if onRefresh == nil {
			return
		}
		if raw, err := json.Marshal(fresh); err == nil {
			onRefresh(raw)
		}
	})
	if err != nil {
		return nil, err
	}
	return session{cr}, nil
}

type session struct{ cr *Classroom }

func (s session) Email(ctx context.Context) (string, error) {
	p, err := s.cr.Me(ctx)
	return p.Email, err
}

func (s session) Courses(ctx context.Context) ([]command.GoogleCourse, error) {
	courses, err := s.cr.Courses(ctx)
	out := make([]command.GoogleCourse, len(courses))
	for i, c := range courses {
		out[i] = command.GoogleCourse{ID: c.ID, Name: c.Name, Section: c.Section, Students: c.Students}
	}
	return out, err
}

func (s session) Roster(ctx context.Context, courseID string, includeTeachers bool) ([]command.GooglePerson, error) {
	people, err := s.cr.Roster(ctx, courseID, includeTeachers)
	out := make([]command.GooglePerson, len(people))
	for i, p := range people {
		out[i] = command.GooglePerson{GoogleID: p.GoogleUserID, Email: p.Email, GivenName: p.GivenName, FamilyName: p.FamilyName,
			FullName: p.FullName, Role: p.Role, CourseID: p.CourseID}
	}
	return out, err
}
