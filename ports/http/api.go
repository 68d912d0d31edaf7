package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"reflect"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
)

// API serves /api/v1.
type API struct {
	logger                *slog.Logger
	logins                command.Logins
	signInHandler         *command.SignInHandler
	signOutHandler        *command.SignOutHandler
	changePasswordHandler *command.ChangePasswordHandler
	reference             *command.ReferenceHandler
	wizard                *command.ImportWizard
	loginCardsHandler     *command.LoginCardsHandler
	queries               *query.Queries
	rowCorrector          RowCorrector
	sampleFile            []byte
	uploadLimits          UploadLimits
	trustedProxies        []netip.Prefix
	classroom             *command.Classroom
	afterGoogle           string
	browserCallback       http.Handler
	yourAccount           YourAccount
}

// APIDeps are the application handlers the API calls.
type APIDeps struct {
	Logger         *slog.Logger
	Logins         command.Logins
	SignIn         *command.SignInHandler
	SignOut        *command.SignOutHandler
	ChangePassword *command.ChangePasswordHandler
	Reference      *command.ReferenceHandler
	Wizard         *command.ImportWizard
	LoginCards     *command.LoginCardsHandler
	Queries        *query.Queries
	// Rows corrects rows on the review.
	Rows       RowCorrector
	SampleFile []byte
	Upload     UploadLimits
	// TrustedProxies are the proxies whose X-Forwarded-For is believed
	// (TRUSTED_PROXIES); none: the connection's peer is the client.
	TrustedProxies []netip.Prefix
	// Classroom is optional: without it the Google routes are absent.
	Classroom *command.Classroom
	// AfterGoogle is where the browser goes once Google is connected.
	AfterGoogle string
	// BrowserCallback is optional: it finishes the Google callback for a
	// browser, which arrives with a session cookie instead of a bearer token.
	BrowserCallback http.Handler
	// YourAccount serves /me and the email changes.
	YourAccount YourAccount
}

// NewAPI refuses missing dependencies.
func NewAPI(d APIDeps) (*API, error) {
	if d.Logger == nil || d.Logins == nil || d.SignIn == nil || d.SignOut == nil || d.ChangePassword == nil || d.Reference == nil ||
		d.Wizard == nil || d.LoginCards == nil || d.Queries == nil || d.Rows == nil || len(d.SampleFile) == 0 || d.Upload.MaxBytes <= 0 || !d.YourAccount.Complete() {
		return nil, errors.New("http: NewAPI needs every dependency")
	}
	return &API{logger: d.Logger, logins: d.Logins, signInHandler: d.SignIn, signOutHandler: d.SignOut, changePasswordHandler: d.ChangePassword,
		reference: d.Reference, wizard: d.Wizard, loginCardsHandler: d.LoginCards, queries: d.Queries, rowCorrector: d.Rows, sampleFile: d.SampleFile, uploadLimits: d.Upload,
		trustedProxies: d.TrustedProxies, classroom: d.Classroom, afterGoogle: d.AfterGoogle, browserCallback: d.BrowserCallback,
		yourAccount: d.YourAccount}, nil
}

// Register adds the API's routes to r.
func (a *API) Register(r *mux.Router) {
	api := r.PathPrefix("/api/v1").Subrouter()
	api.Use(a.checkQuery)
	api.HandleFunc("/sessions", a.signIn).Methods(http.MethodPost)
	api.HandleFunc("/imports/sample.csv", a.sample).Methods(http.MethodGet)
	a.registerGoogleCallback(api)
	a.registerEmailConfirm(api)

	authed := api.NewRoute().Subrouter()
	authed.Use(a.authenticate)
	authed.HandleFunc("/me/password", a.changePassword).Methods(http.MethodPost)
	authed.HandleFunc("/sessions/current", a.signOut).Methods(http.MethodDelete)
	authed.HandleFunc("/accounts/audit", a.accountAudit).Methods(http.MethodGet)
	a.registerYourAccount(authed)
	for _, kind := range []command.ReferenceKind{command.Groups, command.Tags, command.Presets} {
		authed.HandleFunc("/"+string(kind), a.listNamed(kind)).Methods(http.MethodGet)
		authed.HandleFunc("/"+string(kind), a.createNamed(kind)).Methods(http.MethodPost)
	}
	authed.HandleFunc("/organization", a.organization).Methods(http.MethodGet)
	authed.HandleFunc("/organization", a.patchOrganization).Methods(http.MethodPatch)
	a.registerGoogle(authed)
	a.registerImports(authed)

	api.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.fail(w, r, failure.New(failure.NotFound, "not_found", "There is no %s %s in the API; see /api/v1/openapi.yaml.", r.Method, r.URL.Path))
	})
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, a.logger, err)
}

// maxJSONBody bounds JSON requests; files go through multipart uploads.
const maxJSONBody = 1 << 20

// decode reads a JSON body into v, answering 400 with what is wrong.
func (a *API) decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := "The request body is not valid JSON: " + err.Error()
		var maxErr *http.MaxBytesError
		if errors.Is(err, io.EOF) {
			msg = "The request body is empty; send a JSON object."
		} else if errors.As(err, &maxErr) {
			msg = fmt.Sprintf("The request body is larger than %d bytes.", maxJSONBody)
		}
		a.fail(w, r, failure.New(failure.Invalid, "malformed_request", "%s", msg))
		return false
	}
	// A second value after the object would otherwise be ignored: the
	// request is not what the client meant to send.
	if dec.More() {
		a.fail(w, r, failure.New(failure.Invalid, "malformed_request", "The request body holds more than one JSON value; send a single JSON object."))
		return false
	}
	if field, bad := badJSONText(reflect.ValueOf(v), ""); bad {
		a.fail(w, r, InvalidParameter("The field %q contains a NUL character (\\u0000). Remove it and try again.", field))
		return false
	}
	return true
}

// decodeOptional is decode for a body that may be left out.
func (a *API) decodeOptional(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	if err != nil {
		a.fail(w, r, failure.New(failure.Invalid, "malformed_request", "The request body could not be read: %v", err))
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return a.decode(w, r, v)
}

func correlationID(r *http.Request) string {
	if id := r.Header.Get("X-Correlation-ID"); id != "" && len(id) <= 100 {
		return id
	}
	return uuid.NewString()
}
