package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/failure"
	"github.com/rollcall/rollcall/domain/tenancy"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// registerAccounts adds the accounts list, the imports history and the audit trails.
func (p *Pages) registerAccounts(r *mux.Router) {
	r.HandleFunc("/accounts", p.withSession(p.accountsPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/accounts/audit", p.withSession(p.accountAuditPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports", p.withSession(p.importsPage, false)).Methods(http.MethodGet)
	r.HandleFunc("/imports/{id}/audit", p.withSession(p.importAuditPage, false)).Methods(http.MethodGet)
}

// referenceNames turns the ids that accounts and events carry into the names
// people gave them: an auditor reads "7B", not a UUID.
type referenceNames struct {
	groupList, tagList    []command.Named
	groups, tags, presets map[uuid.UUID]string
	// imports holds the file names of the imports the reader may open.
	imports map[uuid.UUID]string
}

func (p *Pages) referenceNames(ctx context.Context, actor tenancy.Actor) (referenceNames, error) {
	n := referenceNames{imports: map[uuid.UUID]string{}}
	var presetList []command.Named
	for kind, dst := range map[command.ReferenceKind]*[]command.Named{command.Groups: &n.groupList, command.Tags: &n.tagList, command.Presets: &presetList} {
		var err error
		if *dst, err = p.reference.ListNamed(ctx, actor, kind); err != nil {
			return n, err
		}
	}
	n.groups, n.tags, n.presets = byID(n.groupList), byID(n.tagList), byID(presetList)
	imports, err := p.queries.ListImports(ctx, actor, false)
	if err != nil {
		return n, err
	}
	for _, imp := range imports {
		n.imports[imp.ID] = imp.File.Name
	}
	return n, nil
}

func byID(list []command.Named) map[uuid.UUID]string {
	out := make(map[uuid.UUID]string, len(list))
	for _, item := range list {
		out[item.ID] = item.Name
	}
	return out
}

// name is what one id is called; an id with no name (another
// organization's, or a record from before the name existed) is shown short
// rather than hidden, so the trail stays complete.
func name(names map[uuid.UUID]string, id uuid.UUID) string {
	if n, ok := names[id]; ok {
		return n
	}
	return "unknown (" + id.String()[:8] + ")"
}

func (n referenceNames) group(id uuid.UUID) string { return name(n.groups, id) }

func (n referenceNames) tagNames(ids []uuid.UUID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, name(n.tags, id))
	}
	return out
}

// accountsData is the accounts page: the filter as typed (to refill the
// form), the choices, and one page of accounts.
type accountsData struct {
	Email, Q, Active, GroupID, TagID, ImportID string
	ImportName                                 string
	Groups, Tags                               []command.Named
	// Listed is false when the filter was refused: no list is shown, rather
	// than a list that looks filtered and is not.
	Listed                bool
	Filtered              bool
	Accounts              []accountRow
	Total, Page, Pages    int
	Previous, Next        string
	FirstShown, LastShown int
}

type accountRow struct {
	Email, Name, Role, Group string
	Active                   bool
	Tags                     []string
	CreatedAt                time.Time
	ImportID                 string
	ImportName               string
}

func (p *Pages) accountsPage(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	q := r.URL.Query()
	data := accountsData{Email: strings.TrimSpace(q.Get("email")), Q: strings.TrimSpace(q.Get("q")), Active: q.Get("active"),
		GroupID: q.Get("group_id"), TagID: q.Get("tag_id"), ImportID: q.Get("import_id")}
	filter, problem := parseAccountFilter(q)
	if !actor.Role.CanImport() {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	names, err := p.referenceNames(r.Context(), actor)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	data.Groups, data.Tags = names.groupList, names.tagList
	if problem != "" {
		p.render(w, r, "accounts", http.StatusBadRequest, view{Title: "Accounts", Error: problem, Data: data})
		return
	}
	if filter.ImportID != uuid.Nil {
		data.ImportName = names.imports[filter.ImportID]
		if data.ImportName == "" {
			data.ImportName = "an import"
		}
	}
	page, err := p.queries.Accounts(r.Context(), actor, filter)
	if err != nil {
		p.render(w, r, "accounts", rhttp.StatusOf(err), view{Title: "Accounts", Error: p.message(err), Data: data})
		return
	}
	data.Listed = true
	data.Filtered = filter.Email != "" || filter.Q != "" || filter.Active != nil || filter.GroupID != uuid.Nil || filter.TagID != uuid.Nil || filter.ImportID != uuid.Nil
	data.Total, data.Page, data.Pages = page.Total, page.Page, pageCount(page.Total, page.PageSize)
	if len(page.Accounts) > 0 {
		data.FirstShown = (page.Page-1)*page.PageSize + 1
		data.LastShown = data.FirstShown + len(page.Accounts) - 1
	}
	if page.Page > 1 {
		data.Previous = pageURL(q, min(page.Page-1, data.Pages))
	}
	if page.Page < data.Pages {
		data.Next = pageURL(q, page.Page+1)
	}
	for _, a := range page.Accounts {
		row := accountRow{Email: a.Email, Name: strings.TrimSpace(a.FirstName + " " + a.LastName), Role: roleLabel(a.Role), Active: a.Active,
			Tags: names.tagNames(a.TagIDs), CreatedAt: a.CreatedAt}
		if a.GroupID != nil {
			row.Group = names.group(*a.GroupID)
		}
		if a.ImportID != nil {
			row.ImportID, row.ImportName = a.ImportID.String(), names.imports[*a.ImportID]
		}
		data.Accounts = append(data.Accounts, row)
	}
	p.render(w, r, "accounts", http.StatusOK, view{Title: "Accounts", Data: data})
}

// parseAccountFilter reads the list's query string; problem is a sentence
// for the page when a value is malformed (a hand-edited or stale link).
func parseAccountFilter(q url.Values) (f query.AccountFilter, problem string) {
	f.Email, f.Q = strings.TrimSpace(q.Get("email")), strings.TrimSpace(q.Get("q"))
	switch v := q.Get("active"); v {
	case "":
	case "true", "false":
		active := v == "true"
		f.Active = &active
	default:
		return f, "The status in this address is not one we know. Choose it again in the filter below."
	}
	for _, param := range []struct {
		key, what string
		dst       *uuid.UUID
	}{{"group_id", "group", &f.GroupID}, {"tag_id", "tag", &f.TagID}, {"import_id", "import", &f.ImportID}} {
		v := q.Get(param.key)
		if v == "" {
			continue
		}
		id, err := uuid.Parse(v)
		if err != nil {
			return f, fmt.Sprintf("The %s in this address is not one we know. Choose it again in the filter below.", param.what)
		}
		*param.dst = id
	}
	f.Page = 1
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return f, "The page number in this address must be a whole number from 1. Use the page links below the list."
		}
		f.Page = n
	}
	return f, ""
}

func pageCount(total, size int) int {
	if total <= 0 || size <= 0 {
		return 1
	}
	return (total + size - 1) / size
}

// pageURL keeps the filters when moving between pages.
func pageURL(q url.Values, page int) string {
	next := url.Values{}
	for _, k := range []string{"email", "q", "active", "group_id", "tag_id", "import_id"} {
		if v := q.Get(k); v != "" {
			next.Set(k, v)
		}
	}
	next.Set("page", strconv.Itoa(page))
	return "/accounts?" + next.Encode()
}

func roleLabel(role string) string {
	switch role {
	case string(tenancy.RoleSystemAdmin):
		return "System administrator"
	case string(tenancy.RoleAdmin):
		return "Administrator"
	case string(tenancy.RoleUser):
		return "User"
	}
	return role
}

func (p *Pages) importsPage(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	imports, err := p.queries.ListImports(r.Context(), actor, false)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	// Newest first whatever order the read model keeps.
	sort.SliceStable(imports, func(i, j int) bool { return imports[i].CreatedAt.After(imports[j].CreatedAt) })
	p.render(w, r, "imports", http.StatusOK, view{Title: "Imports", Data: imports})
}

// auditData is an audit trail page.
type auditData struct {
	Subject string
	// AccountID is set on the trail of an account whose email the reader
	// may change, for the form; Sent is where a link was just sent.
	AccountID, Sent string
	// ImportID is set on an import's trail, for the link to its accounts.
	ImportID string
	Entries  []auditEntry
}

// auditEntry is one event as the query tells it; Raw is the recorded data,
// which holds no secret (the events carry none).
type auditEntry struct {
	query.AuditEntry
	Raw string
}

func auditEntries(trail []query.AuditEntry) []auditEntry {
	out := make([]auditEntry, len(trail))
	for i, e := range trail {
		out[i] = auditEntry{AuditEntry: e, Raw: prettyJSON(e.Data)}
	}
	return out
}

func (p *Pages) importAuditPage(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	trail, err := p.queries.ImportTrail(r.Context(), actor, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	subject := "this import"
	if imp, err := p.queries.Import(r.Context(), actor, id); err == nil {
		subject = imp.File.Name
	}
	data := auditData{Subject: subject, ImportID: id.String(), Entries: auditEntries(trail)}
	p.render(w, r, "audit", http.StatusOK, view{Title: "Audit trail of " + subject, Data: data})
}

func (p *Pages) accountAuditPage(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	// Same answer as for an unknown account: a user learns nothing about
	// which accounts exist.
	if !actor.Role.CanImport() {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	email := strings.TrimSpace(r.URL.Query().Get("email"))
	if email == "" {
		p.fail(w, r, failure.New(failure.Invalid, "invalid_value", "Choose an account in the accounts list to see its audit trail."))
		return
	}
	trail, err := p.queries.AccountTrail(r.Context(), actor, email)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "audit", http.StatusOK, view{Title: "Audit trail of " + email, Data: auditData{Subject: email, Entries: auditEntries(trail),
		AccountID: p.accountInReach(r, email), Sent: r.URL.Query().Get("sent")}})
}

func prettyJSON(data json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return string(data)
	}
	return b.String()
}
