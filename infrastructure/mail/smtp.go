package mail

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// SMTPSender sends through an SMTP relay given as a URL:
// smtp://user:pass@host:587?starttls=required|opportunistic|off, or
// smtps://host:465 for TLS from the start. net/smtp is frozen but complete
// for a relay client, so the standard library is enough here.
type SMTPSender struct {
	addr     string
	host     string
	auth     smtp.Auth
	implicit bool
	starttls string
	from     string
	timeout  time.Duration
	// idle keeps open connections for the next message: a handshake per
	// email made 20,000 welcome emails slower than the commit itself.
	idle chan *session
}

// NewSMTPSender parses SMTP_URL; from is MAIL_FROM.
func NewSMTPSender(rawURL, from string) (*SMTPSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
		return nil, fmt.Errorf("SMTP_URL %q is not an smtp:// or smtps:// URL such as smtp://user:pass@mail.example.org:587", rawURL)
	}
	if from == "" {
		return nil, fmt.Errorf("MAIL_FROM is empty: set the address Rollcall's emails come from")
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = map[string]string{"smtp": "25", "smtps": "465"}[u.Scheme]
	}
	s := &SMTPSender{addr: net.JoinHostPort(host, port), host: host, implicit: u.Scheme == "smtps",
		starttls: u.Query().Get("starttls"), from: from, timeout: 30 * time.Second, idle: make(chan *session, 8)}
	if s.starttls == "" {
		s.starttls = "opportunistic"
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		s.auth = smtp.PlainAuth("", u.User.Username(), pw, host)
	}
	return s, nil
}

// Send delivers one message, on an idle connection when there is one.
func (s *SMTPSender) Send(ctx context.Context, m Outgoing) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var c *session
	select {
	case c = <-s.idle:
		// A connection the server closed meanwhile fails RSET; dial anew.
		if err := c.client.Reset(); err != nil {
			c.client.Close()
			c = nil
		}
	default:
	}
	if c == nil {
		var err error
		if c, err = s.dial(ctx); err != nil {
			return err
		}
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.conn.SetDeadline(deadline)
	}
	if err := s.deliver(c.client, m); err != nil {
		c.client.Close()
		return err
	}
	select {
	case s.idle <- c:
	default:
		_ = c.client.Quit()
	}
	return nil
}

// session is an open, authenticated SMTP connection.
type session struct {
	client *smtp.Client
	conn   net.Conn
}

func (s *SMTPSender) dial(ctx context.Context) (*session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, err
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if s.implicit {
		conn = tls.Client(conn, &tls.Config{ServerName: s.host})
	}
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		conn.Close()
		return nil, classify(err)
	}
	fail := func(err error) (*session, error) {
		c.Close()
		return nil, err
	}
	if !s.implicit && s.starttls != "off" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: s.host}); err != nil {
				return fail(classify(err))
			}
		} else if s.starttls == "required" {
			return fail(&PermanentError{fmt.Errorf("the SMTP server at %s does not offer STARTTLS", s.addr)})
		}
	}
	if s.auth != nil {
		if err := c.Auth(s.auth); err != nil {
			return fail(classify(err))
		}
	}
	return &session{client: c, conn: conn}, nil
}

func (s *SMTPSender) deliver(c *smtp.Client, m Outgoing) error {
	if err := c.Mail(s.from); err != nil {
		return classify(err)
	}
	if err := c.Rcpt(m.To); err != nil {
		return classify(err)
	}
	w, err := c.Data()
	if err != nil {
		return classify(err)
	}
	if _, err := w.Write(Format(s.from, m)); err != nil {
		return classify(err)
	}
	return classify(w.Close())
}

// classify marks SMTP 5xx replies as permanent.
func classify(err error) error {
	if err == nil {
		return nil
	}
	if tp, ok := err.(*textproto.Error); ok && tp.Code >= 500 {
		return &PermanentError{err}
	}
	return err
}

// Format builds the MIME message: UTF-8 text in quoted-printable, an
// encoded subject, and the outbox's stable Message-ID.
func Format(from string, m Outgoing) []byte {
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", from)
	h("To", m.To)
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", time.Now().UTC().Format(time.RFC1123Z))
	h("Message-ID", m.MessageID)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	_, _ = qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n")))
	_ = qp.Close()
	return b.Bytes()
}

// LogSender is for development without SMTP_URL: it logs who would get
// which email, never the body.
type LogSender struct{ Logger *slog.Logger }

// Send logs the message's envelope.
func (l LogSender) Send(_ context.Context, m Outgoing) error {
	l.Logger.Info("mail not sent: SMTP_URL is unset", "to", m.To, "subject", m.Subject, "message_id", m.MessageID)
	return nil
}
