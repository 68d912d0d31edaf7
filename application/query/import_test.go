package query_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/domain/tenancy"
)

// ImportFrom decides what a reader sees of an import at each stage.
func TestImportFromShapesEachStage(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	root := tenancy.Actor{ID: uuid.New(), OrgID: uuid.New(), Email: "root@lincoln.test", Role: tenancy.RoleSystemAdmin}
	group := uuid.New()
	imp, err := importsession.NewImport(root, importsession.Upload{ID: uuid.New(), Source: "csv", FileName: "people.csv", Rows: 5,
		Headers: []string{"First Name", "Last Name", "Email"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var history []any
	apply := func(steps ...func(*importsession.Import) error) {
		t.Helper()
		for _, step := range steps {
			if err := step(imp); err != nil {
				t.Fatal(err)
			}
			// What a reader sees is what was recorded: the import as it is
			// loaded again.
			history = append(history, imp.PendingEvents()...)
			imp = importsession.Rehydrate(history)
		}
	}

	apply(func(*importsession.Import) error { return nil })
	got := query.ImportFrom(imp)
	if got.Defaults != nil || got.Summary != nil || got.Mapping == nil || len(got.Mapping) != 0 || got.SuggestedMapping == nil || got.State != "uploaded" || got.Step != "mapping" {
		t.Fatalf("uploaded: %+v", got)
	}

	apply(mapped(root, now), func(imp *importsession.Import) error {
		return imp.ChooseDefaults(root, importsession.Defaults{PasswordSet: true, GroupID: group}, now)
	})
	got = query.ImportFrom(imp)
	if d := got.Defaults; d == nil || !d.PasswordSet || d.GroupID == nil || *d.GroupID != group || d.TagIDs == nil {
		t.Fatalf("defaults chosen: %+v", got.Defaults)
	}

	apply(validated(root, now, 3, 1, 1), committed(root, now), func(imp *importsession.Import) error {
		return imp.RecordProgress(importsession.CommitProgressed{Done: 2, Created: 2})
	})
	got = query.ImportFrom(imp)
	if got.Progress.Done != 2 || got.Progress.Total != 4 || got.Summary != nil || got.State != "committing" {
		t.Fatalf("committing: %+v", got.Progress)
	}

	// Completed: the bar is full, whatever the last batch counted (an
	// existing account with nothing to change is not counted as done).
	apply(func(imp *importsession.Import) error {
		if err := imp.CompleteChunk(importsession.CommitChunkCompleted{Chunk: 0, Done: 4, Created: 3}); err != nil {
			return err
		}
		return imp.Complete(now)
	})
	got = query.ImportFrom(imp)
	if got.Progress.Done != got.Progress.Total || got.Summary == nil || got.Summary.Created != 3 || got.Summary.FailedRows == nil {
		t.Fatalf("completed: progress %+v summary %+v", got.Progress, got.Summary)
	}
	doc, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(doc, &fields); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"id", "source", "state", "step", "file", "counts", "progress", "defaults", "summary", "created_by"} {
		if _, ok := fields[field]; !ok {
			t.Errorf("the API's import lacks %q: %s", field, doc)
		}
	}
}
