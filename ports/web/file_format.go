package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
)

// choice is one option of a select.
type choice struct{ Value, Label string }

// fileFormatView says how a CSV was read, and offers to read it otherwise.
type fileFormatView struct {
	CSV                   bool
	Encoding, Delimiter   string
	Encodings, Delimiters []choice
}

var encodingLabels = map[string]string{"utf-8": "UTF-8", "utf-8-bom": "UTF-8 (with a byte-order mark)", "utf-16le": "UTF-16 (little-endian)",
	"utf-16be": "UTF-16 (big-endian)", "windows-1252": "Windows-1252 (Western European, older Excel)"}

var delimiterLabels = map[string]string{",": "Comma", ";": "Semicolon", "\t": "Tab"}

func formatView(imp query.Import) fileFormatView {
	v := fileFormatView{CSV: imp.Source == "csv", Encoding: imp.File.Encoding, Delimiter: imp.File.Delimiter}
	for _, e := range command.Encodings {
		v.Encodings = append(v.Encodings, choice{e, encodingLabels[e]})
	}
	for _, d := range command.Delimiters {
		v.Delimiters = append(v.Delimiters, choice{d, delimiterLabels[d]})
	}
	return v
}

// EncodingLabel and DelimiterLabel name what was detected.
func (v fileFormatView) EncodingLabel() string { return labelOr(encodingLabels, v.Encoding) }
func (v fileFormatView) DelimiterLabel() string {
	return strings.ToLower(labelOr(delimiterLabels, v.Delimiter))
}

func labelOr(labels map[string]string, v string) string {
	if l, ok := labels[v]; ok {
		return l
	}
	return v
}

// fileFormatSubmit reads the file again the way the importer chose.
func (p *Pages) fileFormatSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	_, err := p.wizard.RereadFile(r.Context(), command.RereadFile{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID,
		Encoding: r.PostFormValue("encoding"), Delimiter: r.PostFormValue("delimiter")})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/mapping?notice=reread", http.StatusSeeOther)
}

// createGroupsSubmit creates the groups a Group column names that the
// organization lacks (a system administrator's choice), then shows the
// mapping again.
func (p *Pages) createGroupsSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	created := 0
	for _, name := range r.PostForm["group"] {
		_, err := p.reference.CreateNamed(r.Context(), command.CreateNamed{Actor: sessionFrom(r).actor, Kind: command.Groups, Name: name})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		created++
	}
	q := url.Values{"notice": {fmt.Sprintf("groups-%d", created)}}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/mapping?"+q.Encode(), http.StatusSeeOther)
}
