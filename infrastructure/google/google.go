// Package google is Rollcall's adapter to Google: the OAuth 2.0
// authorization-code flow with PKCE (golang.org/x/oauth2) and the Classroom
// API (google.golang.org/api/classroom/v1) for the classes a teacher owns and
// their rosters, with every page followed, retries on 429/5xx, and Google's
// errors turned into messages a school administrator can act on.
package google

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/errgroup"
	"google.golang.org/api/classroom/v1"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/option"
)

// Scopes Rollcall asks for.
var Scopes = []string{
	"https://www.googleapis.com/auth/classroom.courses.readonly",
	"https://www.googleapis.com/auth/classroom.rosters.readonly",
	"https://www.googleapis.com/auth/classroom.profile.emails",
}

// Config points the adapter at Google, or at a fake in tests and dev mode.
type Config struct {
	ClientID, ClientSecret string
	AuthURL, TokenURL      string // default: Google's
	APIURL                 string // base of the Classroom and profile endpoints; default https://classroom.googleapis.com/
	RedirectURL            string
	Retry                  Retry
}

// Retry says how often and how patiently to retry 429, 5xx and network errors.
type Retry struct {
	MaxAttempts int           // default 5
	BaseDelay   time.Duration // default 200ms, doubling, with jitter
	MaxDelay    time.Duration // cap, also on Retry-After (default 30s)
}

// Client starts OAuth flows and opens Classroom sessions.
type Client struct {
	oauth  *oauth2.Config
	apiURL string
	retry  Retry
}

// New fills in Google's addresses where the config leaves them empty.
func New(cfg Config) *Client {
	if cfg.AuthURL == "" {
		cfg.AuthURL = "https://accounts.google.com/o/oauth2/auth"
	}
	if cfg.TokenURL == "" {
		cfg.TokenURL = "https://oauth2.googleapis.com/token"
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "https://classroom.googleapis.com/"
	}
	// Without the trailing slash, option.WithEndpoint drops a path prefix.
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	r := cfg.Retry
	if r.MaxAttempts <= 0 {
		r.MaxAttempts = 5
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 200 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 30 * time.Second
	}
	return &Client{
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL, Scopes: Scopes,
			Endpoint: oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL, AuthStyle: oauth2.AuthStyleInParams},
		},
		apiURL: cfg.APIURL,
		retry:  r,
	}
}

// NewVerifier makes a PKCE code verifier.
func NewVerifier() string { return oauth2.GenerateVerifier() }

// AuthCodeURL is Google's consent page: PKCE (S256), offline access so a
// refresh token is issued, and a consent prompt so it is issued again on
// reconnect.
func (c *Client) AuthCodeURL(state, verifier string) string {
	return c.oauth.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("prompt", "consent"), oauth2.SetAuthURLParam("include_granted_scopes", "true"))
}

// Exchange trades the callback's code for tokens.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (*oauth2.Token, error) {
	tok, err := c.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, tokenError(err)
	}
	return tok, nil
}

// MissingScopes lists the scopes the person unticked on the consent screen.
func MissingScopes(tok *oauth2.Token) []string {
	granted, _ := tok.Extra("scope").(string)
	have := strings.Fields(granted)
	var missing []string
	for _, s := range Scopes {
		if !slices.Contains(have, s) {
			missing = append(missing, s)
		}
	}
	return missing
}

// ErrorFromCallback reads the error Google puts on the redirect back.
func ErrorFromCallback(v url.Values) error {
	switch code := v.Get("error"); code {
	case "":
		return nil
	case "access_denied":
		return &Error{Code: "consent_denied", Message: "You did not allow Rollcall to read your classes. Connect again and allow access, or export the class as a CSV and use the CSV import."}
	case "access_not_configured", "admin_policy_enforced", "org_internal":
		return &Error{Code: "app_blocked", Message: "Your school's Google Workspace administrator does not allow Rollcall to access Google Classroom. Ask them to trust the app (Admin console → Security → API controls → App access control), or export the class as a CSV and use the CSV import."}
	default:
		return &Error{Code: "google_error", Message: fmt.Sprintf("Google refused the connection (%s). Try connecting again.", code)}
	}
}

// Error is a failure at Google, with a message for the administrator.
type Error struct {
	Code      string
	Message   string
	Status    int
	Retryable bool
	Err       error
}

func (e *Error) Error() string { return e.Message }

// GoogleCode is the stable code, for the application.
func (e *Error) GoogleCode() string { return e.Code }

// CanRetry says whether trying later may succeed.
func (e *Error) CanRetry() bool { return e.Retryable }
func (e *Error) Unwrap() error  { return e.Err }

func tokenError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.ErrorCode == "invalid_grant" {
		return &Error{Code: "reconnect_required", Message: "Your Google connection has expired or was revoked. Connect your Google account again.", Status: re.Response.StatusCode, Err: err}
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge
	}
	return &Error{Code: "google_error", Message: "Google did not accept the sign-in. Connect your Google account again.", Err: err}
}

// apiError turns a Classroom API failure into an Error.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var ge *Error
	if errors.As(err, &ge) {
		return ge
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return tokenError(err)
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch {
		case gerr.Code == http.StatusForbidden && strings.Contains(gerr.Message, "@ClassroomApiDisabled"):
			return &Error{Code: "classroom_disabled", Status: 403, Err: err, Message: "Google Classroom is turned off for your Google account. Your school's Google Workspace administrator can turn it on, or export the class as a CSV and use the CSV import."}
		case gerr.Code == http.StatusForbidden:
			reason := gerr.Message
			if i := strings.Index(reason, "@"); i >= 0 {
				reason = strings.Fields(reason[i:])[0]
			}
			return &Error{Code: "permission_denied", Status: 403, Err: err, Message: fmt.Sprintf("Google refused access to the class (%s). Check that you teach it with this Google account.", reason)}
		case gerr.Code == http.StatusNotFound:
			return &Error{Code: "not_found", Status: 404, Err: err, Message: "Google does not know this class any more. Reload the list of classes."}
		case gerr.Code == http.StatusUnauthorized:
			return &Error{Code: "reconnect_required", Status: 401, Err: err, Message: "Your Google connection is no longer valid. Connect your Google account again."}
		case gerr.Code == http.StatusTooManyRequests:
			return &Error{Code: "rate_limited", Status: 429, Retryable: true, Err: err, Message: "Google is limiting how fast Rollcall may read your classes. Wait a minute and try again."}
		case gerr.Code >= 500:
			return &Error{Code: "google_unavailable", Status: gerr.Code, Retryable: true, Err: err, Message: "Google Classroom is not answering right now. Try again in a few minutes."}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &Error{Code: "network", Retryable: true, Err: err, Message: "Rollcall could not reach Google. Try again in a few minutes."}
}

// Classroom is a session on the Classroom API for one connected account.
type Classroom struct {
	svc *classroom.Service
}

// Profile is the connected Google account.
type Profile struct {
	ID, Email, Name string
}

// Course is a class the teacher owns.
type Course struct {
	ID, Name, Section string
	Students          int
}

// Person is a student or teacher of a class. Email is empty when Google
// does not show it (a personal account, or the emails scope missing): the
// caller makes an invalid row of it, never drops it.
type Person struct {
	GoogleUserID, Email, GivenName, FamilyName, FullName string
	Role                                                 string // "student" or "teacher"
	CourseID                                             string
}

// Classroom opens a session; onRefresh receives every new token so the
// caller can store it (encrypted).
func (c *Client) Classroom(ctx context.Context, tok *oauth2.Token, onRefresh func(*oauth2.Token)) (*Classroom, error) {
	base := &retryTransport{next: http.DefaultTransport, retry: c.retry}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, &http.Client{Transport: base})
	src := &notifyingSource{src: c.oauth.TokenSource(ctx, tok), last: tok, onRefresh: onRefresh}
	httpClient := &http.Client{Transport: &oauth2.Transport{Source: oauth2.ReuseTokenSource(tok, src), Base: base}}
	svc, err := classroom.NewService(ctx, option.WithHTTPClient(httpClient), option.WithEndpoint(c.apiURL))
	if err != nil {
		return nil, err
	}
	return &Classroom{svc: svc}, nil
}

// notifyingSource reports refreshed tokens.
type notifyingSource struct {
	src       oauth2.TokenSource
	last      *oauth2.Token
	onRefresh func(*oauth2.Token)
}

func (n *notifyingSource) Token() (*oauth2.Token, error) {
	tok, err := n.src.Token()
	if err != nil {
		return nil, tokenError(err)
	}
	if n.onRefresh != nil && (n.last == nil || tok.AccessToken != n.last.AccessToken) {
		n.onRefresh(tok)
	}
	n.last = tok
	return tok, nil
}

// Me is the connected account's profile.
func (c *Classroom) Me(ctx context.Context) (Profile, error) {
	p, err := c.svc.UserProfiles.Get("me").Context(ctx).Do()
	if err != nil {
		return Profile{}, apiError(err)
	}
	out := Profile{ID: p.Id, Email: p.EmailAddress}
	if p.Name != nil {
		out.Name = p.Name.FullName
	}
	return out, nil
}

// Courses lists the active classes the account teaches, with their number
// of students, following every page.
func (c *Classroom) Courses(ctx context.Context) ([]Course, error) {
	var out []Course
	err := c.svc.Courses.List().TeacherId("me").CourseStates("ACTIVE").Context(ctx).Pages(ctx, func(page *classroom.ListCoursesResponse) error {
		for _, course := range page.Courses {
			out = append(out, Course{ID: course.Id, Name: course.Name, Section: course.Section})
		}
		return nil
	})
	if err != nil {
		return nil, apiError(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range out {
		g.Go(func() error {
			people, err := c.Roster(gctx, out[i].ID, false)
			out[i].Students = len(people)
			return err
		})
	}
	return out, g.Wait()
}

// Roster lists a class's students (and teachers when asked), following
// every page: the API pages at 30, and stopping at the first page is a
// known bug of integrations that imported only 30 students.
func (c *Classroom) Roster(ctx context.Context, courseID string, includeTeachers bool) ([]Person, error) {
	var out []Person
	add := func(role string, p *classroom.UserProfile) {
		person := Person{Role: role, CourseID: courseID}
		if p != nil {
			person.GoogleUserID, person.Email = p.Id, p.EmailAddress
			if p.Name != nil {
				person.GivenName, person.FamilyName, person.FullName = p.Name.GivenName, p.Name.FamilyName, p.Name.FullName
			}
		}
		out = append(out, person)
	}
	err := c.svc.Courses.Students.List(courseID).Context(ctx).Pages(ctx, func(page *classroom.ListStudentsResponse) error {
		for _, s := range page.Students {
			add("student", s.Profile)
		}
		return nil
	})
	if err != nil {
		return nil, apiError(err)
	}
	if includeTeachers {
		err = c.svc.Courses.Teachers.List(courseID).Context(ctx).Pages(ctx, func(page *classroom.ListTeachersResponse) error {
			for _, t := range page.Teachers {
				add("teacher", t.Profile)
			}
			return nil
		})
		if err != nil {
			return nil, apiError(err)
		}
	}
	return out, nil
}
