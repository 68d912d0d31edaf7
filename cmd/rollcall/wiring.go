package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/google"
	"github.com/rollcall/rollcall/infrastructure/importjob"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
	"github.com/rollcall/rollcall/infrastructure/vault"
	rhttp "github.com/rollcall/rollcall/ports/http"
	"github.com/rollcall/rollcall/ports/web"
)

// app is the application layer wired to its adapters.
type app struct {
	store     *postgres.EventStore
	tenancy   *postgres.Tenancy
	accounts  *postgres.Accounts
	imports   *postgres.Imports
	hasher    *password.Hasher
	reference *command.ReferenceHandler
	create    *command.CreateAccountHandler
	signIn    *command.SignInHandler
	changePwd *command.ChangePasswordHandler
	wizard    *command.ImportWizard
	queries   *query.Queries
	jobs      *importjob.Runner
	classroom *command.Classroom
	csrfKey   []byte
}

// newCodec knows every event type of the domain.
func newCodec() *eventcodec.Registry {
	reg := eventcodec.NewRegistry()
	for _, ev := range account.Events() {
		reg.Register(ev)
	}
	for _, ev := range importsession.Events() {
		reg.Register(ev)
	}
	return reg
}

func passwordPolicy() command.PasswordPolicy {
	policy := password.DefaultPolicy()
	return func(pw secret.Secret) []command.PolicyProblem {
		var out []command.PolicyProblem
		for _, p := range policy.Check(pw) {
			out = append(out, command.PolicyProblem(p))
		}
		return out
	}
}

func (m *Main) app(ctx context.Context) (*app, error) {
	if m.wired != nil {
		return m.wired, nil
	}
	pool, err := m.db(ctx)
	if err != nil {
		return nil, err
	}
	store, err := postgres.NewEventStore(pool, newCodec())
	if err != nil {
		return nil, err
	}
	hasher, err := password.NewHasher(m.Config.Argon2)
	if err != nil {
		return nil, err
	}
	a := &app{store: store, tenancy: postgres.NewTenancy(pool), hasher: hasher, imports: postgres.NewImports(store)}
	a.accounts = postgres.NewAccounts(pool, store)
	now := time.Now
	if a.reference, err = command.NewReferenceHandler(a.tenancy); err != nil {
		return nil, err
	}
	if a.create, err = command.NewCreateAccountHandler(a.accounts, a.tenancy, hasher, passwordPolicy(), now); err != nil {
		return nil, err
	}
	if a.signIn, err = command.NewSignInHandler(a.tenancy, hasher, m.Config.SessionTTL, m.Logger); err != nil {
		return nil, err
	}
	if a.changePwd, err = command.NewChangePasswordHandler(a.tenancy, a.accounts, hasher, passwordPolicy(), now); err != nil {
		return nil, err
	}
	m.wired = a
	return a, nil
}

// importing wires what the import wizard needs; only `serve` needs it, so
// only it asks for ROLLCALL_SECRET_KEY.
func (m *Main) importing(ctx context.Context) (*app, error) {
	a, err := m.app(ctx)
	if err != nil || a.wizard != nil {
		return a, err
	}
	if m.Config.SecretKey == "" {
		return nil, errors.New("ROLLCALL_SECRET_KEY is not set: it encrypts the uploaded files, which hold passwords. Make one with: openssl rand -base64 32")
	}
	key, err := vault.ParseKey(m.Config.SecretKey)
	if err != nil {
		return nil, err
	}
	a.csrfKey = key.Derive("csrf")
	files, err := vault.NewFileStore(m.Config.UploadDir, key)
	if err != nil {
		return nil, err
	}
	uploads := vault.Uploads{Store: files}
	secrets := postgres.NewImportSecrets(m.pool, key)
	readerOpts := spreadsheet.Options{}
	a.wizard, err = command.NewImportWizard(command.ImportWizardDeps{
		Imports: a.imports, Uploads: uploads, Secrets: secrets, Orgs: a.tenancy, Inspector: spreadsheet.Inspector{Options: readerOpts},
		Policy: passwordPolicy(), MaxUpload: m.Config.MaxUploadSize, Now: time.Now, Logger: m.Logger,
	})
	if err != nil {
		return nil, err
	}
	host := "localhost"
	if u, err := url.Parse(m.Config.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	a.jobs = &importjob.Runner{
		Pool: m.pool, Imports: a.imports, Tenancy: a.tenancy, Uploads: uploads, Secrets: secrets, Hasher: a.hasher,
		Policy: passwordPolicy(), Reader: readerOpts, Mail: mail.Outbox{Domain: host}, Logger: m.Logger,
		BatchSize: m.Config.CommitBatch, Now: time.Now,
	}
	if a.queries, err = query.NewQueries(postgres.NewReadModels(m.pool), a.imports, a.jobs); err != nil {
		return nil, err
	}
	if g := m.Config.Google; g.ClientID != "" {
		client := google.New(google.Config{ClientID: g.ClientID, ClientSecret: g.ClientSecret, AuthURL: g.AuthURL, TokenURL: g.TokenURL,
			APIURL: g.APIURL, RedirectURL: m.Config.PublicURL + "/api/v1/google/callback"})
		if a.classroom, err = command.NewClassroom(google.Adapter{Client: client}, postgres.NewGoogleConnections(m.pool, key), a.wizard, a.tenancy, m.Logger); err != nil {
			return nil, err
		}
	} else {
		m.Logger.Warn("GOOGLE_CLIENT_ID is unset: the Google Classroom import is off")
	}
	return a, nil
}

// api takes the pages because Google's redirect URI is an API route that
// browsers reach too.
func (a *app) api(m *Main, pages *web.Pages) (*rhttp.API, error) {
	return rhttp.NewAPI(rhttp.APIDeps{
		Logger: m.Logger, Logins: a.tenancy, SignIn: a.signIn, ChangePassword: a.changePwd, Reference: a.reference,
		Wizard: a.wizard, Queries: a.queries, SampleFile: spreadsheet.Sample(), MaxUpload: m.Config.MaxUploadSize,
		Classroom: a.classroom, AfterGoogle: m.Config.PublicURL + "/imports/new/classroom",
		BrowserCallback: http.HandlerFunc(pages.GoogleCallback),
	})
}

// mailSender is SMTP when SMTP_URL is set, else a logger that says loudly
// that nothing is sent.
func (m *Main) mailSender() (mail.Sender, error) {
	if m.Config.SMTPURL == "" {
		m.Logger.Warn("SMTP_URL is unset: emails are NOT sent, only logged (recipient and subject)")
		return mail.LogSender{Logger: m.Logger}, nil
	}
	return mail.NewSMTPSender(m.Config.SMTPURL, m.Config.MailFrom)
}

func (a *app) pages(m *Main) (*web.Pages, error) {
	return web.New(web.Deps{Logger: m.Logger, Logins: a.tenancy, SignIn: a.signIn, ChangePassword: a.changePwd,
		Queries: a.queries, Wizard: a.wizard, Reference: a.reference, Classroom: a.classroom, SampleFile: spreadsheet.Sample(),
		MaxUpload: m.Config.MaxUploadSize, CSRFKey: a.csrfKey, SecureCookies: strings.HasPrefix(m.Config.PublicURL, "https://")})
}
