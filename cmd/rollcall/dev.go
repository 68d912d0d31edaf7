//go:build dev

package main

import (
	"context"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"os"

	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/google/googletest"
	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
)

// The development build (`go build -tags dev`, what `make run` builds as
// bin/rollcall-dev) adds DEV_MODE=true: an empty database gets a demo
// organization and system administrator, without SMTP_URL the emails go to
// an in-process catcher shown at /dev/mail, and without GOOGLE_CLIENT_ID a
// fake Google stands in. The production build has none of this code
// (nodev.go), so none of the fakes, nor `testing` and `net/http/httptest`
// that they bring, can be switched on by an environment variable.

const (
	demoEmail = "admin@demo.school"
	// demoPassword is published in the README; the account must change it
	// at first sign-in, so it is not a secret of anyone's.
	demoPassword = "rollcall-demo"
	// devAddr is where development mode listens without ADDR.
	devAddr = "127.0.0.1:8080"
)

// enterDevMode checks that development mode stays on this machine: /dev/mail
// shows every email, password links included, to anyone who can reach it,
// and the demo administrator's password is in the README.
func enterDevMode(c *Config) error {
	if os.Getenv("ADDR") == "" {
		c.Addr = devAddr
	}
	host, _, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return fmt.Errorf("ADDR=%q is not host:port: %w", c.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("DEV_MODE=true listens on loopback only, and ADDR=%q is not a loopback address: development mode serves every "+
			"caught email without sign-in at /dev/mail and has a demo administrator whose password is published. "+
			"Use ADDR=%s (the default in development mode), or run the production build without DEV_MODE", c.Addr, devAddr)
	}
	return nil
}

// devServices are the fakes of one `serve` in development mode.
type devServices struct {
	m       *Main
	catcher *mailtest.Server
	google  *googletest.Server
}

// startDev starts the mail catcher and the fake Google, when the
// configuration has no real ones, and points the configuration at them.
func (m *Main) startDev() (devMode, error) {
	if !m.Config.DevMode {
		return nil, nil
	}
	d := &devServices{m: m}
	if m.Config.SMTPURL == "" {
		catcher, err := mailtest.Listen("127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		d.catcher = catcher
		m.Config.SMTPURL = catcher.URL()
	}
	if m.Config.Google.ClientID == "" {
		opts := googletest.DevFixture(demoEmail)
		d.google = googletest.New(opts)
		m.Config.Google = GoogleConfig{ClientID: opts.ClientID, ClientSecret: opts.ClientSecret,
			AuthURL: d.google.AuthURL(), TokenURL: d.google.TokenURL(), APIURL: d.google.APIURL(), IssuerURL: d.google.IssuerURL()}
		m.Logger.Warn("FAKE GOOGLE (development): GOOGLE_CLIENT_ID is unset, so Google Classroom and Sign in with Google are a fake at " + d.google.URL)
	}
	return d, nil
}

func (d *devServices) close() {
	if d.catcher != nil {
		d.catcher.Close()
	}
	if d.google != nil {
		d.google.Close()
	}
}

// seed creates the demo organization when there is none.
func (d *devServices) seed(ctx context.Context, a *app) error {
	m := d.m
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

func (d *devServices) banner(addr string) {
	base := d.m.Config.PublicURL
	mail := "sent through SMTP_URL"
	if d.catcher != nil {
		mail = base + "/dev/mail (caught in-process, nothing leaves this machine)"
	}
	google := "the Google of GOOGLE_CLIENT_ID"
	if d.google != nil {
		google = "a fake; \"Sign in with Google\" signs in as " + demoEmail
	}
	fmt.Fprintf(d.m.Stdout, `
  Rollcall is running (development mode) — %s
  Sign in:  %s  with the demo password %q (you will choose a new one).
  Google:   %s
  Emails:   %s
  API:      %s/api/v1/openapi.yaml

`, addr, demoEmail, demoPassword, google, mail, base)
}

var mailPage = template.Must(template.New("mail").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>Caught emails — Rollcall development</title>
<style>body{font:15px system-ui;margin:2rem;max-width:60rem} article{border:1px solid #ccc;border-radius:6px;padding:1rem;margin:1rem 0} pre{white-space:pre-wrap}</style>
<h1>Caught emails <small>(development only)</small></h1>
<p>{{len .}} email(s), newest last.</p>
{{range .}}<article><strong>{{.Subject}}</strong><br>To: {{range .To}}{{.}} {{end}}<pre>{{.Body}}</pre></article>{{end}}
</html>`))

func (d *devServices) register(r *mux.Router) {
	if d.catcher == nil {
		return
	}
	r.HandleFunc("/dev/mail", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = mailPage.Execute(w, d.catcher.Messages())
	}).Methods(http.MethodGet)
}
