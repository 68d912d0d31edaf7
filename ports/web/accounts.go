package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/rollcall/rollcall/application/apperror"
	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
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
	Email, GroupID, TagID, ImportID string
	ImportName                      string
	Groups, Tags                    []command.Named
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
	Tags                     []string
	CreatedAt                time.Time
	ImportID                 string
	ImportName               string
}

func (p *Pages) accountsPage(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	q := r.URL.Query()
	data := accountsData{Email: strings.TrimSpace(q.Get("email")), GroupID: q.Get("group_id"), TagID: q.Get("tag_id"), ImportID: q.Get("import_id")}
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
	data.Filtered = filter.Email != "" || filter.GroupID != uuid.Nil || filter.TagID != uuid.Nil || filter.ImportID != uuid.Nil
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
		row := accountRow{Email: a.Email, Name: strings.TrimSpace(a.FirstName + " " + a.LastName), Role: roleLabel(a.Role),
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
	f.Email = strings.TrimSpace(q.Get("email"))
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
	for _, k := range []string{"email", "group_id", "tag_id", "import_id"} {
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
	// ImportID is set on an import's trail, for the link to its accounts.
	ImportID string
	Entries  []auditEntry
}

// auditEntry is one event as a person reads it; Raw is the recorded data,
// which holds no secret (the events carry none).
type auditEntry struct {
	Position          int64
	At                time.Time
	Who               string
	Type              string
	Sentence          string
	LinkURL, LinkText string
	Raw               string
}

func (p *Pages) importAuditPage(w http.ResponseWriter, r *http.Request) {
	actor := sessionFrom(r).actor
	id, err := uuid.Parse(mux.Vars(r)["id"])
	if err != nil {
		p.fail(w, r, query.ErrNotFound)
		return
	}
	events, err := p.queries.ImportAudit(r.Context(), actor, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	names, err := p.referenceNames(r.Context(), actor)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	subject := names.imports[id]
	if subject == "" {
		subject = "this import"
	}
	data := auditData{Subject: subject, ImportID: id.String(), Entries: narrate(events, names)}
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
		p.fail(w, r, apperror.New(apperror.Invalid, "invalid-value", "Choose an account in the accounts list to see its audit trail."))
		return
	}
	events, err := p.queries.AccountAudit(r.Context(), actor.OrgID, email)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	names, err := p.referenceNames(r.Context(), actor)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.render(w, r, "audit", http.StatusOK, view{Title: "Audit trail of " + email, Data: auditData{Subject: email, Entries: narrate(events, names)}})
}

// narrate writes each event as a sentence. It reads the trail in order: the
// upload's column order makes the later mapping read as the file does.
func narrate(events []query.AuditEvent, names referenceNames) []auditEntry {
	n := narrator{names: names}
	out := make([]auditEntry, 0, len(events))
	for _, e := range events {
		out = append(out, n.entry(e))
	}
	return out
}

type narrator struct {
	names   referenceNames
	headers []string
}

func (n *narrator) entry(e query.AuditEvent) auditEntry {
	entry := auditEntry{Position: e.Position, At: e.At, Who: e.Actor.Email, Type: e.Type, Raw: prettyJSON(e.Data)}
	if entry.Who == "" {
		// No signed-in person: the command line or a background step.
		entry.Who = "Rollcall (automatic)"
	}
	sentence, link, err := n.describe(e.Type, e.Data)
	if err != nil {
		sentence, link = "Recorded "+e.Type+" (see the details).", auditLink{}
	}
	entry.Sentence, entry.LinkURL, entry.LinkText = sentence, link.url, link.text
	return entry
}

type auditLink struct{ url, text string }

// auditEventTypes are the domain's events by their stored name; the audit
// trail keeps each event as the current type's JSON (decoded and upcast when
// it was projected), so it reads back into that type.
var auditEventTypes = func() map[string]reflect.Type {
	types := map[string]reflect.Type{}
	for _, ev := range append(append(importsession.Events(), account.Events()...), account.MailEvents()...) {
		types[ev.EventType()] = reflect.TypeOf(ev)
	}
	return types
}()

// decodeEvent reads an audit entry's data as its event; an unknown type is
// nil, not an error, so that it still shows by its name.
func decodeEvent(eventType string, data json.RawMessage) (any, error) {
	t, ok := auditEventTypes[eventType]
	if !ok {
		return nil, nil
	}
	ev := reflect.New(t)
	if err := json.Unmarshal(data, ev.Interface()); err != nil {
		return nil, err
	}
	return ev.Elem().Interface(), nil
}

// describe is the sentence for one event. Unknown types still appear, by
// their name, so that nothing recorded is left out of the trail.
func (n *narrator) describe(eventType string, data json.RawMessage) (string, auditLink, error) {
	var none auditLink
	decoded, err := decodeEvent(eventType, data)
	if err != nil {
		return "", none, err
	}
	switch ev := decoded.(type) {
	case importsession.FileUploaded:
		n.headers = ev.Headers
		s := fmt.Sprintf("Uploaded %s (%s, %s, SHA-256 %s) to create %s", ev.FileName, fileSize(ev.FileSize), plural(ev.Rows, "row", "rows"),
			shortDigest(ev.FileSHA256), accountTypeLabel(ev.AccountType))
		s += ", " + welcomeLabel(ev.SendWelcomeEmail)
		if ev.PresetID != uuid.Nil {
			s += ", preset " + name(n.names.presets, ev.PresetID)
		}
		return s, none, nil
	case importsession.ClassroomRosterFetched:
		courses := make([]string, 0, len(ev.Courses))
		for _, c := range ev.Courses {
			if c.Section != "" {
				courses = append(courses, c.Name+" ("+c.Section+")")
			} else {
				courses = append(courses, c.Name)
			}
		}
		s := fmt.Sprintf("Fetched the Google Classroom roster of %s as %s: %s", joinAnd(courses), ev.GoogleEmail, plural(ev.People, "person", "people"))
		if ev.IncludeTeachers {
			s += ", teachers included"
		} else {
			s += ", students only"
		}
		if ev.GroupID != uuid.Nil {
			s += ", group " + n.names.group(ev.GroupID)
		}
		s += ", " + welcomeLabel(ev.SendWelcomeEmail)
		if ev.RosterSHA256 != "" {
			s += ", SHA-256 " + shortDigest(ev.RosterSHA256)
		}
		return s, none, nil
	case importsession.ColumnsMapped:
		pairs := make([]string, 0, len(ev.Mapping))
		for _, header := range orderedHeaders(ev.Mapping, n.headers) {
			target := ev.Mapping[header]
			if target == "ignore" || target == "" {
				pairs = append(pairs, header+" → not imported")
				continue
			}
			pairs = append(pairs, header+" → "+fieldLabel(target))
		}
		return "Matched the columns: " + strings.Join(pairs, ", "), none, nil
	case importsession.DefaultsChosen:
		parts := []string{"no default password (each row gives its own)"}
		if ev.PasswordSet {
			parts[0] = "default password set (not shown)"
		}
		if ev.ForcePasswordChange {
			parts = append(parts, "must change password at first sign-in")
		} else {
			parts = append(parts, "may keep the password")
		}
		if ev.GroupID != uuid.Nil {
			parts = append(parts, "group "+n.names.group(ev.GroupID))
		} else {
			parts = append(parts, "no default group")
		}
		if tags := n.names.tagNames(ev.TagIDs); len(tags) > 0 {
			parts = append(parts, pluralWord(len(tags), "tag", "tags")+" "+joinAnd(tags))
		} else {
			parts = append(parts, "no tags")
		}
		return "Chose the defaults: " + strings.Join(parts, ", "), none, nil
	case importsession.ValidationStarted:
		return "Started checking the rows", none, nil
	case importsession.RowsValidated:
		s := fmt.Sprintf("Checked the rows: %d new, %d existing, %d invalid", ev.New, ev.Existing, ev.Invalid)
		if ev.Blank > 0 {
			s += ", " + plural(ev.Blank, "blank row", "blank rows") + " skipped"
		}
		if len(ev.ProblemCounts) > 0 {
			codes := make([]string, 0, len(ev.ProblemCounts))
			for code := range ev.ProblemCounts {
				codes = append(codes, code)
			}
			sort.Strings(codes)
			problems := make([]string, 0, len(codes))
			for _, code := range codes {
				problems = append(problems, fmt.Sprintf("%s (%d)", strings.ReplaceAll(code, "_", " "), ev.ProblemCounts[code]))
			}
			s += ". Problems: " + strings.Join(problems, ", ")
		}
		return s, none, nil
	case importsession.ValidationFailed:
		return "Could not read the file through: " + ev.Reason, none, nil
	case importsession.ExistingAccountsPolicyChosen:
		var changes []string
		if ev.UpdatePassword {
			changes = append(changes, "the password")
		}
		if ev.UpdateGroup {
			changes = append(changes, "the group")
		}
		if ev.UpdateTags {
			changes = append(changes, "the tags")
		}
		if len(changes) == 0 {
			return "Chose to leave existing accounts unchanged", none, nil
		}
		return "Chose what changes on existing accounts: " + joinAnd(changes), none, nil
	case importsession.VerificationPageViewed:
		return fmt.Sprintf("Reviewed page %d of the rows", ev.Page), none, nil
	case importsession.VerificationSkipped:
		return "Skipped the review of the rows", none, nil
	case importsession.ImportCommitted:
		return fmt.Sprintf("Committed: %s to create, %d existing to update", plural(ev.ExpectedNew, "account", "accounts"), ev.ExpectedExisting), none, nil
	case importsession.CommitProgressed:
		return fmt.Sprintf("Progress: %s done (%d created, %d updated, %d failed)", plural(ev.Done, "row", "rows"), ev.Created, ev.Updated, ev.Failed), none, nil
	case importsession.ImportCompleted:
		s := fmt.Sprintf("Completed: %d created, %d updated, %d skipped, %d failed", ev.Created, ev.Updated, ev.Skipped, ev.Failed)
		if len(ev.FailedRows) > 0 {
			const shown = 5
			rows := make([]string, 0, shown)
			for _, fr := range ev.FailedRows[:min(shown, len(ev.FailedRows))] {
				rows = append(rows, fmt.Sprintf("row %d (%s, %s)", fr.Row, fr.Email, strings.ReplaceAll(fr.Code, "_", " ")))
			}
			if more := len(ev.FailedRows) - shown; more > 0 {
				rows = append(rows, fmt.Sprintf("%d more", more))
			}
			s += ". Failed rows: " + joinAnd(rows)
		}
		return s, none, nil
	case importsession.ImportFailed:
		return "Stopped for good: " + ev.Reason, none, nil
	case importsession.ImportCancelled:
		return "Cancelled before any account was created", none, nil
	case importsession.ImportSummaryEmailed:
		return "Emailed the summary to " + ev.To, none, nil
	case account.AccountCreated:
		who := ev.Email
		if full := strings.TrimSpace(ev.FirstName + " " + ev.LastName); full != "" {
			who += " (" + full + ")"
		}
		parts := []string{"Created the account " + who + " as " + roleWithArticle(ev.Role)}
		if ev.GroupID != uuid.Nil {
			parts = append(parts, "group "+n.names.group(ev.GroupID))
		}
		if tags := n.names.tagNames(ev.TagIDs); len(tags) > 0 {
			parts = append(parts, pluralWord(len(tags), "tag", "tags")+" "+joinAnd(tags))
		}
		if ev.MustChangePassword {
			parts = append(parts, "must change password at first sign-in")
		}
		if ev.ImportID == uuid.Nil {
			return strings.Join(parts, ", ") + ", from the command line", none, nil
		}
		return strings.Join(parts, ", ") + fmt.Sprintf(", from row %d of %s", ev.ImportRow, n.importName(ev.ImportID)), n.importLink(ev.ImportID), nil
	case account.AccountUpdated:
		var changes []string
		if ev.PasswordChanged {
			changes = append(changes, "set the password (not shown)")
		}
		if ev.GroupChanged {
			changes = append(changes, "moved to group "+n.names.group(ev.GroupID))
		}
		if tags := n.names.tagNames(ev.TagIDsAdded); len(tags) > 0 {
			changes = append(changes, "added the "+pluralWord(len(tags), "tag", "tags")+" "+joinAnd(tags))
		}
		if len(changes) == 0 {
			changes = append(changes, "changed nothing")
		}
		return fmt.Sprintf("Row %d of %s %s", ev.ImportRow, n.importName(ev.ImportID), joinAnd(changes)), n.importLink(ev.ImportID), nil
	case account.PasswordChanged:
		if ev.MustChangePassword {
			return "Password changed (not shown); it must be changed at the next sign-in", none, nil
		}
		return "Password changed (not shown)", none, nil
	case account.WelcomeEmailQueued:
		return "Welcome email queued for sending", none, nil
	case account.WelcomeEmailUndelivered:
		return "Welcome email could not be delivered; the mail server answered: " + ev.Reason, none, nil
	}
	return "Recorded " + eventType + " (see the details)", none, nil
}

func (n *narrator) importName(id uuid.UUID) string {
	if file, ok := n.names.imports[id]; ok {
		return file
	}
	return "an import"
}

func (n *narrator) importLink(id uuid.UUID) auditLink {
	return auditLink{url: "/imports/" + id.String() + "/audit", text: "The import's audit trail"}
}

// orderedHeaders lists the mapping's columns in the file's order; columns
// the file's header list lacks (or every column, when the upload is not in
// the trail) follow alphabetically, so the sentence is the same every time.
func orderedHeaders(mapping map[string]string, headers []string) []string {
	out := make([]string, 0, len(mapping))
	seen := map[string]bool{}
	for _, h := range headers {
		if _, ok := mapping[h]; ok && !seen[h] {
			out = append(out, h)
			seen[h] = true
		}
	}
	var rest []string
	for h := range mapping {
		if !seen[h] {
			rest = append(rest, h)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

func prettyJSON(data json.RawMessage) string {
	var b bytes.Buffer
	if err := json.Indent(&b, data, "", "  "); err != nil {
		return string(data)
	}
	return b.String()
}

// fileSize writes a size the way a file manager does.
func fileSize(n int64) string {
	switch {
	case n < 1024:
		return plural(int(n), "byte", "bytes")
	case n < 1024*1024:
		return fmt.Sprintf("%d KB", (n+1023)/1024)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/(1024*1024))
}

// shortDigest is enough of a SHA-256 to compare by eye; the whole digest is
// in the event's details.
func shortDigest(hex string) string {
	if len(hex) <= 12 {
		return hex
	}
	return hex[:12] + "…"
}

func accountTypeLabel(t string) string {
	if t == "administrators" {
		return "administrators"
	}
	return "users"
}

func welcomeLabel(send bool) string {
	if send {
		return "with a welcome email"
	}
	return "without a welcome email"
}

func plural(n int, one, many string) string {
	return strconv.Itoa(n) + " " + pluralWord(n, one, many)
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// roleWithArticle is the role inside a sentence ("as a user"); spelled out
// because "user" starts with a vowel and takes "a".
func roleWithArticle(role string) string {
	switch role {
	case string(tenancy.RoleSystemAdmin):
		return "a system administrator"
	case string(tenancy.RoleAdmin):
		return "an administrator"
	case string(tenancy.RoleUser):
		return "a user"
	}
	return "the role " + role
}

// joinAnd lists things as a sentence does: "a, b and c".
func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return "none"
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
