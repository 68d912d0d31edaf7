package mail

import (
	"bytes"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// buildMessage renders m as an RFC 5322 message with MIME bodies: UTF-8 text
// in quoted-printable (7-bit clean, so no relay needs 8BITMIME, and still
// readable in a raw dump), multipart/alternative when there is HTML, and a
// Q-encoded Subject.
func buildMessage(from *mail.Address, m Outgoing, date time.Time) ([]byte, error) {
	if err := checkAddress("recipient", m.To); err != nil {
		return nil, err
	}
	if err := checkHeaderValue("subject", m.Subject); err != nil {
		return nil, err
	}
	if err := checkHeaderValue("Message-ID", m.MessageID); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, ">") || !strings.Contains(m.MessageID, "@") {
		return nil, fmt.Errorf("mail: %q is not a Message-ID such as <id@host>", m.MessageID)
	}

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(fold(name + ": " + value)) }
	header("From", from.String())
	header("To", (&mail.Address{Address: m.To}).String())
	header("Subject", encodeSubject(m.Subject))
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", m.MessageID)
	header("MIME-Version", "1.0")
	// RFC 3834: an automatic message, so vacation responders stay quiet.
	header("Auto-Submitted", "auto-generated")

	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQuotedPrintable(&b, m.Text); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}

	var parts bytes.Buffer
	mw := multipart.NewWriter(&parts)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	// Plain text first: RFC 2046 orders alternatives from the simplest to the
	// richest, and readers show the last one they understand.
	for _, part := range []struct{ mediaType, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.mediaType + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		if err := writeQuotedPrintable(w, part.body); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	b.Write(parts.Bytes())
	return b.Bytes(), nil
}

// encodeSubject leaves a printable ASCII subject as it is, and writes any
// other as RFC 2047 Q-encoded words short enough that "Subject: " and one
// word fit in the 76 characters RFC 2047 allows a line holding encoded words
// (mime.QEncoding makes words of up to 75, too long for the first line).
// Words end between characters, never inside one.
func encodeSubject(subject string) string {
	plain := !strings.Contains(subject, "=?")
	for _, r := range subject {
		plain = plain && r >= ' ' && r <= '~'
	}
	if plain {
		return subject
	}
	const prefix, suffix, maxWord = "=?utf-8?q?", "?=", 76 - len("Subject: ")
	var words []string
	var word strings.Builder
	for _, r := range subject {
		var enc string
		switch {
		case r == ' ':
			enc = "_"
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("!*+-/", r)):
			enc = string(r)
		default:
			var buf [utf8.UTFMax]byte
			for _, c := range buf[:utf8.EncodeRune(buf[:], r)] {
				enc += fmt.Sprintf("=%02X", c)
			}
		}
		if word.Len() > 0 && len(prefix)+word.Len()+len(enc)+len(suffix) > maxWord {
			words = append(words, prefix+word.String()+suffix)
			word.Reset()
		}
		word.WriteString(enc)
	}
	words = append(words, prefix+word.String()+suffix)
	return strings.Join(words, " ")
}

// writeQuotedPrintable writes body with CRLF line ends, the only ones SMTP
// knows, whatever the caller used.
func writeQuotedPrintable(w interface{ Write([]byte) (int, error) }, body string) error {
	body = strings.ReplaceAll(body, "\r\n", "\n")
	body = strings.ReplaceAll(body, "\r", "\n")
	if !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	qp := quotedprintable.NewWriter(w)
	if _, err := qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n"))); err != nil {
		return err
	}
	return qp.Close()
}

// fold writes one header line, folded before spaces so lines stay within the
// 78 characters RFC 5322 recommends, whenever the words allow it. Unfolding (removing the CRLFs) restores the
// value exactly.
func fold(line string) string {
	const limit = 78
	var b strings.Builder
	width := 0
	for i, word := range strings.Split(line, " ") {
		switch {
		case i == 0:
		// Never right after "Name:", whose value would start on a line of
		// its own, and never twice in a row.
		case i > 1 && width+1+len(word) > limit && width > 1:
			b.WriteString("\r\n")
			width = 0
			fallthrough
		default:
			b.WriteByte(' ')
			width++
		}
		b.WriteString(word)
		width += len(word)
	}
	b.WriteString("\r\n")
	return b.String()
}
