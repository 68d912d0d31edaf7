package command_test

import (
	"context"
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
	"github.com/rollcall/rollcall/infrastructure/google"
	"github.com/rollcall/rollcall/infrastructure/google/googletest"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// classroomEnv is the Classroom command wired to a fake Google and the
// real token store.
type classroomEnv struct {
	*env
	fake      *googletest.Server
	classroom *command.Classroom
	lincoln   uuid.UUID
	root      tenancy.Actor
}

func newClassroomEnv(t *testing.T, tokenLifetime time.Duration) *classroomEnv {
	t.Helper()
	e := newEnv(t)
	c := &classroomEnv{env: e}
	c.lincoln = e.org(t, "Lincoln High", false)
	c.root = e.actor(t, c.lincoln, "root@lincoln.test", tenancy.RoleSystemAdmin, uuid.Nil)
	students := []googletest.Person{
		{ID: "s1", Email: "ana@lincoln.test", Given: "Ana", Family: "Lima"},
		{ID: "s2", Email: "bo@lincoln.test", Given: "Bo", Family: "Ek"},
		{ID: "s3", Email: "", Given: "Cy", Family: "Personal"},
		{ID: "s4", Email: "dee@lincoln.test", Given: "Dee", Family: "Fox"},
	}
	c.fake = googletest.Start(t, googletest.Options{
		ClientID: "rollcall-test", ClientSecret: "test-secret", TokenLifetime: tokenLifetime,
		// Google's copy of the address may differ in case from Rollcall's.
		User: googletest.Person{ID: "t1", Email: "ROOT@lincoln.test", Given: "Ria", Family: "Root"},
		Courses: []googletest.Course{
			{ID: "bio", Name: "Biology", Section: "7B", OwnerEmail: "root@lincoln.test", Students: students[:3],
				Teachers: []googletest.Person{{ID: "t2", Email: "co@lincoln.test", Given: "Co", Family: "Teacher"}}},
			{ID: "chem", Name: "Chemistry", Section: "8A", OwnerEmail: "root@lincoln.test", Students: []googletest.Person{students[0], students[3]}},
			{ID: "theirs", Name: "Not mine", OwnerEmail: "someone@lincoln.test", Students: students[:1]},
			{ID: "art", Name: "Art", OwnerEmail: "ada@lincoln.test", Students: students[:1]},
		},
	})
	client := google.New(google.Config{ClientID: "rollcall-test", ClientSecret: "test-secret", AuthURL: c.fake.AuthURL(),
		TokenURL: c.fake.TokenURL(), APIURL: c.fake.APIURL(), RedirectURL: "http://rollcall.test/api/v1/google/callback",
		Retry: google.Retry{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}})
	var err error
	if c.classroom, err = command.NewClassroom(google.Adapter{Client: client}, postgres.NewGoogleConnections(e.pool, e.key), postgres.NewClassroomHistory(e.pool), e.wizard, e.tenancy, discard()); err != nil {
		t.Fatal(err)
	}
	return c
}

// consent starts the connection as actor and follows Google's consent
// page as a browser would, returning the callback's query.
func (c *classroomEnv) consent(t *testing.T, actor tenancy.Actor) url.Values {
	t.Helper()
	to, err := c.classroom.Connect(context.Background(), actor)
	if err != nil {
		t.Fatal(err)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(to)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("consent: %d %v", resp.StatusCode, err)
	}
	return back.Query()
}

func (c *classroomEnv) connect(t *testing.T, actor tenancy.Actor) {
	t.Helper()
	if err := c.classroom.Callback(context.Background(), actor, c.consent(t, actor)); err != nil {
		t.Fatal(err)
	}
}

func TestClassroomConnect(t *testing.T) {
	t.Parallel()
	c := newClassroomEnv(t, time.Hour)
	ctx := context.Background()
	ada := c.actor(t, c.lincoln, "ada@lincoln.test", tenancy.RoleAdmin, uuid.Nil)
	user := c.actor(t, c.lincoln, "uma@lincoln.test", tenancy.RoleUser, uuid.Nil)

	_, err := c.classroom.Connect(ctx, user)
	requireAppError(t, err, failure.Forbidden, "forbidden")

	refusals := []struct {
		name     string
		setup    func()
		callback func() error
		slug     string
	}{
		{"state of another administrator", nil, func() error {
			return c.classroom.Callback(ctx, ada, c.consent(t, c.root))
		}, "google_state_invalid"},
		{"state used twice", nil, func() error {
			q := c.consent(t, c.root)
			if err := c.classroom.Callback(ctx, c.root, q); err != nil {
				t.Fatal(err)
			}
			if err := c.classroom.Disconnect(ctx, c.root); err != nil {
				t.Fatal(err)
			}
			return c.classroom.Callback(ctx, c.root, q)
		}, "google_state_invalid"},
		{"made-up state", nil, func() error {
			return c.classroom.Callback(ctx, c.root, url.Values{"state": {"made-up"}, "code": {"x"}})
		}, "google_state_invalid"},
		{"consent refused", func() { c.fake.DenyConsent("access_denied") }, func() error {
			return c.classroom.Callback(ctx, c.root, c.consent(t, c.root))
		}, "google_consent_denied"},
		{"a permission unticked", func() { c.fake.GrantScopes([]string{googletest.ScopeCourses, googletest.ScopeRosters}) }, func() error {
			return c.classroom.Callback(ctx, c.root, c.consent(t, c.root))
		}, "google_scope_missing"},
		{"someone else's Google account", func() {
			c.fake.SetUser(googletest.Person{ID: "x", Email: "someone.else@gmail.com", Given: "Some", Family: "One"})
		}, func() error {
			return c.classroom.Callback(ctx, c.root, c.consent(t, c.root))
		}, "google_email_mismatch"},
	}
	for _, tt := range refusals {
		c.fake.DenyConsent("")
		c.fake.GrantScopes(nil)
		c.fake.SetUser(googletest.Person{ID: "t1", Email: "ROOT@lincoln.test", Given: "Ria", Family: "Root"})
		if tt.setup != nil {
			tt.setup()
		}
		err := tt.callback()
		appErr := requireAppError(t, err, failure.Conflict, tt.slug)
		if tt.slug == "google_email_mismatch" && (appErr.Details["google_email"] != "someone.else@gmail.com" || appErr.Details["rollcall_email"] != "root@lincoln.test") {
			t.Fatalf("mismatch details: %v", appErr.Details)
		}
		// Nothing refused is kept as a connection.
		_, err = c.classroom.Courses(ctx, c.root)
		t.Run(tt.name, func(t *testing.T) { requireAppError(t, err, failure.Conflict, "google_not_connected") })
	}

	// The Google account is the administrator's (any case): connected.
	c.fake.DenyConsent("")
	c.fake.GrantScopes(nil)
	c.fake.SetUser(googletest.Person{ID: "t1", Email: "ROOT@lincoln.test", Given: "Ria", Family: "Root"})
	c.connect(t, c.root)
	courses, err := c.classroom.Courses(ctx, c.root)
	if err != nil || len(courses) != 2 || courses[0].ID != "bio" || courses[0].Students != 3 {
		t.Fatalf("courses: %+v %v", courses, err)
	}
	// Another administrator's connection is their own.
	_, err = c.classroom.Courses(ctx, ada)
	requireAppError(t, err, failure.Conflict, "google_not_connected")
}

func TestClassroomCreateImport(t *testing.T) {
	t.Parallel()
	c := newClassroomEnv(t, time.Hour)
	ctx := context.Background()
	group := c.named(t, c.root, command.Groups, "7B")
	ada := c.actor(t, c.lincoln, "ada@lincoln.test", tenancy.RoleAdmin, group)

	_, err := c.classroom.CreateImport(ctx, command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio"}})
	requireAppError(t, err, failure.Conflict, "google_not_connected")
	c.connect(t, c.root)

	refusals := []struct {
		name     string
		cmd      command.CreateClassroomImport
		setup    func()
		wantKind failure.Kind // 0: a domain error
		wantSlug string
	}{
		{"no class", command.CreateClassroomImport{Actor: c.root}, nil, failure.Unprocessable, "invalid_value"},
		{"a class the administrator does not teach", command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio", "theirs"}}, nil, failure.Unprocessable, "invalid_value"},
		// Faults are queued generously and cleared after each case: a
		// request of the case before, cancelled but still on its way, may
		// take one.
		{"Google refuses a roster", command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio", "chem"}}, func() {
			c.fake.FailNext("/v1/courses/chem/students", 403, `{"error":{"code":403,"message":"@CourseNotAccessible nope","status":"PERMISSION_DENIED"}}`, "", 10)
		}, failure.Conflict, "google_permission_denied"},
		{"Google overloaded", command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio"}}, func() {
			c.fake.FailNext("/v1/courses/bio/students", 503, `{"error":{"code":503,"message":"busy","status":"UNAVAILABLE"}}`, "", 10)
		}, failure.Unavailable, "google_google_unavailable"},
		{"welcome emails turned off", command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio"}, SendWelcomeEmail: true}, nil, 0, "invalid_value"},
	}
	for _, tt := range refusals {
		if tt.setup != nil {
			tt.setup()
		}
		_, err := c.classroom.CreateImport(ctx, tt.cmd)
		c.fake.ClearFaults()
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantKind == 0 {
				requireCode(t, err, tt.wantSlug)
			} else {
				requireAppError(t, err, tt.wantKind, tt.wantSlug)
			}
			if kept := c.uploadsKept(t); len(kept) != 0 {
				t.Fatalf("a refused Classroom import kept its roster: %v", kept)
			}
		})
	}
	if n := countEvents(t, c.env, "ClassroomRosterFetched"); n != 0 {
		t.Fatalf("%d imports recorded by refusals", n)
	}

	// Two classes, one picked twice, Ana in both: one row per person, with
	// her classes together; Cy's hidden email stays empty for the
	// validation to explain.
	imp, err := c.classroom.CreateImport(ctx, command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"chem", "bio", "bio"}, GroupID: group})
	if err != nil {
		t.Fatal(err)
	}
	cls := imp.Classroom()
	if imp.Source() != "google_classroom" || cls.People != 4 || len(cls.Courses) != 2 || cls.Courses[0].ID != "bio" || cls.Courses[0].Students != 3 ||
		cls.GoogleEmail != "ROOT@lincoln.test" || cls.GroupID != group || imp.State() != "mapped" {
		t.Fatalf("classroom import: state %s %+v", imp.State(), cls)
	}
	roster := c.roster(t, imp.ID())
	// The class ids say who is in which class, for a later re-sync.
	want := "First Name,Last Name,Email,Google ID,Role,Classes,Course IDs|Ana,Lima,ana@lincoln.test,s1,student,Biology; Chemistry,bio;chem|" +
		"Bo,Ek,bo@lincoln.test,s2,student,Biology,bio|Cy,Personal,,s3,student,Biology,bio|Dee,Fox,dee@lincoln.test,s4,student,Chemistry,chem"
	if roster != want {
		t.Fatalf("roster file:\n%s\nwant\n%s", roster, want)
	}

	// A group administrator's imports go to their own group: they may not
	// pick one.
	c.fake.SetUser(googletest.Person{ID: "t3", Email: "ada@lincoln.test", Given: "Ada", Family: "Admin"})
	c.connect(t, ada)
	_, err = c.classroom.CreateImport(ctx, command.CreateClassroomImport{Actor: ada, CourseIDs: []string{"art"}, GroupID: group})
	requireCode(t, err, "forbidden")
	if kept := c.uploadsKept(t); len(kept) != 1 {
		t.Fatalf("uploads kept: %v, want the one import's", kept)
	}

	// Teachers when asked.
	imp, err = c.classroom.CreateImport(ctx, command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio"}, IncludeTeachers: true})
	if err != nil {
		t.Fatal(err)
	}
	if cls := imp.Classroom(); cls.People != 4 || cls.Courses[0].Teachers != 1 || !strings.Contains(c.roster(t, imp.ID()), "Co,Teacher,co@lincoln.test,t2,teacher,Biology") {
		t.Fatalf("with teachers: %+v\n%s", cls, c.roster(t, imp.ID()))
	}
}

// A refresh token Google no longer honours ends the connection: the next
// step asks to connect again.
func TestClassroomRevokedConnectionIsForgotten(t *testing.T) {
	t.Parallel()
	// Tokens that x/oauth2 counts as expired at once: every call refreshes.
	c := newClassroomEnv(t, time.Second)
	ctx := context.Background()
	c.connect(t, c.root)
	if _, err := c.classroom.Courses(ctx, c.root); err != nil {
		t.Fatal(err)
	}
	c.fake.RevokeRefreshTokens()
	_, err := c.classroom.CreateImport(ctx, command.CreateClassroomImport{Actor: c.root, CourseIDs: []string{"bio"}})
	requireAppError(t, err, failure.Conflict, "google_reconnect_required")
	_, err = c.classroom.Courses(ctx, c.root)
	requireAppError(t, err, failure.Conflict, "google_not_connected")
	if kept := c.uploadsKept(t); len(kept) != 0 {
		t.Fatalf("kept %v", kept)
	}
}

// roster reads a Classroom import's stored roster, rows joined by "|".
func (c *classroomEnv) roster(t *testing.T, id uuid.UUID) string {
	t.Helper()
	files, err := vault.NewFileStore(c.uploadDir, c.key)
	if err != nil {
		t.Fatal(err)
	}
	f, err := vault.Uploads{Store: files}.Open(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	records, err := csv.NewReader(io.NewSectionReader(f, 0, f.Size())).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, r := range records {
		rows = append(rows, strings.Join(r, ","))
	}
	return strings.Join(rows, "|")
}
