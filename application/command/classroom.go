package command

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// Google is what the Classroom import needs of Google. Tokens are opaque
// bytes to the application; the adapter knows their shape.
type Google interface {
	NewVerifier() string
	AuthCodeURL(state, verifier string) string
	ErrorFromCallback(v url.Values) error
	Exchange(ctx context.Context, code, verifier string) (token []byte, missingScopes []string, err error)
	Session(ctx context.Context, token []byte, onRefresh func([]byte)) (ClassroomSession, error)
}

// ClassroomSession reads one connected account's classes.
type ClassroomSession interface {
	Email(ctx context.Context) (string, error)
	Courses(ctx context.Context) ([]GoogleCourse, error)
	Roster(ctx context.Context, courseID string, includeTeachers bool) ([]GooglePerson, error)
}

// GoogleCourse is a class the teacher owns.
type GoogleCourse struct {
	ID, Name, Section string
	Students          int
	// LastImport is the organization's most recent completed import of
	// the class (nil: never imported): importing it again re-syncs it.
	LastImport *LastImport
}

// LastImport is an import that included a class, and when it completed.
type LastImport struct {
	ID uuid.UUID
	At time.Time
}

// ClassroomImports reads, from the imports read model, when an
// organization last imported its classes.
type ClassroomImports interface {
	LastImports(ctx context.Context, orgID uuid.UUID, courseIDs []string) (map[string]LastImport, error)
}

// GooglePerson is a student or teacher of a class.
type GooglePerson struct {
	GoogleID, Email, GivenName, FamilyName, FullName, Role, CourseID string
}

// GoogleConnections keeps an administrator's Google tokens (encrypted) and
// the short-lived state of a connection in progress.
type GoogleConnections interface {
	SaveState(ctx context.Context, state string, accountID uuid.UUID, verifier string, expires time.Time) error
	TakeState(ctx context.Context, state string) (accountID uuid.UUID, verifier string, err error)
	SaveToken(ctx context.Context, accountID, orgID uuid.UUID, googleEmail string, token []byte) error
	Token(ctx context.Context, accountID uuid.UUID) (token []byte, googleEmail string, err error)
	Disconnect(ctx context.Context, accountID uuid.UUID) error
}

// Classroom handles the Google Classroom way in.
type Classroom struct {
	google   Google
	conns    GoogleConnections
	history  ClassroomImports
	wizard   *ImportWizard
	orgs     Organizations
	logger   *slog.Logger
	stateTTL time.Duration
}

// NewClassroom refuses missing dependencies.
func NewClassroom(google Google, conns GoogleConnections, history ClassroomImports, wizard *ImportWizard, orgs Organizations, logger *slog.Logger) (*Classroom, error) {
	if google == nil || conns == nil || history == nil || wizard == nil || orgs == nil || logger == nil {
		return nil, errors.New("command: NewClassroom needs every dependency")
	}
	return &Classroom{google: google, conns: conns, history: history, wizard: wizard, orgs: orgs, logger: logger, stateTTL: 10 * time.Minute}, nil
}

// Connect starts the OAuth flow: the URL of Google's consent page, with a
// state bound to the administrator for ten minutes and a PKCE verifier.
func (c *Classroom) Connect(ctx context.Context, actor tenancy.Actor) (string, error) {
	if !actor.Role.CanImport() {
		return "", failure.New(failure.Forbidden, "forbidden", "Only administrators can import from Google Classroom.")
	}
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	state := base64.RawURLEncoding.EncodeToString(raw)
	verifier := c.google.NewVerifier()
	if err := c.conns.SaveState(ctx, state, actor.ID, verifier, time.Now().Add(c.stateTTL)); err != nil {
		return "", err
	}
	return c.google.AuthCodeURL(state, verifier), nil
}

// Callback finishes the flow: the Google account must be the
// administrator's own (same email, any case).
func (c *Classroom) Callback(ctx context.Context, actor tenancy.Actor, query url.Values) error {
	state := query.Get("state")
	owner, verifier, err := c.conns.TakeState(ctx, state)
	if err != nil || owner != actor.ID {
		return failure.New(failure.Conflict, "google_state_invalid", "This Google sign-in has expired or was started by someone else. Click \"Connect Google\" again.")
	}
	if err := c.google.ErrorFromCallback(query); err != nil {
		return googleError(err)
	}
	token, missing, err := c.google.Exchange(ctx, query.Get("code"), verifier)
	if err != nil {
		return googleError(err)
	}
	if len(missing) > 0 {
		return failure.New(failure.Conflict, "google_scope_missing",
			"Rollcall needs every permission it asked for to read your classes (missing: %s). Connect again and leave every box ticked.", strings.Join(missing, ", "))
	}
	session, err := c.google.Session(ctx, token, nil)
	if err != nil {
		return googleError(err)
	}
	email, err := session.Email(ctx)
	if err != nil {
		return googleError(err)
	}
	if account.EmailKey(email) != account.EmailKey(actor.Email) {
		e := failure.New(failure.Conflict, "google_email_mismatch",
			"You connected the Google account %s, but you are signed in to Rollcall as %s. They must be the same account: connect with %s, change your email in Rollcall to %s (Your account, at /account), or export the class from Google Classroom as a CSV and use the CSV import.",
			email, actor.Email, actor.Email, email)
		e.Details = map[string]any{"google_email": email, "rollcall_email": actor.Email, "your_account": YourAccountPath}
		return e
	}
	return c.conns.SaveToken(ctx, actor.ID, actor.OrgID, email, token)
}

// session opens the administrator's stored connection, keeping refreshed
// tokens.
func (c *Classroom) session(ctx context.Context, actor tenancy.Actor) (ClassroomSession, string, error) {
	token, googleEmail, err := c.conns.Token(ctx, actor.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, "", failure.New(failure.Conflict, "google_not_connected", "Connect your Google account first.")
	}
	if err != nil {
		return nil, "", err
	}
	s, err := c.google.Session(ctx, token, func(fresh []byte) {
		if err := c.conns.SaveToken(context.WithoutCancel(ctx), actor.ID, actor.OrgID, googleEmail, fresh); err != nil {
			c.logger.WarnContext(ctx, "could not keep a refreshed Google token", "account_id", actor.ID, "err", err)
		}
	})
	return s, googleEmail, err
}

// Courses lists the classes the administrator teaches, each with the
// organization's last completed import of it.
func (c *Classroom) Courses(ctx context.Context, actor tenancy.Actor) ([]GoogleCourse, error) {
	s, _, err := c.session(ctx, actor)
	if err != nil {
		return nil, err
	}
	courses, err := s.Courses(ctx)
	if err != nil {
		return nil, c.forgetIfRevoked(ctx, actor, googleError(err))
	}
	ids := make([]string, len(courses))
	for i, course := range courses {
		ids[i] = course.ID
	}
	last, err := c.history.LastImports(ctx, actor.OrgID, ids)
	if err != nil {
		return nil, err
	}
	for i := range courses {
		if l, ok := last[courses[i].ID]; ok {
			courses[i].LastImport = &l
		}
	}
	return courses, nil
}

// CreateClassroomImport reads the picked classes' rosters and starts an
// import at the defaults step. One person in two classes is one row.
type CreateClassroomImport struct {
	Actor            tenancy.Actor
	CorrelationID    string
	CourseIDs        []string
	GroupID          uuid.UUID
	IncludeTeachers  bool
	SendWelcomeEmail bool
}

// CreateImport fetches every roster before writing anything, so a Google
// failure half-way leaves no half-made import.
func (c *Classroom) CreateImport(ctx context.Context, cmd CreateClassroomImport) (*importsession.Import, error) {
	if len(cmd.CourseIDs) == 0 {
		return nil, failure.New(failure.Unprocessable, "invalid_value", "Pick at least one class.")
	}
	// As for the CSV defaults: a group must be one of the organization's,
	// or the imported accounts would carry another organization's group.
	if cmd.GroupID != uuid.Nil && cmd.Actor.Role.IsSystemAdmin() {
		ok, err := c.orgs.NamedExists(ctx, Groups, cmd.Actor.OrgID, []uuid.UUID{cmd.GroupID})
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, failure.New(failure.Unprocessable, "invalid_value", "There is no such group in your organization.")
		}
	}
	s, googleEmail, err := c.session(ctx, cmd.Actor)
	if err != nil {
		return nil, err
	}
	courses, err := s.Courses(ctx)
	if err != nil {
		return nil, c.forgetIfRevoked(ctx, cmd.Actor, googleError(err))
	}
	var picked []importsession.ClassroomCourse
	var people []GooglePerson
	for _, id := range slices.Compact(slices.Sorted(slices.Values(cmd.CourseIDs))) {
		i := slices.IndexFunc(courses, func(course GoogleCourse) bool { return course.ID == id })
		if i < 0 {
			return nil, failure.New(failure.Unprocessable, "invalid_value", "You do not teach a class with the id %q (or it is archived).", id)
		}
		roster, err := s.Roster(ctx, id, cmd.IncludeTeachers)
		if err != nil {
			return nil, c.forgetIfRevoked(ctx, cmd.Actor, googleError(err))
		}
		course := importsession.ClassroomCourse{ID: id, Name: courses[i].Name, Section: courses[i].Section}
		for _, p := range roster {
			if p.Role == "teacher" {
				course.Teachers++
			} else {
				course.Students++
			}
		}
		picked = append(picked, course)
		people = append(people, roster...)
	}
	rosterCSV, rows := rosterFile(people, picked)
	stored, err := c.wizard.StoreUpload(ctx, bytes.NewReader(rosterCSV))
	if err != nil {
		return nil, err
	}
	org, err := c.orgs.Organization(ctx, cmd.Actor.OrgID)
	if err != nil {
		c.wizard.Discard(ctx, stored)
		return nil, err
	}
	imp, err := importsession.NewClassroomImport(cmd.Actor, importsession.ClassroomImport{
		ID: stored.ID, GoogleEmail: googleEmail, Courses: picked, IncludeTeachers: cmd.IncludeTeachers, People: rows,
		GroupID: cmd.GroupID, SendWelcomeEmail: cmd.SendWelcomeEmail, WelcomeEmailEnabled: org.WelcomeEmailEnabled, RosterSHA256: stored.SHA256,
	}, c.wizard.now())
	if err == nil {
		err = c.wizard.imports.Add(ctx, imp, meta(cmd.Actor, cmd.CorrelationID))
	}
	if err != nil {
		c.wizard.Discard(ctx, stored)
		return nil, err
	}
	return imp, nil
}

// rosterFile writes the people once each (by Google id, else email) as the
// CSV the validation reads.
func rosterFile(people []GooglePerson, courses []importsession.ClassroomCourse) ([]byte, int) {
	names := map[string]string{}
	for _, c := range courses {
		names[c.ID] = c.Name
	}
	type row struct {
		p       GooglePerson
		classes []string
		ids     []string
	}
	var order []string
	byKey := map[string]*row{}
	for _, p := range people {
		key := p.GoogleID
		if key == "" {
			key = account.EmailKey(p.Email)
		}
		if r, ok := byKey[key]; ok {
			if !slices.Contains(r.classes, names[p.CourseID]) {
				r.classes = append(r.classes, names[p.CourseID])
			}
			if !slices.Contains(r.ids, p.CourseID) {
				r.ids = append(r.ids, p.CourseID)
			}
			if p.Role == "teacher" {
				r.p.Role = "teacher"
			}
			continue
		}
		byKey[key] = &row{p: p, classes: []string{names[p.CourseID]}, ids: []string{p.CourseID}}
		order = append(order, key)
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(importsession.ClassroomHeaders)
	for _, key := range order {
		r := byKey[key]
		first, last := r.p.GivenName, r.p.FamilyName
		if first == "" && last == "" {
			first = r.p.FullName
		}
		_ = w.Write([]string{first, last, r.p.Email, r.p.GoogleID, r.p.Role, strings.Join(r.classes, "; "), strings.Join(r.ids, ";")})
	}
	w.Flush()
	return buf.Bytes(), len(order)
}

// forgetIfRevoked drops a connection Google no longer honours, so the next
// step asks to reconnect.
func (c *Classroom) forgetIfRevoked(ctx context.Context, actor tenancy.Actor, err error) error {
	if e, ok := failure.As(err); ok && e.Code == "google_reconnect_required" {
		_ = c.conns.Disconnect(ctx, actor.ID)
	}
	return err
}

// Disconnect forgets the administrator's Google tokens.
func (c *Classroom) Disconnect(ctx context.Context, actor tenancy.Actor) error {
	return c.conns.Disconnect(ctx, actor.ID)
}

// GoogleFailure is implemented by the adapter's errors.
type GoogleFailure interface {
	error
	GoogleCode() string
	CanRetry() bool
}

// googleError turns the adapter's error into one for the person.
func googleError(err error) error {
	var gf GoogleFailure
	if !errors.As(err, &gf) {
		return err
	}
	kind := failure.Conflict
	if gf.CanRetry() {
		kind = failure.Unavailable
	}
	return &failure.Error{Kind: kind, Code: "google_" + gf.GoogleCode(), Message: fmt.Sprint(gf.Error()), Err: err}
}

// YourAccountPath is the page where a person changes their own email.
const YourAccountPath = "/account"
