package query

import (
	"context"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/domain/account"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// names shows the ids of groups and tags by the names people gave them.
type names struct {
	groups, tags map[uuid.UUID]string
}

func (q *Queries) referenceNames(ctx context.Context, orgID uuid.UUID) (names, error) {
	n := names{groups: map[uuid.UUID]string{}, tags: map[uuid.UUID]string{}}
	for kind, dst := range map[command.ReferenceKind]map[uuid.UUID]string{command.Groups: n.groups, command.Tags: n.tags} {
		list, err := q.names.ListNamed(ctx, kind, orgID)
		if err != nil {
			return n, err
		}
		for _, item := range list {
			dst[item.ID] = item.Name
		}
	}
	return n, nil
}

func (n names) group(id uuid.UUID) string {
	if id == uuid.Nil {
		return "no group"
	}
	if name, ok := n.groups[id]; ok {
		return name
	}
	return "unknown group"
}

func (n names) tagList(ids []uuid.UUID) string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if name, ok := n.tags[id]; ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// changes lists a diff field by field, as the review and the API show it.
func (n names) changes(d account.Diff) []Change {
	out := []Change{}
	if d.FirstName != nil {
		out = append(out, Change{Field: "first_name", From: d.FirstName.From, To: d.FirstName.To})
	}
	if d.LastName != nil {
		out = append(out, Change{Field: "last_name", From: d.LastName.From, To: d.LastName.To})
	}
	if d.Group != nil {
		out = append(out, Change{Field: "group", From: n.group(d.Group.From), To: n.group(d.Group.To)})
	}
	if len(d.TagsAdded) > 0 {
		out = append(out, Change{Field: "tags", To: "+ " + n.tagList(d.TagsAdded)})
	}
	if d.Password {
		out = append(out, Change{Field: "password"})
	}
	if d.Reactivate {
		out = append(out, Change{Field: "active", From: "false", To: "true"})
	}
	return out
}

// writeRejected writes the invalid rows as uploaded, plus a last column
// "problems", for the importer to fix and upload again. Two things differ
// from the upload on purpose: password cells are left empty (a download
// must not carry plaintext passwords), and a cell that a spreadsheet would
// run as a formula (starting with = + - @ or a control character) is
// prefixed with an apostrophe.
func (q *Queries) writeRejected(ctx context.Context, imp *importsession.Import, open func() io.Writer) error {
	file, err := q.files.Open(ctx, imp.ID(), command.FileRefOf(imp))
	if err != nil {
		return err
	}
	defer file.Close()
	headers := file.Headers()
	passwordCols := map[int]bool{}
	for i, h := range headers {
		if imp.Mapping()[h] == importsession.FieldPassword {
			passwordCols[i] = true
		}
	}
	out := csv.NewWriter(open())
	if err := out.Write(append(neutralise(headers), "problems")); err != nil {
		return err
	}
	err = q.rm.InvalidRows(ctx, imp.ID(), func(number int, problems []Problem) error {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Field + ": " + p.Message
		}
		for {
			row, err := file.Next()
			if err != nil {
				return err
			}
			if row.Number < number {
				continue
			}
			cells := neutralise(row.Cells)
			for i := range cells {
				if passwordCols[i] {
					cells[i] = ""
				}
			}
			return out.Write(append(cells, neutraliseCell(strings.Join(msgs, " | "))))
		}
	})
	if err != nil {
		return err
	}
	out.Flush()
	return out.Error()
}

func neutralise(cells []string) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = neutraliseCell(c)
	}
	return out
}

// neutraliseCell keeps spreadsheets from running a cell as a formula
// (CSV injection, OWASP's advice).
func neutraliseCell(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

// previewCellRunes bounds a shown cell: a file may hold a 10 MB cell, and
// the mapping page only needs enough to recognise the column.
const previewCellRunes = 60

// preview reads the first non-blank data rows of the upload, for the
// mapping page. Cells of a column that holds passwords, by the mapping or,
// before there is one, by the suggestion, are masked: a password is never
// sent back to a browser.
func (q *Queries) preview(ctx context.Context, imp *importsession.Import, rows int) ([]PreviewRow, error) {
	file, err := q.files.Open(ctx, imp.ID(), command.FileRefOf(imp))
	if err != nil {
		return nil, err
	}
	defer file.Close()
	mapping := imp.Mapping()
	if len(mapping) == 0 {
		mapping = imp.File().SuggestedMapping
	}
	headers := file.Headers()
	var out []PreviewRow
	for len(out) < rows {
		row, err := file.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if row.Blank {
			continue
		}
		cells := make([]string, len(row.Cells))
		for i, c := range row.Cells {
			switch {
			case c == "":
			case i < len(headers) && mapping[headers[i]] == importsession.FieldPassword:
				cells[i] = HiddenCell
			default:
				cells[i] = shorten(c)
			}
		}
		out = append(out, PreviewRow{Row: row.Number, Cells: cells})
	}
	return out, nil
}

func shorten(s string) string {
	n := 0
	for i := range s {
		if n == previewCellRunes {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// groupScanRows bounds the scan for unknown groups: enough to catch a
// column of another system's paths, and quick on any file.
const groupScanRows = 50_000

// UnknownGroups is what a column matched to Group holds that is not a group
// of the organization.
type UnknownGroups struct {
	Header string
	// Values are the first distinct unknown values, in file order.
	Values []string
	// Rows counts the rows with an unknown value among the Scanned ones.
	Rows, Scanned int
	// More: there are more distinct unknown values than Values lists.
	More bool
}

// UnknownGroups scans the column (the first rows of the file) for values
// that are not groups of the organization — a Google Workspace "Org Unit
// Path" column gives /Students/7B, which no group is called — so the
// mapping page can say so before the check makes every row invalid.
func (q *Queries) UnknownGroups(ctx context.Context, actor tenancy.Actor, id uuid.UUID, header string) (UnknownGroups, error) {
	out := UnknownGroups{Header: header, Values: []string{}}
	imp, err := q.visible(ctx, actor, id)
	if err != nil {
		return out, err
	}
	if !imp.State().Open() || imp.Source() == importsession.SourceClassroom {
		return out, nil
	}
	col := slices.Index(imp.File().Headers, header)
	if col < 0 {
		return out, nil
	}
	names, err := q.referenceNames(ctx, imp.OrgID())
	if err != nil {
		return out, err
	}
	known := map[string]bool{}
	for _, n := range names.groups {
		known[importsession.NameKey(n)] = true
	}
	file, err := q.files.Open(ctx, imp.ID(), command.FileRefOf(imp))
	if err != nil {
		return out, err
	}
	defer file.Close()
	seen := map[string]bool{}
	for out.Scanned < groupScanRows {
		row, err := file.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		if row.Blank || col >= len(row.Cells) {
			continue
		}
		out.Scanned++
		v := strings.TrimSpace(row.Cells[col])
		if v == "" || known[importsession.NameKey(v)] {
			continue
		}
		out.Rows++
		if !seen[importsession.NameKey(v)] {
			seen[importsession.NameKey(v)] = true
			if len(out.Values) < 50 {
				out.Values = append(out.Values, shorten(v))
			} else {
				out.More = true
			}
		}
	}
	return out, nil
}
