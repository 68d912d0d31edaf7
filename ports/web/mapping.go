package web

import (
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// mappingColumn is one column of the file on the mapping page.
type mappingColumn struct {
	Header   string
	Chosen   string
	Examples []string
}

type mappingView struct {
	wizardView
	Columns []mappingColumn
	Fields  []string
	// Preview are the first rows as a table, for files whose columns are
	// easier to recognise side by side.
	Preview []query.PreviewRow
	// Format is how the file was read, with the choices to read it again.
	Format fileFormatView
	// UnknownGroups warns of a Group column whose values are not groups.
	UnknownGroups *query.UnknownGroups
	IsSystemAdmin bool
	Notice        string
}

func (p *Pages) mappingView(r *http.Request, imp query.Import, chosen map[string]string) (mappingView, error) {
	preview, err := p.queries.Preview(r.Context(), sessionFrom(r).actor, imp.ID, previewRows)
	if err != nil {
		return mappingView{}, err
	}
	if chosen == nil {
		chosen = imp.Mapping
	}
	if len(chosen) == 0 {
		chosen = imp.SuggestedMapping
	}
	v := mappingView{wizardView: wizardView{Import: imp}, Preview: preview,
		Fields: []string{importsession.FieldFirstName, importsession.FieldLastName, importsession.FieldFullName, importsession.FieldEmail,
			importsession.FieldPassword, importsession.FieldTag}}
	if sessionFrom(r).actor.Role.IsSystemAdmin() {
		v.Fields = append(v.Fields, importsession.FieldGroup)
	}
	for i, h := range imp.File.Headers {
		c := mappingColumn{Header: h, Chosen: chosen[h]}
		if c.Chosen == "" {
			c.Chosen = importsession.FieldIgnore
		}
		for _, row := range preview {
			if i < len(row.Cells) && row.Cells[i] != "" {
				c.Examples = append(c.Examples, row.Cells[i])
			}
		}
		v.Columns = append(v.Columns, c)
	}
	v.IsSystemAdmin, v.Notice = sessionFrom(r).actor.Role.IsSystemAdmin(), r.URL.Query().Get("notice")
	v.Format = formatView(imp)
	for h, f := range chosen {
		if f == importsession.FieldGroup && v.IsSystemAdmin {
			unknown, err := p.queries.UnknownGroups(r.Context(), sessionFrom(r).actor, imp.ID, h)
			if err != nil {
				return mappingView{}, err
			}
			if len(unknown.Values) > 0 {
				v.UnknownGroups = &unknown
			}
		}
	}
	return v, nil
}

func (p *Pages) mappingPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if imp.Source == importsession.SourceClassroom || !imp.State.Open() {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	v, err := p.mappingView(r, imp, nil)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "mapping", http.StatusOK, view{Title: "Match the columns", Data: v})
}

func (p *Pages) mappingSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	columns := map[string]string{}
	for i, h := range imp.File.Headers {
		// Columns are posted by position: headers may hold any character.
		columns[h] = r.PostFormValue("column-" + strconv.Itoa(i))
	}
	updated, err := p.wizard.MapColumns(r.Context(), command.MapColumns{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID, Columns: columns})
	if err != nil {
		v, viewErr := p.mappingView(r, imp, columns)
		if viewErr != nil {
			p.fail(w, r, viewErr)
			return
		}
		p.render(w, r, "mapping", rhttp.StatusOf(err), view{Title: "Match the columns", Error: p.message(err), Data: v})
		return
	}
	http.Redirect(w, r, stepPath(query.ImportFrom(updated)), http.StatusSeeOther)
}
