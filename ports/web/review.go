package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// verificationRow is a row with its problems placed on the cells they
// concern; problems about fields the table does not show stay with the row.
type verificationRow struct {
	query.Row
	ByField map[string][]query.Problem
	Other   []query.Problem
	// Changes are what a changed row changes, by the column they show in.
	Changes map[string]query.Change
}

// Changing reports whether the row changes field. The template cannot ask
// the map: a missing Change is a zero struct, and a struct is always true
// in a template, which showed "Password will be replaced" on new rows and
// hid the default tags.
func (v verificationRow) Changing(field string) bool {
	_, ok := v.Changes[field]
	return ok
}

// shownFields are the verification table's columns.
var shownFields = map[string]bool{"first_name": true, "last_name": true, "email": true, "group": true, "tags": true}

type filterTab struct {
	Status, Label string
	Count         int
	Current       bool
}

type verificationView struct {
	wizardView
	IsSystemAdmin bool
	// GroupColumn: the file has a group column, so a row's group can be fixed.
	GroupColumn bool
	Status      string
	Filters     []filterTab
	Page        query.RowsPage
	Pages       int
	Rows        []verificationRow
	Notice      string
	// Corrected says how a row fixed on this page came out of the check.
	CorrectedRow, CorrectedNow string
	// Confirm is set when the commit was refused for changing too many
	// existing accounts: the figures to confirm.
	Confirm *thresholdView
}

type thresholdView struct{ Changed, Percent, Accounts, Deactivated int }

// PageURL is the link to another page of the same filter.
func (v verificationView) PageURL(page int) string {
	q := url.Values{"page": {strconv.Itoa(page)}}
	if v.Status != "" {
		q.Set("status", v.Status)
	}
	return "/imports/" + v.Import.ID.String() + "/verification?" + q.Encode()
}

// PagesLeft is how many pages are still to review.
func (v verificationView) PagesLeft() int {
	return v.Import.Verification.Pages - len(v.Import.Verification.ReviewedPages)
}

func (p *Pages) verificationPage(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if imp.State != importsession.StateValidated {
		http.Redirect(w, r, stepPath(imp), http.StatusSeeOther)
		return
	}
	status := r.URL.Query().Get("status")
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if page < 1 {
		page = 1
		if status == "" {
			// Resume at the first page not reviewed yet.
			for page <= imp.Verification.Pages && imp.Verification.Reviewed(page) {
				page++
			}
			page = min(page, max(imp.Verification.Pages, 1))
		}
	}
	rows, err := p.queries.Rows(r.Context(), sessionFrom(r).actor, imp.ID, status, page)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := verificationView{wizardView: wizardView{Import: imp}, IsSystemAdmin: sessionFrom(r).actor.Role.IsSystemAdmin(), Status: status, Page: rows,
		GroupColumn: slices.Contains(slices.Collect(maps.Values(imp.Mapping)), importsession.FieldGroup),
		Pages:       max(1, (rows.Total+rows.PageSize-1)/rows.PageSize), Notice: r.URL.Query().Get("notice"),
		CorrectedRow: r.URL.Query().Get("row"), CorrectedNow: r.URL.Query().Get("now")}
	if n, err := strconv.Atoi(r.URL.Query().Get("confirm")); err == nil && n > 0 {
		percent, _ := strconv.Atoi(r.URL.Query().Get("percent"))
		accounts, _ := strconv.Atoi(r.URL.Query().Get("accounts"))
		deactivated, _ := strconv.Atoi(r.URL.Query().Get("deactivated"))
		v.Confirm = &thresholdView{Changed: n, Percent: percent, Accounts: accounts, Deactivated: deactivated}
	}
	c := imp.Counts
	for _, f := range []filterTab{{"", "All rows", c.New + c.Existing + c.Invalid, false}, {"new", "New", c.New, false},
		{"changed", "Changed", c.Changed, false}, {"unchanged", "Unchanged", c.Unchanged, false}, {"invalid", "Invalid", c.Invalid, false}} {
		f.Current = f.Status == status
		v.Filters = append(v.Filters, f)
	}
	for _, row := range rows.Rows {
		vr := verificationRow{Row: row, ByField: map[string][]query.Problem{}, Changes: map[string]query.Change{}}
		for _, ch := range row.Changes {
			vr.Changes[ch.Field] = ch
		}
		for _, pr := range row.Problems {
			field := pr.Field
			switch field {
			case importsession.FieldTag:
				field = "tags"
			case importsession.FieldFullName:
				// The table shows the full name split; its problem is the
				// first name's as much as the last name's.
				field = importsession.FieldFirstName
			}
			if shownFields[field] {
				vr.ByField[field] = append(vr.ByField[field], pr)
			} else {
				vr.Other = append(vr.Other, pr)
			}
		}
		v.Rows = append(v.Rows, vr)
	}
	p.render(w, r, "verification", http.StatusOK, view{Title: "Review the rows", Data: v})
}

// verificationSubmit records a reviewed page (then shows the next one not
// reviewed) or that the review is skipped.
func (p *Pages) verificationSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	cmd := command.Verify{Actor: sessionFrom(r).actor, CorrelationID: uuid.NewString(), ImportID: imp.ID, Skip: r.PostFormValue("skip") == "true"}
	if !cmd.Skip {
		cmd.Page, _ = strconv.Atoi(r.PostFormValue("page"))
	}
	updated, err := p.wizard.Verify(r.Context(), cmd)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	next := "/imports/" + imp.ID.String() + "/verification"
	if v := query.ImportFrom(updated).Verification; v.Done() && !cmd.Skip {
		next += "?notice=reviewed&page=" + strconv.Itoa(cmd.Page)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (p *Pages) existingSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	policy := importsession.ExistingPolicy{UpdatePassword: r.PostFormValue("update_password") == "true",
		UpdateGroup: r.PostFormValue("update_group") == "true", UpdateTags: r.PostFormValue("update_tags") == "true",
		UpdateNames: r.PostFormValue("update_names") == "true"}
	if _, err := p.wizard.ChooseExistingPolicy(r.Context(), command.ChooseExistingPolicy{Actor: sessionFrom(r).actor,
		CorrelationID: uuid.NewString(), ImportID: imp.ID, Policy: policy}); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/verification?notice=existing", http.StatusSeeOther)
}

// departedSubmit records whether the commit deactivates the students who
// left the re-synced class.
func (p *Pages) departedSubmit(w http.ResponseWriter, r *http.Request) {
	imp, ok := p.load(w, r)
	if !ok {
		return
	}
	if _, err := p.wizard.ChooseDeactivateDeparted(r.Context(), command.ChooseDeactivateDeparted{Actor: sessionFrom(r).actor,
		CorrelationID: uuid.NewString(), ImportID: imp.ID, Deactivate: r.PostFormValue("deactivate_departed") == "true"}); err != nil {
		p.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/imports/"+imp.ID.String()+"/verification?notice=departed", http.StatusSeeOther)
}

func (p *Pages) rejected(w http.ResponseWriter, r *http.Request) {
	if imp, ok := p.load(w, r); ok {
		rhttp.ServeRejected(w, r, p.queries, p.logger, sessionFrom(r).actor, imp.ID, func(err error) { p.fail(w, r, err) })
	}
}
