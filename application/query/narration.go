package query

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// The audit trail as sentences: each event, decoded by the one event
// registry when it was read, told the way an auditor reads it, with the
// names people gave groups, tags, presets and files rather than ids. The
// pages and the command line only render what this returns.

// auditNames are the names of an organization's reference data and of the
// imports the reader may open.
type auditNames struct {
	groups, tags, presets, imports map[uuid.UUID]string
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

func (n auditNames) group(id uuid.UUID) string { return name(n.groups, id) }

func (n auditNames) tagNames(ids []uuid.UUID) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, name(n.tags, id))
	}
	return out
}

type narrator struct {
	names   auditNames
	headers []string
}

// describe is the sentence for one event. Unknown types still appear, by
// their name, so that nothing recorded is left out of the trail.
func (n *narrator) describe(eventType string, decoded any) (string, AuditLink) {
	var none AuditLink
	switch ev := decoded.(type) {
	case importsession.FileUploaded:
		n.headers = ev.Headers
		s := fmt.Sprintf("Uploaded %s (%s, %s, SHA-256 %s) to create %s", ev.FileName, fileSize(ev.FileSize), plural(ev.Rows, "row", "rows"),
			shortDigest(ev.FileSHA256), accountTypeLabel(ev.AccountType))
		s += ", " + welcomeLabel(ev.SendWelcomeEmail)
		if ev.PresetID != uuid.Nil {
			s += ", preset " + name(n.names.presets, ev.PresetID)
		}
		return s, none
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
		return s, none
	case importsession.ColumnsMapped:
		pairs := make([]string, 0, len(ev.Mapping))
		for _, header := range orderedHeaders(ev.Mapping, n.headers) {
			target := ev.Mapping[header]
			if target == "ignore" || target == "" {
				pairs = append(pairs, header+" → not imported")
				continue
			}
			pairs = append(pairs, header+" → "+FieldLabel(target))
		}
		return "Matched the columns: " + strings.Join(pairs, ", "), none
	case importsession.DefaultsChosen:
		parts := []string{"no default password (each row gives its own)"}
		switch {
		case ev.GeneratePasswords:
			parts[0] = "a password generated for each new account (for its login card, not shown)"
		case ev.PasswordSet:
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
		if ev.DeactivateDeparted {
			parts = append(parts, "deactivate the students who left the class")
		}
		return "Chose the defaults: " + strings.Join(parts, ", "), none
	case importsession.DepartedFound:
		names := make([]string, 0, 5)
		for _, d := range ev.Departed[:min(5, len(ev.Departed))] {
			names = append(names, d.Email)
		}
		if more := ev.Total - len(names); more > 0 {
			names = append(names, fmt.Sprintf("%d more", more))
		}
		return fmt.Sprintf("Found %s imported from the class before who %s no longer in it: %s", plural(ev.Total, "student", "students"),
			map[bool]string{true: "is", false: "are"}[ev.Total == 1], joinAnd(names)), none
	case importsession.DeactivateDepartedChosen:
		if ev.Deactivate {
			return "Chose to deactivate the students who left the class", none
		}
		return "Chose to keep the accounts of the students who left the class active", none
	case importsession.DeparturesUndone:
		s := fmt.Sprintf("Reactivated %s of students who had left the class", plural(ev.Reactivated, "account", "accounts"))
		if ev.Kept > 0 {
			s += fmt.Sprintf("; %s reactivated or deactivated again since left as %s", plural(ev.Kept, "account", "accounts"),
				map[bool]string{true: "it was", false: "they were"}[ev.Kept == 1])
		}
		return s, none
	case importsession.DeparturesDeactivated:
		s := fmt.Sprintf("Deactivated %s of students who left the class", plural(ev.Deactivated, "account", "accounts"))
		if ev.NotAllowed > 0 {
			s += fmt.Sprintf("; %s no longer within the importer's reach left active", plural(ev.NotAllowed, "account", "accounts"))
		}
		return s, none
	case importsession.ValidationStarted:
		return "Started checking the rows", none
	case importsession.RowsValidated:
		s := fmt.Sprintf("Checked the rows: %d new, %d existing, %d invalid", ev.New, ev.Existing, ev.Invalid)
		if len(ev.ChangedUnder) == account.Policies {
			s += fmt.Sprintf(" (of the existing, %d would change with nothing ticked)", ev.ChangedUnder[0])
		}
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
		return s, none
	case importsession.ValidationFailed:
		return "Could not read the file through: " + ev.Reason, none
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
		if ev.UpdateNames {
			changes = append(changes, "the names")
		}
		if len(changes) == 0 {
			return "Chose to leave existing accounts unchanged", none
		}
		return "Chose what changes on existing accounts: " + joinAnd(changes), none
	case importsession.VerificationPageViewed:
		return fmt.Sprintf("Reviewed page %d of the rows", ev.Page), none
	case importsession.VerificationSkipped:
		return "Skipped the review of the rows", none
	case importsession.ImportCommitted:
		s := fmt.Sprintf("Committed: %s to create, %d existing to change, %d unchanged", plural(ev.ExpectedNew, "account", "accounts"),
			ev.ExpectedChanged, ev.ExpectedExisting-ev.ExpectedChanged)
		if ev.ConfirmedChanged > 0 {
			s += fmt.Sprintf("; confirmed changing %d existing accounts, over the organization's threshold", ev.ConfirmedChanged)
		}
		return s, none
	case importsession.CommitProgressed:
		return fmt.Sprintf("Progress of part %d: %s done (%d created, %d changed, %d unchanged, %d failed)", ev.Chunk+1, plural(ev.Done, "row", "rows"),
			ev.Created, ev.Updated, ev.Unchanged, ev.Failed), none
	case importsession.CommitChunkCompleted:
		return fmt.Sprintf("Part %d applied: %s (%d created, %d changed, %d unchanged, %d failed)", ev.Chunk+1, plural(ev.Done, "row", "rows"),
			ev.Created, ev.Updated, ev.Unchanged, ev.Failed), none
	case importsession.ImportCompleted:
		s := fmt.Sprintf("Completed: %d created, %d changed, %d unchanged, %d skipped, %d failed", ev.Created, ev.Updated, ev.Unchanged, ev.Skipped, ev.Failed)
		if ev.Deactivated > 0 {
			s += fmt.Sprintf(", %d departed deactivated", ev.Deactivated)
		}
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
		return s, none
	case importsession.RowCorrected:
		changes := make([]string, len(ev.Changes))
		for i, c := range ev.Changes {
			changes[i] = fmt.Sprintf("%s from %q to %q", strings.ReplaceAll(c.Field, "_", " "), c.From, c.To)
		}
		return fmt.Sprintf("Corrected row %d on the review: %s; checked again, it is now %s (was %s)", ev.Row, joinAnd(changes), ev.StatusAfter, ev.StatusBefore), none
	case importsession.LoginCardsDownloaded:
		return fmt.Sprintf("Downloaded the login cards (%s with their generated passwords) as %s", plural(ev.Cards, "card", "cards"), ev.ByEmail), none
	case importsession.UndoStarted:
		return "Started undoing the import (" + ev.ByEmail + ")", none
	case importsession.UndoProgressed:
		return fmt.Sprintf("Undo of part %d: %s done (%d deactivated, %d put back, %d with fields kept)", ev.Chunk+1,
			plural(ev.Done, "account", "accounts"), ev.Deactivated, ev.Restored, ev.Kept), none
	case importsession.UndoChunkCompleted:
		return fmt.Sprintf("Undo of part %d applied: %d deactivated, %d put back, %d with fields kept", ev.Chunk+1, ev.Deactivated, ev.Restored, ev.Kept), none
	case importsession.ImportUndone:
		s := fmt.Sprintf("Undone: %s it created deactivated, %s it changed put back as they were", plural(ev.Deactivated, "account", "accounts"),
			plural(ev.Restored, "account", "accounts"))
		if ev.Reactivated > 0 {
			s += fmt.Sprintf(", %s of departed students reactivated", plural(ev.Reactivated, "account", "accounts"))
		}
		if ev.Kept > 0 {
			kept := make([]string, 0, 5)
			for _, k := range ev.KeptAccounts[:min(5, len(ev.KeptAccounts))] {
				kept = append(kept, k.Email+" ("+strings.Join(k.Fields, ", ")+")")
			}
			s += fmt.Sprintf("; on %s, fields changed again since were kept: %s", plural(ev.Kept, "account", "accounts"), joinAnd(kept))
		}
		return s, none
	case importsession.ImportFailed:
		return "Stopped for good: " + ev.Reason, none
	case importsession.ImportCancelled:
		return "Cancelled before any account was created", none
	case importsession.ImportSummaryEmailed:
		return "Emailed the summary to " + ev.To, none
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
			return strings.Join(parts, ", ") + ", from the command line", none
		}
		return strings.Join(parts, ", ") + fmt.Sprintf(", from row %d of %s", ev.ImportRow, n.importName(ev.ImportID)), n.importLink(ev.ImportID)
	case account.AccountUpdated:
		var changes []string
		if ev.FirstName != nil {
			changes = append(changes, fmt.Sprintf("changed the first name from %q to %q", ev.FirstName.From, ev.FirstName.To))
		}
		if ev.LastName != nil {
			changes = append(changes, fmt.Sprintf("changed the last name from %q to %q", ev.LastName.From, ev.LastName.To))
		}
		if ev.PasswordReplaced {
			changes = append(changes, "replaced the password (not shown)")
		}
		if ev.Group != nil {
			from := "no group"
			if ev.Group.From != uuid.Nil {
				from = "group " + n.names.group(ev.Group.From)
			}
			changes = append(changes, "moved from "+from+" to group "+n.names.group(ev.Group.To))
		}
		if tags := n.names.tagNames(ev.TagsAdded); len(tags) > 0 {
			changes = append(changes, "added the "+pluralWord(len(tags), "tag", "tags")+" "+joinAnd(tags))
		}
		if ev.Reactivated {
			changes = append(changes, "reactivated the account")
		}
		if len(changes) == 0 {
			changes = append(changes, "changed nothing")
		}
		return fmt.Sprintf("Row %d of %s %s", ev.ImportRow, n.importName(ev.ImportID), joinAnd(changes)), n.importLink(ev.ImportID)
	case account.PasswordChanged:
		if ev.MustChangePassword {
			return "Password changed (not shown); it must be changed at the next sign-in", none
		}
		return "Password changed (not shown)", none
	case account.EmailChangeRequested:
		by := "an administrator"
		if ev.RequestedBy == ev.AccountID {
			by = "the person themself"
		}
		return fmt.Sprintf("Asked by %s to change the email from %s to %s; a link valid until %s UTC went to the new address, and nothing changes until it is followed",
			by, ev.From, ev.To, ev.ExpiresAt.UTC().Format("2 January 2006 15:04")), none
	case account.EmailChanged:
		by := "an administrator"
		if ev.RequestedBy == ev.AccountID {
			by = "the person themself"
		}
		return fmt.Sprintf("Email changed from %s to %s, asked for by %s and confirmed from the new address; the other sessions were ended and the old address was told",
			ev.From, ev.To, by), none
	case account.SignedIn:
		switch ev.Method {
		case account.SignInGoogle:
			return "Signed in with Google", none
		case account.SignInPassword:
			return "Signed in with the password", none
		}
		return "Signed in (" + ev.Method + ")", none
	case account.WelcomeEmailQueued:
		return "Welcome email queued for sending", none
	case account.WelcomeEmailUndelivered:
		return "Welcome email could not be delivered; the mail server answered: " + ev.Reason, none
	case account.AccountReactivated:
		return "Reactivated: " + n.importName(ev.UndoOf) + ", which had deactivated it as no longer in the class, was undone", n.importLink(ev.UndoOf)
	case account.AccountDeactivated:
		if ev.DepartedFrom != uuid.Nil {
			return "Deactivated: no longer in the Google Classroom class that " + n.importName(ev.DepartedFrom) + " re-synced", n.importLink(ev.DepartedFrom)
		}
		return "Deactivated: the import that created it, " + n.importName(ev.UndoOf) + ", was undone", n.importLink(ev.UndoOf)
	case account.AccountRestored:
		var parts []string
		if ev.FirstName != nil || ev.LastName != nil {
			parts = append(parts, "the name")
		}
		if ev.Group != nil {
			to := "no group"
			if ev.Group.To != uuid.Nil {
				to = "group " + n.names.group(ev.Group.To)
			}
			parts = append(parts, "the group ("+to+")")
		}
		if tags := n.names.tagNames(ev.TagsRemoved); len(tags) > 0 {
			parts = append(parts, "the tags (removed "+joinAnd(tags)+")")
		}
		if ev.PasswordRestored {
			parts = append(parts, "the password (not shown)")
		}
		s := "The undo of " + n.importName(ev.UndoOf)
		switch {
		case len(parts) > 0 && ev.Deactivated:
			s += " put back " + joinAnd(parts) + " and deactivated the account again"
		case len(parts) > 0:
			s += " put back " + joinAnd(parts)
		case ev.Deactivated:
			s += " deactivated the account again"
		default:
			s += " changed nothing"
		}
		if len(ev.Kept) > 0 {
			s += "; kept " + joinAnd(ev.Kept) + ", changed again since"
		}
		return s, n.importLink(ev.UndoOf)
	}
	return "Recorded " + eventType + " (see the details)", none
}

func (n *narrator) importName(id uuid.UUID) string {
	if file, ok := n.names.imports[id]; ok {
		return file
	}
	return "an import"
}

func (n *narrator) importLink(id uuid.UUID) AuditLink {
	return AuditLink{URL: "/imports/" + id.String() + "/audit", Text: "The import's audit trail"}
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

// FieldLabel names a mapping target the way people read it.
func FieldLabel(field string) string {
	switch field {
	case "first_name":
		return "First name"
	case "last_name":
		return "Last name"
	case "full_name":
		return "Full name"
	case "email":
		return "Email"
	case "password":
		return "Password"
	case "group":
		return "Group"
	case "tag":
		return "Tag"
	case "ignore", "":
		return "Ignore this column"
	}
	return strings.ToUpper(field[:1]) + strings.ReplaceAll(field[1:], "_", " ")
}
