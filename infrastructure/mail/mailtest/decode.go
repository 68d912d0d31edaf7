package mailtest

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

type mimeDecoder struct{ mime.WordDecoder }

func (d *mimeDecoder) header(v string) string {
	s, err := d.DecodeHeader(v)
	if err != nil {
		return v
	}
	return s
}

func (d *mimeDecoder) body(m *mail.Message) string {
	var r io.Reader = m.Body
	if strings.EqualFold(m.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
		r = quotedprintable.NewReader(r)
	}
	b, _ := io.ReadAll(r)
	return strings.ReplaceAll(string(b), "\r\n", "\n")
}
