package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/application/query"
)

// correctRow saves a row fixed on the review page and shows the page again,
// saying how the row came out of the check.
func (p *Pages) correctRow(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	row, err := strconv.Atoi(mux.Vars(r)["row"])
	if err != nil || row < 1 {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	field := func(name string) *string {
		if _, sent := r.PostForm[name]; !sent {
			return nil
		}
		v := r.PostFormValue(name)
		return &v
	}
	cmd := importing.CorrectRow{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID, Row: row,
		Email: field("email"), FirstName: field("first_name"), LastName: field("last_name"), Group: field("group")}
	if tags := field("tags"); tags != nil {
		list := strings.Split(*tags, ",")
		cmd.Tags = &list
	}
	back := url.Values{}
	for _, k := range []string{"status", "page"} {
		if v := r.PostFormValue("back_" + k); v != "" {
			back.Set(k, v)
		}
	}
	corrected, err := p.rows.CorrectRow(r.Context(), cmd)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	back.Set("notice", "corrected")
	back.Set("row", strconv.Itoa(row))
	back.Set("now", corrected.Row.Status)
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/verification?"+back.Encode()+"#row-"+strconv.Itoa(row), http.StatusSeeOther)
}
