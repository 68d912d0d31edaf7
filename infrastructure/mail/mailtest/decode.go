package mailtest

import (
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
)

// decodeHeader turns MIME encoded words back into text, or leaves the value
// as it came when it does not decode.
func decodeHeader(v string) string {
	s, err := new(mime.WordDecoder).DecodeHeader(v)
	if err != nil {
		return v
	}
	return s
}

// decodeBody returns the text/plain and text/html bodies of a single-part or
// multipart message, with their transfer encodings undone.
func decodeBody(h mail.Header, body io.Reader) (text, html string) {
	mediaType, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mediaType = "text/plain"
	}
	if !strings.HasPrefix(mediaType, "multipart/") {
		s := readPart(h.Get("Content-Transfer-Encoding"), body)
		if mediaType == "text/html" {
			return "", s
		}
		return s, ""
	}
	mr := multipart.NewReader(body, params["boundary"])
	for {
		// NextPart undoes quoted-printable itself (and drops the header).
		part, err := mr.NextPart()
		if err != nil {
			return text, html
		}
		partType, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		s := readPart(textproto.MIMEHeader(part.Header).Get("Content-Transfer-Encoding"), part)
		switch partType {
		case "text/plain":
			text = s
		case "text/html":
			html = s
		}
	}
}

func readPart(encoding string, r io.Reader) string {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	}
	b, _ := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
