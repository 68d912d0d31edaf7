package mail

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

var testFrom = &mail.Address{Name: "Rollcall — Lycée", Address: "rollcall@school.test"}

func parse(t *testing.T, raw []byte) *mail.Message {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, raw)
	}
	return m
}

func decodeSubject(t *testing.T, m *mail.Message) string {
	t.Helper()
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPlainMessageParsesAndRoundTrips(t *testing.T) {
	t.Parallel()
	date := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	out := Outgoing{MessageID: "<abc@school.test>", To: "zoe@example.org", Subject: "Bienvenue, Zoë",
		Text: "Bonjour Zoë,\nvotre compte est prêt.\n.\nLigne très longue " + strings.Repeat("é", 80)}
	raw, err := buildMessage(testFrom, out, date)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\r\n"), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line %d is %d characters long: %q", i, len(line), line)
		}
	}
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Error("a bare LF in the message: SMTP needs CRLF")
	}
	m := parse(t, raw)
	if got := decodeSubject(t, m); got != "Bienvenue, Zoë" {
		t.Errorf("Subject = %q", got)
	}
	from, err := m.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != testFrom.Name || from[0].Address != testFrom.Address {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := m.Header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "zoe@example.org" {
		t.Errorf("To = %v, %v", to, err)
	}
	if got, err := m.Header.Date(); err != nil || !got.Equal(date) {
		t.Errorf("Date = %v, %v", got, err)
	}
	for name, want := range map[string]string{
		"Message-Id": "<abc@school.test>", "Mime-Version": "1.0", "Content-Transfer-Encoding": "quoted-printable",
		"Auto-Submitted": "auto-generated",
	} {
		if got := m.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "text/plain" || params["charset"] != "utf-8" {
		t.Errorf("Content-Type = %q", m.Header.Get("Content-Type"))
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.ReplaceAll(out.Text, "\n", "\r\n") + "\r\n"; string(body) != want {
		t.Errorf("body = %q, want %q", body, want)
	}
}

func TestHTMLMakesMultipartAlternative(t *testing.T) {
	t.Parallel()
	out := Outgoing{MessageID: "<h@school.test>", To: "zoe@example.org", Subject: "Bienvenue, Zoë",
		Text: "Bonjour Zoë", HTML: "<p>Bonjour <b>Zoë</b></p>"}
	raw, err := buildMessage(testFrom, out, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	m := parse(t, raw)
	mediaType, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type = %q", m.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var types, bodies []string
	for {
		part, err := mr.NextPart() // undoes quoted-printable
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		types = append(types, part.Header.Get("Content-Type"))
		bodies = append(bodies, strings.TrimSuffix(string(b), "\r\n"))
	}
	wantTypes := []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}
	wantBodies := []string{out.Text, out.HTML}
	if strings.Join(types, "|") != strings.Join(wantTypes, "|") || strings.Join(bodies, "|") != strings.Join(wantBodies, "|") {
		t.Errorf("parts %q %q, want %q %q", types, bodies, wantTypes, wantBodies)
	}
}

func TestLongSubjectsFoldAndRoundTrip(t *testing.T) {
	t.Parallel()
	for _, subject := range []string{
		"Votre nouveau compte au Lycée " + strings.Repeat("Zoë-Élodie ", 12),
		"Your new account at" + strings.Repeat(" Springfield Elementary", 6),
		"A subject that looks encoded =?utf-8?q?x?= but is not",
	} {
		raw, err := buildMessage(testFrom, Outgoing{MessageID: "<s@school.test>", To: "a@example.org", Subject: subject, Text: "x"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		header, _, _ := strings.Cut(string(raw), "\r\n\r\n")
		for _, line := range strings.Split(header, "\r\n") {
			if len(line) > 76 {
				t.Errorf("header line of %d characters: %q", len(line), line)
			}
		}
		if got := decodeSubject(t, parse(t, raw)); got != subject {
			t.Errorf("subject %q came back as %q", subject, got)
		}
	}
}

func TestHeaderInjectionIsRefused(t *testing.T) {
	t.Parallel()
	ok := Outgoing{MessageID: "<i@school.test>", To: "zoe@example.org", Subject: "Hello", Text: "x"}
	cases := map[string]func(*Outgoing){
		"CRLF in subject":     func(o *Outgoing) { o.Subject = "Hello\r\nBcc: victim@example.org" },
		"LF in subject":       func(o *Outgoing) { o.Subject = "Hello\nBcc: victim@example.org" },
		"CRLF in recipient":   func(o *Outgoing) { o.To = "zoe@example.org\r\nBcc: victim@example.org" },
		"two recipients":      func(o *Outgoing) { o.To = "zoe@example.org, victim@example.org" },
		"display name":        func(o *Outgoing) { o.To = "Zoe <zoe@example.org>" },
		"not an address":      func(o *Outgoing) { o.To = "zoe" },
		"CRLF in Message-ID":  func(o *Outgoing) { o.MessageID = "<i@school.test>\r\nBcc: victim@example.org" },
		"malformed MessageID": func(o *Outgoing) { o.MessageID = "i-school.test" },
	}
	for name, change := range cases {
		out := ok
		change(&out)
		if raw, err := buildMessage(testFrom, out, time.Now()); err == nil {
			t.Errorf("%s: built\n%s", name, raw)
		}
	}
	if _, err := buildMessage(testFrom, ok, time.Now()); err != nil {
		t.Errorf("the valid message: %v", err)
	}
}

func TestMessageIDIsStableAndValid(t *testing.T) {
	t.Parallel()
	a, b := MessageID("welcome:1", "school.test"), MessageID("welcome:1", "school.test")
	if a != b || a == MessageID("welcome:2", "school.test") {
		t.Fatalf("MessageID not a function of the key: %s %s", a, b)
	}
	h := mail.Header{"Message-Id": {a}}
	if ids, err := h.AddressList("Message-Id"); err != nil || len(ids) != 1 || !strings.HasSuffix(ids[0].Address, "@school.test") {
		// A Message-ID has the syntax of an angle address: the parser checks it.
		t.Errorf("Message-ID %s does not parse: %v %v", a, ids, err)
	}
	if strings.Contains(a, "welcome") {
		t.Errorf("Message-ID %s shows the key", a)
	}
}
