package importsession

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// Fields a column can map to.
const (
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldFullName  = "full_name"
	FieldEmail     = "email"
	FieldPassword  = "password"
	FieldGroup     = "group"
	FieldTag       = "tag"
	FieldIgnore    = "ignore"
)

var fields = []string{FieldFirstName, FieldLastName, FieldFullName, FieldEmail, FieldPassword, FieldGroup, FieldTag, FieldIgnore}

// Mapping says which column of the file holds which field. Tag may be
// mapped from several columns; every other field from one at most.
type Mapping struct {
	columns map[string]string // header → field, every header present
	headers []string
}

// NewMapping checks a mapping against the file's headers and the actor's
// role. Headers left out are ignored.
func NewMapping(headers []string, columns map[string]string, actor tenancy.Actor) (Mapping, error) {
	var problems []MappingProblem
	add := func(header, code, format string, args ...any) {
		problems = append(problems, MappingProblem{Header: header, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	known := make(map[string]bool, len(headers))
	for _, h := range headers {
		known[h] = true
	}
	full := make(map[string]string, len(headers))
	for _, h := range headers {
		full[h] = FieldIgnore
	}
	used := map[string][]string{}
	for _, header := range slices.Sorted(maps.Keys(columns)) {
		field := columns[header]
		if !known[header] {
			add(header, "unknown_column", "The file has no column %q. Its columns are: %s.", header, quoteAll(headers))
			continue
		}
		if !slices.Contains(fields, field) {
			add(header, "unknown_field", "Column %q cannot be mapped to %q; choose one of %s.", header, field, strings.Join(fields, ", "))
			continue
		}
		full[header] = field
		if field != FieldIgnore {
			used[field] = append(used[field], header)
		}
	}
	for _, field := range []string{FieldFirstName, FieldLastName, FieldFullName, FieldEmail, FieldPassword, FieldGroup} {
		if cols := used[field]; len(cols) > 1 {
			add(cols[1], "mapped_twice", "Only one column can hold the %s; %s all do.", label(field), quoteAll(cols))
		}
	}
	if len(used[FieldGroup]) > 0 && !actor.Role.IsSystemAdmin() {
		return Mapping{}, &ForbiddenError{fmt.Sprintf("Only a system administrator can import a group column; your accounts go to your own group. Set column %q to ignore.", used[FieldGroup][0])}
	}
	if len(used[FieldEmail]) == 0 {
		add("", "email_required", "Choose the column that holds the email addresses: email is required.")
	}
	hasFirst, hasLast, hasFull := len(used[FieldFirstName]) > 0, len(used[FieldLastName]) > 0, len(used[FieldFullName]) > 0
	switch {
	case hasFull && (hasFirst || hasLast):
		add(used[FieldFullName][0], "names_mapped_twice", "Map either a full name column or first and last name columns, not both.")
	case !hasFull && !(hasFirst && hasLast):
		add("", "names_required", "Choose the columns with the names: either first name and last name, or a full name.")
	}
	if len(problems) > 0 {
		return Mapping{}, &InvalidMappingError{Problems: problems}
	}
	return Mapping{columns: full, headers: slices.Clone(headers)}, nil
}

// MappingFromStorage rebuilds a mapping without checking it again.
func MappingFromStorage(headers []string, columns map[string]string) Mapping {
	return Mapping{columns: columns, headers: headers}
}

// Columns returns header → field for every header.
func (m Mapping) Columns() map[string]string { return maps.Clone(m.columns) }

// Index returns, for each field, the indexes of its columns in the file.
func (m Mapping) Index() map[string][]int {
	idx := map[string][]int{}
	for i, h := range m.headers {
		if f := m.columns[h]; f != "" && f != FieldIgnore {
			idx[f] = append(idx[f], i)
		}
	}
	return idx
}

func label(field string) string { return strings.ReplaceAll(field, "_", " ") }

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
