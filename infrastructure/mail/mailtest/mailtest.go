// Package mailtest runs a real SMTP server in-process, on real TCP, that
// keeps what it receives: for the tests of the whole project, and as the
// catcher the development server starts so that a developer can read the
// emails Rollcall sends. It is github.com/emersion/go-smtp, the maintained Go
// SMTP server library, so the client under test speaks to the same protocol
// code a production relay would answer with.
package mailtest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Received is one message the server accepted.
type Received struct {
	From string   // the envelope sender (MAIL FROM)
	To   []string // the envelope recipients (RCPT TO)
	Data []byte   // the message as transmitted
	// Header is the parsed header; nil if Data did not parse as a message.
	Header    mail.Header
	MessageID string
	Subject   string // decoded from its MIME encoded words
	Text      string // the text/plain body, decoded, with \n line ends
	HTML      string // the text/html alternative, if any
	// Body is Text, under the name the first callers used.
	Body string
	// User is the name the client authenticated as, if it did.
	User string
	// TLS reports whether the message came over an encrypted connection.
	TLS bool
	// At is when the server accepted it.
	At time.Time
}

// Options configure a server beyond the plain catcher.
type Options struct {
	// TLSConfig, when set, makes the server offer STARTTLS, or, with
	// ImplicitTLS, speak TLS from the first byte (smtps).
	TLSConfig   *tls.Config
	ImplicitTLS bool
	// Username and Password, when set, are required before MAIL FROM.
	// Otherwise AUTH PLAIN accepts any credentials.
	Username, Password string
}

// Server is a running SMTP server.
type Server struct {
	opts     Options
	srv      *smtp.Server
	listener net.Listener
	served   chan struct{}
	close    sync.Once

	mu         sync.Mutex
	received   []Received
	arrived    chan struct{} // closed at the next arrival, then replaced
	failures   []*smtp.SMTPError
	refuseFor  time.Duration // armed by RefuseFor, started by the next MAIL FROM
	refuseFrom time.Time
	refuseTo   time.Time // MAIL FROM answers 421 until then
	rejected   map[string]bool
	refusals   int
	accepted   int
	open       map[*trackedConn]struct{}
}

// Listen starts a plain server on addr ("127.0.0.1:0" for any free port);
// Close stops it.
func Listen(addr string) (*Server, error) { return ListenWith(addr, Options{}) }

// ListenWith starts a server with opts on addr.
func ListenWith(addr string, opts Options) (*Server, error) {
	if opts.ImplicitTLS && opts.TLSConfig == nil {
		return nil, errors.New("mailtest: ImplicitTLS needs a TLSConfig")
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, listener: l, served: make(chan struct{}), arrived: make(chan struct{}), open: map[*trackedConn]struct{}{}}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "localhost"
	// AUTH over plain TCP to a server on this machine reveals nothing.
	s.srv.AllowInsecureAuth = true
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.ErrorLog = log.New(io.Discard, "", 0)
	if opts.TLSConfig != nil {
		s.srv.TLSConfig = opts.TLSConfig
	}
	l = trackingListener{Listener: l, s: s}
	if opts.ImplicitTLS {
		l = tls.NewListener(l, opts.TLSConfig)
	}
	go func() {
		defer close(s.served)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

// Start runs a plain server for the duration of the test.
func Start(t testing.TB) *Server { return StartWith(t, Options{}) }

// StartWith runs a server with opts for the duration of the test.
func StartWith(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := ListenWith("127.0.0.1:0", opts)
	if err != nil {
		t.Fatalf("mailtest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is an SMTP_URL that reaches the server.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.Addr(), RawQuery: "starttls=off"}
	switch {
	case s.opts.ImplicitTLS:
		u.Scheme, u.RawQuery = "smtps", ""
	case s.opts.TLSConfig != nil:
		u.RawQuery = "starttls=required"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// Close stops the server, closing its connections, and waits for it.
func (s *Server) Close() error {
	var err error
	s.close.Do(func() {
		err = s.srv.Close()
		<-s.served
	})
	return err
}

// FailNext makes the next n deliveries fail at the end of DATA with 451, a
// temporary refusal.
func (s *Server) FailNext(n int) {
	s.failWith(n, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "mailtest: try again later"})
}

// RejectNext makes the next n deliveries fail at the end of DATA with 554, a
// permanent refusal.
func (s *Server) RejectNext(n int) {
	s.failWith(n, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "mailtest: message refused"})
}

// RefuseNextWith makes the next n deliveries fail at the end of DATA with the
// given reply, e.g. 554 and [3]int{5, 7, 1} for a policy refusal.
func (s *Server) RefuseNextWith(n, code int, enhanced [3]int, message string) {
	s.failWith(n, &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode(enhanced), Message: message})
}

// RefuseFor makes the server answer every MAIL FROM with 421 ("service not
// available, closing the channel") for d from the next MAIL FROM on, then
// accept again: a relay that starts throttling its client when mail comes,
// or restarts. RefusingSince says when the refusal began.
func (s *Server) RefuseFor(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuseFor, s.refuseFrom, s.refuseTo = d, time.Time{}, time.Time{}
}

// RefusingSince is when the refusal armed by RefuseFor began (zero until
// the first MAIL FROM after it).
func (s *Server) RefusingSince() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuseFrom
}

// RejectRecipients makes RCPT TO answer 550 5.1.1 ("no such mailbox") for
// each of addrs, every time: a permanent refusal of one recipient.
func (s *Server) RejectRecipients(addrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rejected == nil {
		s.rejected = map[string]bool{}
	}
	for _, a := range addrs {
		s.rejected[strings.ToLower(a)] = true
	}
}

func (s *Server) rejects(addr string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejected[strings.ToLower(addr)]
}

// Refusals is the number of MAIL FROM commands refused under RefuseFor.
func (s *Server) Refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

// refuseNow reports whether a MAIL FROM must be refused, and counts it.
func (s *Server) refuseNow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.refuseFor > 0 {
		s.refuseFrom, s.refuseTo, s.refuseFor = now, now.Add(s.refuseFor), 0
	}
	if now.Before(s.refuseTo) {
		s.refusals++
		return true
	}
	return false
}

func (s *Server) failWith(n int, reply *smtp.SMTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, reply)
	}
}

// Connections is the number of connections accepted so far: a client that
// reuses its connection keeps it at 1.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accepted
}

// DropConnections closes every open client connection, as a relay does with
// idle ones, and keeps serving.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := make([]*trackedConn, 0, len(s.open))
	for c := range s.open {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// Messages returns what was accepted so far, oldest first.
func (s *Server) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.received...)
}

// WaitFor waits until at least n messages have been accepted and returns
// them all; the test fails if that takes longer than timeout.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Received {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		// Copy only once enough arrived: a copy at every arrival made
		// waiting for 20,000 emails quadratic.
		s.mu.Lock()
		got, arrived := len(s.received), s.arrived
		if got >= n {
			msgs := append([]Received(nil), s.received...)
			s.mu.Unlock()
			return msgs
		}
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("mailtest: %d email(s) arrived within %s, want %d", got, timeout, n)
		}
	}
}

// deliver decides the fate of one message: a queued failure, or kept.
func (s *Server) deliver(rec Received) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		reply := s.failures[0]
		s.failures = s.failures[1:]
		return reply
	}
	rec.At = time.Now()
	s.received = append(s.received, rec)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

// trackingListener counts and remembers connections, for Connections and
// DropConnections.
type trackingListener struct {
	net.Listener
	s *Server
}

func (l trackingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &trackedConn{Conn: conn, s: l.s}
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	l.s.accepted++
	l.s.open[c] = struct{}{}
	return c, nil
}

type trackedConn struct {
	net.Conn
	s *Server
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.open, c)
	c.s.mu.Unlock()
	return c.Conn.Close()
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, conn: c}, nil
}

// session is one client's conversation; go-smtp calls it from one goroutine.
// A new one starts after STARTTLS.
type session struct {
	s    *Server
	conn *smtp.Conn
	user string
	from string
	to   []string
}

var _ smtp.AuthSession = (*session)(nil)

func (x *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if x.s.opts.Username != "" && (username != x.s.opts.Username || password != x.s.opts.Password) {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "mailtest: bad credentials"}
		}
		x.user = username
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.Username != "" && x.user == "" {
		return smtp.ErrAuthRequired
	}
	if x.s.refuseNow() {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "mailtest: too many messages, try again later"}
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if x.s.rejects(to) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailtest: no such mailbox here"}
	}
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	_, encrypted := x.conn.TLSConnectionState()
	rec := Received{From: x.from, To: append([]string(nil), x.to...), Data: data, User: x.user, TLS: encrypted}
	if m, err := mail.ReadMessage(bytes.NewReader(data)); err == nil {
		rec.Header = m.Header
		rec.MessageID = m.Header.Get("Message-ID")
		rec.Subject = decodeHeader(m.Header.Get("Subject"))
		rec.Text, rec.HTML = decodeBody(m.Header, m.Body)
		rec.Body = rec.Text
	}
	return x.s.deliver(rec)
}

func (x *session) Reset() { x.from, x.to = "", nil }

func (x *session) Logout() error { return nil }
