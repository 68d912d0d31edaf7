package importsession

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// A read model keeps the snapshot as JSON and folds each new event onto it:
// at every point of an import's life, that gives the very import a replay
// of the whole stream gives.
func TestSnapshotFoldsLikeAReplay(t *testing.T) {
	lives := map[string][]any{
		"undone": {uploaded, mapped, defaulted, started, validated, VerificationPageViewed{Page: 1}, ExistingAccountsPolicyChosen{UpdateGroup: true},
			RowCorrected{Row: 3, StatusBefore: RowInvalid, StatusAfter: RowNew, ProblemsBefore: []string{"email_invalid"}},
			VerificationSkipped{}, committed, CommitProgressed{Chunk: 0, Done: 50, Created: 40}, CommitChunkCompleted{Chunk: 0, Done: 100, Created: 90},
			CommitChunkCompleted{Chunk: 1}, CommitChunkCompleted{Chunk: 2}, ImportCompleted{Created: 200, Updated: 30, CompletedAt: now},
			UndoStarted{Chunks: 2, ChunkRows: 100}, UndoProgressed{Chunk: 0, Done: 10}, UndoChunkCompleted{Chunk: 0, Done: 100, KeptAccounts: []KeptAccount{{Email: "a@b.c", Fields: []string{"group"}}}},
			UndoChunkCompleted{Chunk: 1}, ImportUndone{UndoneAt: now}, ImportSummaryEmailed{To: "root@school.org"}},
		"classroom, failed": {ClassroomRosterFetched{ImportID: importID, OrgID: org, People: 3, FetchedAt: now}, defaulted, started,
			ValidationFailed{FailedAt: now}, started, validated, VerificationSkipped{}, committed, ImportFailed{FailedAt: now}, ImportSummaryEmailed{}},
		"classroom re-sync, departures": {ClassroomRosterFetched{ImportID: importID, OrgID: org, People: 3, Courses: []ClassroomCourse{{ID: "bio"}}, FetchedAt: now},
			DefaultsChosen{DeactivateDeparted: true, ChosenAt: now}, started, DepartedFound{Departed: []DepartedPerson{{Email: "bo@school.org", Name: "Bo Ek"}}, Total: 1, FoundAt: now},
			validated, DeactivateDepartedChosen{Deactivate: true, ChosenAt: now}, VerificationSkipped{}, committed, CommitChunkCompleted{Chunk: 0}, CommitChunkCompleted{Chunk: 1},
			CommitChunkCompleted{Chunk: 2}, DeparturesDeactivated{Deactivated: 1, AccountIDs: []uuid.UUID{uuid.New()}, At: now}, ImportCompleted{Deactivated: 1, CompletedAt: now},
			UndoStarted{Chunks: 1, ChunkRows: 100}, UndoChunkCompleted{Chunk: 0}, DeparturesUndone{Reactivated: 1, At: now}, ImportUndone{Reactivated: 1, UndoneAt: now}},
		"follow-up, cancelled": {uploaded, FollowUpStarted{Of: importID, UpdateTags: true}, mapped, FileReread{Encoding: "windows-1252", Rows: 9}, ImportCancelled{CancelledAt: now}, ImportSummaryEmailed{}},
	}
	for name, events := range lives {
		t.Run(name, func(t *testing.T) {
			folded := &Import{}
			for i, e := range events {
				folded = FromSnapshot(stored(t, folded))
				folded.Fold(e)
				replayed := Rehydrate(events[:i+1])
				// Stored, an empty map and no map are alike.
				replayed.ensureMaps()
				if !reflect.DeepEqual(folded, replayed) {
					t.Fatalf("after event %d (%T):\n folded   %+v\n replayed %+v", i, e, folded, replayed)
				}
				if folded.Version() != int64(i+1) || folded.Counts() != replayed.Counts() || folded.Progress() != replayed.Progress() {
					t.Fatalf("after event %d: version %d, counts %+v / %+v", i, folded.Version(), folded.Counts(), replayed.Counts())
				}
			}
		})
	}
}

// Every field of the aggregate is in its snapshot: a field added to Import
// and forgotten here would be lost by the read model.
func TestSnapshotHoldsEveryField(t *testing.T) {
	state := reflect.TypeOf(Import{})
	snapshot := reflect.TypeOf(Snapshot{})
	kept := map[string]bool{}
	for i := range snapshot.NumField() {
		kept[strings.ToLower(snapshot.Field(i).Name)] = true
	}
	for i := range state.NumField() {
		f := state.Field(i)
		if f.Name == "pending" {
			continue // recorded events not yet saved are not state
		}
		if !kept[strings.ToLower(f.Name)] {
			t.Errorf("Import.%s is not in Snapshot", f.Name)
		}
	}
}

// stored is the import's snapshot as a read model reads it back.
func stored(t *testing.T, imp *Import) Snapshot {
	t.Helper()
	var s Snapshot
	if err := json.Unmarshal([]byte(jsonOf(t, imp.Snapshot())), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
