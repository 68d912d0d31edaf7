package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
)

const testMailFrom = "Rollcall <rollcall@school.test>"

func newTestSender(t *testing.T, url string) *SMTPSender {
	t.Helper()
	s, err := NewSMTPSender(url, testMailFrom)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func outgoing(n int) Outgoing {
	return Outgoing{MessageID: MessageID(fmt.Sprint("test:", n), "school.test"), To: fmt.Sprintf("person%d@example.org", n),
		Subject: "Bienvenue, Zoë", Text: "Bonjour Zoë,\n.\nune ligne qui n'est qu'un point, au-dessus."}
}

func TestParseSMTPURL(t *testing.T) {
	t.Parallel()
	good := []struct {
		url, addr, startTLS, user string
		implicit                  bool
	}{
		{"smtp://relay.example.org", "relay.example.org:25", StartTLSRequired, "", false},
		{"smtp://u%40x:p%2Fw@relay.example.org:587", "relay.example.org:587", StartTLSRequired, "u@x", false},
		{"smtp://relay.example.org:2525?starttls=opportunistic", "relay.example.org:2525", StartTLSOpportunistic, "", false},
		{"smtp://127.0.0.1:1025?starttls=off", "127.0.0.1:1025", StartTLSOff, "", false},
		{"smtps://u:p@relay.example.org", "relay.example.org:465", StartTLSRequired, "u", true},
		{"smtp://[::1]:25?starttls=off", "[::1]:25", StartTLSOff, "", false},
	}
	for _, c := range good {
		s, err := NewSMTPSender(c.url, testMailFrom)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		user := ""
		if s.auth != nil {
			user = s.auth.username
		}
		if s.addr != c.addr || s.startTLS != c.startTLS || user != c.user || s.implicitTLS != c.implicit {
			t.Errorf("%s: addr %s starttls %s user %q implicit %v", c.url, s.addr, s.startTLS, user, s.implicitTLS)
		}
	}
	if s, _ := NewSMTPSender("smtp://u:p%2Fw@h", testMailFrom); s.auth.password.Reveal() != "p/w" {
		t.Errorf("password not unescaped")
	}
	for _, bad := range []string{
		"http://relay.example.org", "smtp://", "relay.example.org:25", "smtp://u:s3cret@h?starttls=maybe",
		"smtps://u:s3cret@h?starttls=off", "smtp://u:s3cret@h?startls=off", "smtp://u:s3cret@h?starttls=off&starttls=required",
	} {
		_, err := NewSMTPSender(bad, testMailFrom)
		if err == nil {
			t.Errorf("%s: accepted", bad)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: the error shows the password: %v", bad, err)
		}
	}
	if _, err := NewSMTPSender("smtp://h", "not an address"); err == nil {
		t.Error("a MAIL_FROM that is no address was accepted")
	}
}

func TestSenderNeverPrintsThePassword(t *testing.T) {
	t.Parallel()
	s := newTestSender(t, "smtp://user:s3cret@relay.example.org:587")
	for _, printed := range []string{fmt.Sprint(s), fmt.Sprintf("%+v", *s), fmt.Sprintf("%#v", *s)} {
		if strings.Contains(printed, "s3cret") {
			t.Fatalf("printed: %s", printed)
		}
	}
}

func TestSMTPSenderDeliversAndReusesItsConnection(t *testing.T) {
	t.Parallel()
	server := mailtest.Start(t)
	sender := newTestSender(t, server.URL())
	ctx := context.Background()
	for i := range 3 {
		if err := sender.Send(ctx, outgoing(i)); err != nil {
			t.Fatal(err)
		}
	}
	msgs := server.WaitFor(t, 3, 10*time.Second)
	for i, m := range msgs {
		want := outgoing(i)
		if m.From != "rollcall@school.test" || len(m.To) != 1 || m.To[0] != want.To {
			t.Errorf("envelope %s → %v", m.From, m.To)
		}
		if m.MessageID != want.MessageID || m.Subject != "Bienvenue, Zoë" || m.Text != want.Text+"\n" {
			t.Errorf("message %d: %s %q %q", i, m.MessageID, m.Subject, m.Text)
		}
		if got := m.Header.Get("From"); !strings.Contains(got, "<rollcall@school.test>") {
			t.Errorf("From header %q", got)
		}
	}
	if n := server.Connections(); n != 1 {
		t.Errorf("%d connections for 3 messages, want 1", n)
	}

	// A relay drops idle connections: the next message notices (RSET
	// fails) and connects again.
	server.DropConnections()
	if err := sender.Send(ctx, outgoing(3)); err != nil {
		t.Fatalf("after the server closed the connection: %v", err)
	}
	server.WaitFor(t, 4, 10*time.Second)
	if n := server.Connections(); n != 2 {
		t.Errorf("%d connections, want 2", n)
	}
}

func TestSMTPSenderClassifiesRefusals(t *testing.T) {
	t.Parallel()
	server := mailtest.Start(t)
	sender := newTestSender(t, server.URL())
	ctx := context.Background()

	server.FailNext(1)
	if err := sender.Send(ctx, outgoing(1)); err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "451") {
		t.Errorf("4xx: %v (permanent %v), want a temporary error", err, IsPermanent(err))
	}
	server.RejectNext(1)
	if err := sender.Send(ctx, outgoing(2)); err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "554") {
		t.Errorf("5xx: %v (permanent %v), want a permanent error", err, IsPermanent(err))
	}
	// Refusals of the client rather than the message stay temporary.
	server.RefuseNextWith(1, 554, [3]int{5, 7, 1}, "relay access denied")
	if err := sender.Send(ctx, outgoing(5)); err == nil || IsPermanent(err) {
		t.Errorf("5.7.1: %v (permanent %v), want a temporary error", err, IsPermanent(err))
	}
	bad := outgoing(3)
	bad.Subject = "Hi\r\nBcc: victim@example.org"
	if err := sender.Send(ctx, bad); !IsPermanent(err) {
		t.Errorf("header injection: %v, want a permanent error", err)
	}
	if err := sender.Send(ctx, outgoing(4)); err != nil {
		t.Fatal(err)
	}
	if msgs := server.WaitFor(t, 1, 10*time.Second); len(msgs) != 1 || msgs[0].MessageID != outgoing(4).MessageID {
		t.Errorf("received %d messages", len(msgs))
	}
	// A refusal leaves the connection usable: RSET, and on with it.
	if n := server.Connections(); n != 1 {
		t.Errorf("%d connections, want 1", n)
	}
}

func TestSMTPSenderConnectionProblemsAreTemporary(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	// Nothing listens on a port just released.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	if err := newTestSender(t, "smtp://"+addr+"?starttls=off").Send(ctx, outgoing(1)); err == nil || IsPermanent(err) {
		t.Errorf("no server: %v, want a temporary error", err)
	}

	// STARTTLS is required by default, and this server has none.
	plain := mailtest.Start(t)
	err = newTestSender(t, "smtp://"+plain.Addr()).Send(ctx, outgoing(2))
	if err == nil || IsPermanent(err) || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("STARTTLS missing: %v, want a temporary error naming STARTTLS", err)
	}

	// Wrong credentials are the configuration's fault, not the message's.
	authed := mailtest.StartWith(t, mailtest.Options{Username: "rollcall", Password: "right"})
	err = newTestSender(t, "smtp://rollcall:wrong@"+authed.Addr()+"?starttls=off").Send(ctx, outgoing(3))
	if err == nil || IsPermanent(err) {
		t.Errorf("bad credentials: %v, want a temporary error", err)
	}
	// Nor are missing credentials (a refused MAIL FROM).
	err = newTestSender(t, "smtp://"+authed.Addr()+"?starttls=off").Send(ctx, outgoing(3))
	if err == nil || IsPermanent(err) {
		t.Errorf("no credentials: %v, want a temporary error", err)
	}
	if len(plain.Messages())+len(authed.Messages()) != 0 {
		t.Error("a message got through")
	}

	// A cancelled context stops the send.
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := newTestSender(t, plain.URL()).Send(cancelled, outgoing(4)); err == nil || IsPermanent(err) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestSMTPSenderAuthenticates(t *testing.T) {
	t.Parallel()
	server := mailtest.StartWith(t, mailtest.Options{Username: "rollcall", Password: "p@ss/word"})
	if err := newTestSender(t, server.URL()).Send(context.Background(), outgoing(1)); err != nil {
		t.Fatal(err)
	}
	if m := server.WaitFor(t, 1, 10*time.Second)[0]; m.User != "rollcall" {
		t.Errorf("authenticated as %q", m.User)
	}
}

func TestSMTPSenderTLS(t *testing.T) {
	t.Parallel()
	serverTLS, roots := selfSignedTLS(t)
	cases := []struct {
		name    string
		opts    mailtest.Options
		url     func(*mailtest.Server) string
		wantTLS bool
	}{
		{"STARTTLS required", mailtest.Options{TLSConfig: serverTLS, Username: "u", Password: "p"},
			func(s *mailtest.Server) string { return s.URL() }, true},
		{"implicit TLS", mailtest.Options{TLSConfig: serverTLS, ImplicitTLS: true},
			func(s *mailtest.Server) string { return s.URL() }, true},
		{"opportunistic, offered", mailtest.Options{TLSConfig: serverTLS},
			func(s *mailtest.Server) string { return "smtp://" + s.Addr() + "?starttls=opportunistic" }, true},
		{"opportunistic, not offered", mailtest.Options{},
			func(s *mailtest.Server) string { return "smtp://" + s.Addr() + "?starttls=opportunistic" }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			server := mailtest.StartWith(t, c.opts)
			sender := newTestSender(t, c.url(server))
			sender.tlsConfig.RootCAs = roots
			for i := range 2 {
				if err := sender.Send(context.Background(), outgoing(i)); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range server.WaitFor(t, 2, 10*time.Second) {
				if m.TLS != c.wantTLS || m.User != c.opts.Username {
					t.Errorf("TLS %v user %q, want %v %q", m.TLS, m.User, c.wantTLS, c.opts.Username)
				}
			}
		})
	}

	// The certificate is checked: a relay nobody vouches for gets nothing.
	server := mailtest.StartWith(t, mailtest.Options{TLSConfig: serverTLS})
	if err := newTestSender(t, server.URL()).Send(context.Background(), outgoing(1)); err == nil || IsPermanent(err) {
		t.Errorf("untrusted certificate: %v, want a temporary error", err)
	}
}

func TestLogSenderLogsNoBody(t *testing.T) {
	t.Parallel()
	var logged bytes.Buffer
	sender := LogSender{Logger: slog.New(slog.NewTextHandler(&logged, nil))}
	m := outgoing(1)
	m.Text = "the body names Zoë's first sign-in"
	if err := sender.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	out := logged.String()
	if !strings.Contains(out, "mail not sent: SMTP_URL is unset") || !strings.Contains(out, m.To) || !strings.Contains(out, "Bienvenue") {
		t.Errorf("log: %s", out)
	}
	if strings.Contains(out, "first sign-in") {
		t.Errorf("the body was logged: %s", out)
	}
}

// selfSignedTLS returns a server certificate for 127.0.0.1 and the pool
// that trusts it.
func selfSignedTLS(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	template := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12}, roots
}

func TestSendWhenReadyHoldsTheEndOfTheMessage(t *testing.T) {
	t.Parallel()
	server := mailtest.Start(t)
	s := newTestSender(t, server.URL())
	ctx := context.Background()

	// ready runs after the relay has everything but the end: nothing is
	// accepted yet.
	var acceptedBeforeReady int
	err := s.SendWhenReady(ctx, outgoing(1), func() error {
		acceptedBeforeReady = len(server.Messages())
		return nil
	})
	if err != nil || acceptedBeforeReady != 0 {
		t.Fatalf("send: %v; %d accepted before ready", err, acceptedBeforeReady)
	}
	server.WaitFor(t, 1, 10*time.Second)

	// ready fails: the message is abandoned and never accepted.
	held := errors.New("the database is down")
	err = s.SendWhenReady(ctx, outgoing(2), func() error { return held })
	var notOffered *NotOfferedError
	if !errors.As(err, &notOffered) || !errors.Is(err, held) {
		t.Fatalf("err = %v, want a NotOfferedError wrapping the cause", err)
	}
	// The next message goes through (on a new connection).
	if err := s.Send(ctx, outgoing(3)); err != nil {
		t.Fatal(err)
	}
	msgs := server.WaitFor(t, 2, 10*time.Second)
	if len(msgs) != 2 || msgs[0].MessageID != outgoing(1).MessageID || msgs[1].MessageID != outgoing(3).MessageID {
		t.Errorf("delivered %d: %v", len(msgs), msgs)
	}
}
