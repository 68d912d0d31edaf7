package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/rollcall/rollcall/domain/secret"
)

// STARTTLS policies of an smtp:// URL (?starttls=…).
const (
	// StartTLSRequired refuses to send over a connection the server would
	// not encrypt. The default: SMTP_URL usually carries a password.
	StartTLSRequired = "required"
	// StartTLSOpportunistic encrypts when the server offers it.
	StartTLSOpportunistic = "opportunistic"
	// StartTLSOff never encrypts: for a catcher or a relay on a trusted
	// network only.
	StartTLSOff = "off"
)

// SMTPSender sends through an SMTP relay named by a URL (SMTP_URL):
//
//	smtp://user:pass@host:587?starttls=required|opportunistic|off  (default required, port 25)
//	smtps://user:pass@host:465                                     (TLS from the first byte)
//
// The client is github.com/emersion/go-smtp with github.com/emersion/go-sasl:
// the test server is go-smtp already, net/smtp is frozen, and go-smtp reports
// replies as *smtp.SMTPError with their codes, which is how a 5xx (never
// retry) is told from a 4xx or a network error (retry later).
//
// Connections stay open between messages: a TLS handshake and an AUTH per
// email made 20,000 welcome emails slower than the commit that caused them.
// A connection taken back from the idle set is checked with RSET before use,
// and replaced when that fails (the server closed it meanwhile).
type SMTPSender struct {
	addr        string // host:port
	host        string // for TLS verification
	implicitTLS bool
	startTLS    string
	// auth is behind a pointer because fmt prints an unexported field's
	// value without calling its methods, so secret.Secret's redaction would
	// not apply in a %v of the sender; a pointer prints as an address.
	auth      *credentials
	from      *mail.Address
	localName string
	timeout   time.Duration
	tlsConfig *tls.Config
	idle      chan *smtpConn
}

var _ ReadySender = (*SMTPSender)(nil)

const (
	// sendTimeout bounds one message: connecting, if needed, and the whole
	// SMTP transaction.
	sendTimeout = 30 * time.Second
	// maxIdle caps the open connections kept for the next messages. A
	// connection goes idle only after a message, so there are never more than
	// the dispatcher's workers (MAIL_WORKERS): the cap only has to be above
	// any sensible number of them, so each worker keeps its own.
	maxIdle = 64
)

// NewSMTPSender parses SMTP_URL; from is MAIL_FROM, a bare address or one
// with a display name ("Rollcall <rollcall@school.org>").
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	// The URL may hold a password: errors quote it only without it.
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("SMTP_URL is not an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.org:587")
	}
	shown := u.Redacted()
	sender, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("MAIL_FROM %q is not an address such as \"Rollcall <rollcall@school.org>\": %v", from, err)
	}
	s := &SMTPSender{
		host: u.Hostname(), implicitTLS: u.Scheme == "smtps", startTLS: StartTLSRequired,
		from: sender, localName: localName(), timeout: sendTimeout, idle: make(chan *smtpConn, maxIdle),
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"smtp": "25", "smtps": "465"}[u.Scheme]
	}
	s.addr = net.JoinHostPort(s.host, port)
	s.tlsConfig = &tls.Config{ServerName: s.host, MinVersion: tls.VersionTLS12}
	for key, values := range u.Query() {
		switch {
		case key == "starttls" && u.Scheme == "smtps":
			return nil, fmt.Errorf("SMTP_URL %s: starttls applies to smtp:// only; smtps:// is encrypted from the start", shown)
		case key == "starttls" && len(values) == 1 && (values[0] == StartTLSRequired || values[0] == StartTLSOpportunistic || values[0] == StartTLSOff):
			s.startTLS = values[0]
		case key == "starttls":
			return nil, fmt.Errorf("SMTP_URL %s: starttls must be required, opportunistic or off", shown)
		default:
			return nil, fmt.Errorf("SMTP_URL %s: unknown parameter %q (only starttls is understood)", shown, key)
		}
	}
	if u.User != nil && u.User.Username() != "" {
		pw, _ := u.User.Password()
		s.auth = &credentials{username: u.User.Username(), password: secret.New(pw)}
	}
	return s, nil
}

type credentials struct {
	username string
	password secret.Secret
}

// localName is the name this client gives in EHLO; some relays score
// "localhost" as suspicious, so the host's own name is used when it is a
// valid host name.
func localName() string {
	if h, err := os.Hostname(); err == nil && validDomain(h) {
		return h
	}
	return "localhost"
}

// smtpConn is an open, greeted (and when configured, encrypted and
// authenticated) connection.
type smtpConn struct {
	client *smtp.Client
	conn   net.Conn // beneath client, closed to interrupt it
}

func (c *smtpConn) close() { _ = c.client.Close() }

// Send delivers one message within the sender's timeout (or ctx, if sooner).
// A message that cannot be built and a 5xx reply about the recipient or the
// content are a *PermanentError (see classify). Anything else is
// temporary: a 4xx, a network error, and whatever refuses this client
// rather than this message (connecting, TLS, AUTH, MAIL FROM), which a fix
// of the configuration cures.
func (s *SMTPSender) Send(ctx context.Context, m Outgoing) error {
	return s.SendWhenReady(ctx, m, nil)
}

// SendWhenReady is Send that calls ready (when not nil) before the end of
// the message; if ready fails, the connection is closed without it, which
// makes the relay discard the message, and the error is a
// *NotOfferedError.
func (s *SMTPSender) SendWhenReady(ctx context.Context, m Outgoing, ready func() error) error {
	data, err := buildMessage(s.from, m, time.Now())
	if err != nil {
		return &PermanentError{Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	c, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	// go-smtp's client takes no context: closing the connection is what
	// interrupts it when ctx ends (a shutdown, or the timeout).
	stop := context.AfterFunc(ctx, func() { _ = c.conn.Close() })
	err = s.deliver(c, m.To, data, ready)
	if !stop() {
		c.close()
		var held *NotOfferedError
		switch {
		case err == nil:
			// The server accepted the message before the interruption.
			return nil
		case errors.As(err, &held):
			return err
		}
		return fmt.Errorf("mail: sending %s interrupted: %w (%v)", m.MessageID, ctx.Err(), err)
	}
	if err != nil && !reusableAfter(err) {
		c.close()
		return err
	}
	s.release(c)
	return err
}

// acquire returns an idle connection that still answers RSET, or a new one.
func (s *SMTPSender) acquire(ctx context.Context) (*smtpConn, error) {
	for {
		select {
		case c := <-s.idle:
			stop := context.AfterFunc(ctx, func() { _ = c.conn.Close() })
			err := c.client.Reset()
			if stop() && err == nil {
				return c, nil
			}
			c.close()
		default:
			return s.dial(ctx)
		}
	}
}

// release keeps c for the next message, or says goodbye when enough
// connections are idle already.
func (s *SMTPSender) release(c *smtpConn) {
	select {
	case s.idle <- c:
	default:
		if err := c.client.Quit(); err != nil {
			c.close()
		}
	}
}

// Close ends the idle connections. Call it once no Send is running.
func (s *SMTPSender) Close() error {
	for {
		select {
		case c := <-s.idle:
			if err := c.client.Quit(); err != nil {
				c.close()
			}
		default:
			return nil
		}
	}
}

func (s *SMTPSender) dial(ctx context.Context) (*smtpConn, error) {
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("mail: connect to the SMTP server at %s: %w", s.addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	c, err := s.open(ctx, conn)
	if !stop() && err == nil {
		c.close()
		err = ctx.Err()
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("mail: SMTP server at %s: %w", s.addr, err)
	}
	return c, nil
}

// open greets the server on conn, then encrypts and authenticates as
// configured. It returns the connection the client finally speaks on, which
// is not conn when opportunistic STARTTLS had to reconnect.
func (s *SMTPSender) open(ctx context.Context, conn net.Conn) (*smtpConn, error) {
	var client *smtp.Client
	switch {
	case s.implicitTLS:
		tlsConn := tls.Client(conn, s.tlsConfig)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		conn, client = tlsConn, smtp.NewClient(tlsConn)
		if err := client.Hello(s.localName); err != nil {
			client.Close()
			return nil, err
		}
	case s.startTLS == StartTLSRequired:
		var err error
		if client, err = s.startTLSClient(conn); err != nil {
			var certErr *tls.CertificateVerificationError
			if !errors.As(err, &certErr) {
				err = fmt.Errorf("%w; SMTP_URL requires it (?starttls=opportunistic or off suit only a relay on a trusted network)", err)
			}
			return nil, err
		}
	default:
		client = smtp.NewClient(conn)
		if err := client.Hello(s.localName); err != nil {
			client.Close()
			return nil, err
		}
		if offered, _ := client.Extension("STARTTLS"); offered && s.startTLS == StartTLSOpportunistic {
			// go-smtp starts TLS only on a connection nobody has spoken on
			// yet, so the probe's connection is replaced. That costs one
			// connection more per connection opened, and they are reused.
			_ = client.Quit()
			fresh, err := new(net.Dialer).DialContext(ctx, "tcp", s.addr)
			if err != nil {
				return nil, err
			}
			stop := context.AfterFunc(ctx, func() { _ = fresh.Close() })
			defer stop()
			if client, err = s.startTLSClient(fresh); err != nil {
				_ = fresh.Close()
				return nil, err
			}
			conn = fresh
		}
	}
	// go-smtp's defaults are RFC 5321's minutes per command; the context of
	// each message bounds the whole exchange anyway.
	client.CommandTimeout, client.SubmissionTimeout = s.timeout, s.timeout
	if s.auth != nil {
		if ok, _ := client.Extension("AUTH"); !ok {
			client.Close()
			return nil, errors.New("SMTP_URL has credentials but the server offers no AUTH")
		}
		if err := client.Auth(sasl.NewPlainClient("", s.auth.username, s.auth.password.Reveal())); err != nil {
			client.Close()
			return nil, fmt.Errorf("authenticate as %s: %w", s.auth.username, err)
		}
	}
	return &smtpConn{client: client, conn: conn}, nil
}

// startTLSClient greets the server on conn and upgrades it with STARTTLS.
func (s *SMTPSender) startTLSClient(conn net.Conn) (*smtp.Client, error) {
	client, err := smtp.NewClientStartTLS(conn, s.tlsConfig)
	if err != nil {
		return nil, fmt.Errorf("STARTTLS: %w", err)
	}
	// The greeting before TLS named this client "localhost"; the EHLO that
	// must follow STARTTLS can use the real name.
	if err := client.Hello(s.localName); err != nil {
		client.Close()
		return nil, err
	}
	return client, nil
}

// deliver runs one SMTP transaction; ready, if not nil, is called before the
// end of the data.
func (s *SMTPSender) deliver(c *smtpConn, to string, data []byte, ready func() error) error {
	if err := c.client.Mail(s.from.Address, nil); err != nil {
		// A refused sender is a refusal of every message: MAIL_FROM or the
		// account behind SMTP_URL is wrong, and fixing it must not find the
		// outbox already given up.
		return fmt.Errorf("mail: SMTP MAIL FROM: %w", err)
	}
	if err := c.client.Rcpt(to, nil); err != nil {
		return classify("RCPT TO", err)
	}
	w, err := c.client.Data()
	if err != nil {
		return classify("DATA", err)
	}
	if _, err := w.Write(data); err != nil {
		_ = w.Close()
		return classify("DATA", err)
	}
	if ready != nil {
		if err := ready(); err != nil {
			// No "." ever follows on this connection (the caller closes
			// it: a NotOfferedError is not reusable), so the relay drops
			// the message.
			return &NotOfferedError{Err: err}
		}
	}
	return classify("end of DATA", w.Close())
}

// classify makes a 5xx reply about the recipient or the content a
// *PermanentError. Two kinds of 5xx stay temporary because they refuse the
// client, not the message, and would fail the whole outbox at once: 530
// (authentication required) and the security/policy class x.7.x ("relay
// access denied" to a client that did not authenticate). A message refused
// for one of those still fails after MaxAttempts.
func classify(step string, err error) error {
	if err == nil {
		return nil
	}
	err = fmt.Errorf("mail: SMTP %s: %w", step, err)
	var reply *smtp.SMTPError
	if !errors.As(err, &reply) || reply.Code < 500 || reply.Code == 530 || reply.EnhancedCode[1] == 7 {
		return err
	}
	return &PermanentError{Err: err}
}

// reusableAfter reports whether the connection is still in step with the
// server after err: a reply other than 421 (the server is closing) leaves it
// so, and the next RSET clears the failed transaction.
func reusableAfter(err error) bool {
	var reply *smtp.SMTPError
	return errors.As(err, &reply) && reply.Code != 421
}

// LogSender is for development without SMTP_URL: it logs who would get
// which email and never the body, which may name the account.
type LogSender struct{ Logger *slog.Logger }

var _ Sender = LogSender{}

// Send logs the envelope and reports success, so the outbox drains.
func (l LogSender) Send(ctx context.Context, m Outgoing) error {
	l.Logger.WarnContext(ctx, "mail not sent: SMTP_URL is unset", "to", m.To, "subject", m.Subject, "message_id", m.MessageID)
	return nil
}
