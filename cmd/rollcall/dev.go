package main

import (
	"context"
	"fmt"
	"html/template"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/google/googletest"
	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
)

// Development mode (DEV_MODE=true, set by `make run`): an empty database
// gets a demo organization and system administrator, and without SMTP_URL
// the emails go to an in-process catcher shown at /dev/mail.

const (
	demoEmail = "admin@demo.school"
	// demoPassword is published in the README; the account must change it
	// at first sign-in, so it is not a secret of anyone's.
	demoPassword = "rollcall-demo"
)

// devMailCatcher starts the catcher and points the mailer at it.
func (m *Main) devMailCatcher() (*mailtest.Server, error) {
	if !m.Config.DevMode || m.Config.SMTPURL != "" {
		return nil, nil
	}
	catcher, err := mailtest.Listen("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	m.Config.SMTPURL = catcher.URL()
	return catcher, nil
}

// devGoogle starts the fake Google, clearly labelled, when development mode
// has no real Google client: the Classroom import can be tried with no
// Google account.
func (m *Main) devGoogle() (*googletest.Server, error) {
	if !m.Config.DevMode || m.Config.Google.ClientID != "" {
		return nil, nil
	}
	opts := googletest.DevFixture(demoEmail)
	fake := googletest.New(opts)
	m.Config.Google = GoogleConfig{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
		AuthURL: fake.AuthURL(), TokenURL: fake.TokenURL(), APIURL: fake.APIURL()}
	m.Logger.Warn("FAKE GOOGLE (development): GOOGLE_CLIENT_ID is unset, so Google Classroom is a fake at " + fake.URL)
	return fake, nil
}

// seedDemo creates the demo organization when there is none.
func (m *Main) seedDemo(ctx context.Context, a *app) error {
	if !m.Config.DevMode {
		return nil
	}
	var orgs int
	if err := m.pool.QueryRow(ctx, `SELECT count(*) FROM organizations`).Scan(&orgs); err != nil {
		return err
	}
	if orgs > 0 {
		return nil
	}
	orgID, err := a.reference.CreateOrganization(ctx, "Demo School")
	if err != nil {
		return err
	}
	if _, err := m.pool.Exec(ctx, `UPDATE organizations SET welcome_email_enabled = true WHERE id = $1`, orgID); err != nil {
		return err
	}
	_, err = a.create.Handle(ctx, command.CreateAccount{
		OrgID: orgID, Email: demoEmail, FirstName: "Demo", LastName: "Administrator", Role: "system_admin",
		Password: secret.New(demoPassword), MustChangePassword: true,
	})
	return err
}

func (m *Main) devBanner(addr string, catcher *mailtest.Server) {
	base := m.Config.PublicURL
	fmt.Fprintf(m.Stdout, `
  Rollcall is running (development mode) — %s
  Sign in:  %s  with the demo password %q (you will choose a new one).
  Emails:   %s
  API:      %s/api/v1/openapi.yaml

`, addr, demoEmail, demoPassword, mailWhere(base, catcher), base)
}

func mailWhere(base string, catcher *mailtest.Server) string {
	if catcher == nil {
		return "sent through SMTP_URL"
	}
	return base + "/dev/mail (caught in-process, nothing leaves this machine)"
}

var mailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Caught emails — Rollcall development</title>
<style>body{font:15px system-ui;margin:2rem;max-width:60rem} article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0} pre{white-space:pre-wrap}</style>
<h1>Caught emails <small>(development only)</small></h1>
<p>{{len .}} email(s), newest last.</p>
{{range .}}<article><strong>{{.Subject}}</strong><br>To: {{range .To}}{{.}} {{end}}<pre>{{.Body}}</pre></article>{{end}}
</html>`))

func registerDevMail(r *mux.Router, catcher *mailtest.Server) {
	if catcher == nil {
		return
	}
	r.HandleFunc("/dev/mail", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = mailPage.Execute(w, catcher.Messages())
	}).Methods(http.MethodGet)
}
