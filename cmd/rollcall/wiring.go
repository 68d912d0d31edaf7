package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/domain/throttle"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/google"
	"github.com/rollcall/rollcall/infrastructure/logincards"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/metrics"
	"github.com/rollcall/rollcall/infrastructure/password"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
	"github.com/rollcall/rollcall/infrastructure/spreadsheet"
	"github.com/rollcall/rollcall/infrastructure/vault"
	rhttp "github.com/rollcall/rollcall/ports/http"
	"github.com/rollcall/rollcall/ports/web"
)

// app is the application layer wired to its adapters.
type app struct {
	store      *postgres.EventStore
	tenancy    *postgres.Tenancy
	accounts   *postgres.Accounts
	imports    *postgres.Imports
	hasher     *password.Hasher
	reference  *command.ReferenceHandler
	create     *command.CreateAccountHandler
	signIn     *command.SignInHandler
	signOut    *command.SignOutHandler
	changePwd  *command.ChangePasswordHandler
	wizard     *command.ImportWizard
	loginCards *command.LoginCardsHandler
	queries    *query.Queries
	jobs       *importing.Runner
	// metrics is nil unless METRICS_ADDR is set.
	metrics   *metrics.Metrics
	classroom *command.Classroom
	// gate is every sign-in's throttle and session; googleSignIn is nil
	// without GOOGLE_CLIENT_ID.
	gate         *command.SignInGate
	googleSignIn *command.GoogleSignInHandler
	csrfKey      []byte
	// yourAccount serves Your account: the person's own account, changing
	// one's email and an administrator's change of another's.
	yourAccount rhttp.YourAccount
}

// newCodec knows every event type of the domain.
func newCodec() *eventcodec.Registry { return eventcodec.Rollcall() }

// undeliveredWelcomes puts a welcome email given up for good on its
// account's audit trail; the account id is in the outbox key
// ("welcome:<account-id>"). Other emails (an import's summary) have no
// stream to tell.
type undeliveredWelcomes struct{ store *postgres.EventStore }

var _ mail.UndeliverableLog = undeliveredWelcomes{}

// undeliveredNamespace derives the event's id from the outbox row and the
// attempt, so a retried transaction appends it once.
var undeliveredNamespace = uuid.MustParse("3c1f5e0a-8d4b-4f7e-9b1a-6e2d7c9a0f42")

func (u undeliveredWelcomes) Undeliverable(ctx context.Context, tx pgx.Tx, f mail.Undelivered) error {
	rest, ok := strings.CutPrefix(f.IdempotencyKey, "welcome:")
	if !ok {
		return nil
	}
	accountID, err := uuid.Parse(rest)
	if err != nil {
		return nil
	}
	meta := eventstore.Metadata{OrgID: f.OrgID.String()}
	if f.ImportID != uuid.Nil {
		meta.CorrelationID = f.ImportID.String()
	}
	id := uuid.NewSHA1(undeliveredNamespace, []byte(f.OutboxID.String()+":"+strconv.Itoa(f.Attempt)))
	return u.store.AppendTx(ctx, tx, eventstore.Append{StreamID: account.StreamID(accountID), ExpectedVersion: eventstore.AnyVersion,
		Events: []eventstore.Event{{ID: id, Data: account.WelcomeEmailUndelivered{
			AccountID: accountID, ImportID: f.ImportID, Reason: f.Reason, FailedAt: f.FailedAt}, Metadata: meta}}})
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
	m.wired = a
	return a, nil
}

// signing wires sign-in, sign-out and the password change; only `serve`
// needs them (making the sign-in handler costs a hash).
func (m *Main) signing(ctx context.Context) (*app, error) {
	a, err := m.app(ctx)
	if err != nil || a.signIn != nil {
		return a, err
	}
	gate, err := command.NewSignInGate(postgres.NewSignInCounters(m.pool), a.accounts, throttle.SignInRules(), m.Config.SessionTTL, m.Logger)
	if err != nil {
		return nil, err
	}
	a.gate = gate
	if a.signIn, err = command.NewSignInHandler(a.tenancy, a.hasher, gate, m.Logger); err != nil {
		return nil, err
	}
	if a.signOut, err = command.NewSignOutHandler(a.tenancy); err != nil {
		return nil, err
	}
	if a.changePwd, err = command.NewChangePasswordHandler(a.tenancy, a.accounts, a.hasher, a.gate, passwordPolicy(), a.tenancy, time.Now); err != nil {
		return nil, err
	}
	return a, nil
}

// importing wires what the import wizard needs; only `serve` needs it, so
// only it asks for ROLLCALL_SECRET_KEY.
func (m *Main) importing(ctx context.Context) (*app, error) {
	a, err := m.signing(ctx)
	if err != nil || a.wizard != nil {
		return a, err
	}
	key, err := m.secretKey()
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
		Earlier: postgres.NewReadModels(m.pool, newCodec()),
		Policy:  passwordPolicy(), MaxUpload: m.Config.MaxUploadSize, ChunkRows: m.Config.ChunkRows, UndoWindow: m.Config.UndoWindow, Now: time.Now, Logger: m.Logger,
	})
	if err != nil {
		return nil, err
	}
	host := "localhost"
	if u, err := url.Parse(m.Config.PublicURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	rowFiles := spreadsheet.Uploads{Store: uploads, Options: readerOpts}
	work, err := postgres.NewUnitOfWork(m.pool, a.store, a.imports, mail.Outbox{Domain: host})
	if err != nil {
		return nil, err
	}
	var observer importing.Observer
	if m.Config.MetricsAddr != "" {
		groups := []string{importing.SagaGroup}
		for _, p := range projection.All() {
			groups = append(groups, postgres.ProjectionGroup(p))
		}
		a.metrics = metrics.New(metrics.Options{Pool: m.pool, ConsumerGroups: groups, Hashing: a.hasher, Logger: m.Logger})
		observer = a.metrics
	}
	a.jobs, err = importing.NewRunner(importing.Deps{
		Imports: a.imports, Orgs: a.tenancy, Work: work, Holders: a.accounts, Rows: postgres.NewImportRows(m.pool), Files: rowFiles,
		Sealer: vault.RowPasswords{Key: key}, Hasher: a.hasher, DefaultPasswords: secrets,
		AccountList: postgres.NewAccountList(m.pool, postgres.ProjectionGroup(projection.Accounts{})), Uploads: uploads,
		Classroom: postgres.NewClassroomHistory(m.pool),
		Policy:    passwordPolicy(), Logger: m.Logger, Now: time.Now, BatchRows: m.Config.CommitBatch, PublicURL: m.Config.PublicURL,
		Observer: observer,
	})
	if err != nil {
		return nil, err
	}
	if a.loginCards, err = command.NewLoginCardsHandler(a.imports, postgres.NewLoginCards(m.pool, key), logincards.Printer{}, a.tenancy,
		m.Config.PublicURL, time.Now); err != nil {
		return nil, err
	}
	if a.queries, err = query.NewQueries(postgres.NewReadModels(m.pool, newCodec()), rowFiles, a.tenancy, mail.Report{Pool: m.pool}); err != nil {
		return nil, err
	}
	if err := a.wireYourAccount(m, mail.Outbox{Domain: host}); err != nil {
		return nil, err
	}
	if g := m.Config.Google; g.ClientID != "" {
		client := google.New(google.Config{ClientID: g.ClientID, ClientSecret: g.ClientSecret, AuthURL: g.AuthURL, TokenURL: g.TokenURL,
			APIURL: g.APIURL, RedirectURL: m.Config.PublicURL + "/api/v1/google/callback"})
		if a.classroom, err = command.NewClassroom(google.Adapter{Client: client}, postgres.NewGoogleConnections(m.pool, key), postgres.NewClassroomHistory(m.pool), a.wizard, a.tenancy, m.Logger); err != nil {
			return nil, err
		}
		openID := google.NewOpenID(google.OpenIDConfig{ClientID: g.ClientID, ClientSecret: g.ClientSecret, IssuerURL: g.IssuerURL,
			RedirectURL: m.Config.PublicURL + "/sign-in/google/callback"})
		if a.googleSignIn, err = command.NewGoogleSignInHandler(openID, vault.GoogleSignInStates{Key: key}, a.tenancy, a.tenancy, a.gate, m.Logger, time.Now); err != nil {
			return nil, err
		}
	} else {
		m.Logger.Warn("GOOGLE_CLIENT_ID is unset: the Google Classroom import and Sign in with Google are off")
	}
	return a, nil
}

// secretKey is ROLLCALL_SECRET_KEY, with ROLLCALL_SECRET_KEY_PREVIOUS during
// a rotation.
func (m *Main) secretKey() (vault.Key, error) {
	if m.Config.SecretKey == "" {
		return vault.Key{}, errors.New("ROLLCALL_SECRET_KEY is not set: it encrypts the uploaded files, which hold passwords. Make one with: openssl rand -base64 32")
	}
	return vault.ParseKeys(m.Config.SecretKey, m.Config.SecretKeyPrevious)
}

// api takes the pages because Google's redirect URI is an API route that
// browsers reach too.
func (a *app) api(m *Main, pages *web.Pages) (*rhttp.API, error) {
	return rhttp.NewAPI(rhttp.APIDeps{
		Logger: m.Logger, Logins: a.tenancy, SignIn: a.signIn, SignOut: a.signOut, ChangePassword: a.changePwd, Reference: a.reference,
		Wizard: a.wizard, LoginCards: a.loginCards, Queries: a.queries, Rows: a.jobs, SampleFile: spreadsheet.Sample(), Upload: m.uploadLimits(), TrustedProxies: m.Config.TrustedProxies,
		Classroom: a.classroom, AfterGoogle: m.Config.PublicURL + "/imports/new/classroom",
		BrowserCallback: http.HandlerFunc(pages.GoogleCallback), YourAccount: a.yourAccount,
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
	return web.New(web.Deps{Logger: m.Logger, Logins: a.tenancy, SignIn: a.signIn, SignOut: a.signOut, ChangePassword: a.changePwd,
		Queries: a.queries, Wizard: a.wizard, LoginCards: a.loginCards, Reference: a.reference, Rows: a.jobs, Classroom: a.classroom, GoogleSignIn: a.googleSignIn, SampleFile: spreadsheet.Sample(),
		Upload: m.uploadLimits(), TrustedProxies: m.Config.TrustedProxies, PublicURL: m.Config.PublicURL,
		CSRFKey: a.csrfKey, SecureCookies: strings.HasPrefix(m.Config.PublicURL, "https://"), YourAccount: a.yourAccount})
}

func (m *Main) uploadLimits() rhttp.UploadLimits {
	return rhttp.UploadLimits{MaxBytes: m.Config.MaxUploadSize, Stall: m.Config.UploadStall, Total: m.Config.UploadTimeout}
}

// wireYourAccount wires Your account: its query and the email change, whose
// mails go through the outbox in the change's own transactions.
func (a *app) wireYourAccount(m *Main, outbox mail.Outbox) error {
	changes, err := postgres.NewEmailChanges(m.pool, a.store, outbox)
	if err != nil {
		return err
	}
	y := &a.yourAccount
	if y.Query, err = query.NewYourAccountQuery(postgres.NewReadModels(m.pool, newCodec())); err != nil {
		return err
	}
	if y.RequestEmail, err = command.NewRequestEmailChangeHandler(a.accounts, changes, a.tenancy, a.hasher, a.gate, m.Config.PublicURL, time.Now); err != nil {
		return err
	}
	y.ConfirmEmail, err = command.NewConfirmEmailChangeHandler(a.accounts, changes, time.Now)
	return err
}
