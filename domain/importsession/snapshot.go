package importsession

import (
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/tenancy"
)

// Snapshot is an import's state as of one version, for a read model that
// folds each new event onto the state it keeps instead of replaying the
// stream. It holds what the events said and nothing else: no password
// (DefaultsChosen records only that one was set).
type Snapshot struct {
	ID, OrgID, CreatedBy, ActorGroup uuid.UUID
	ActorRole                        tenancy.Role
	CreatedByEmail                   string
	Source                           string
	State                            State
	AccountType                      string
	SendWelcomeEmail                 bool
	PresetID                         uuid.UUID
	File                             FileUploaded
	Classroom                        ClassroomRosterFetched
	Mapping                          map[string]string
	Defaults                         Defaults
	DefaultsChosen                   bool
	Existing                         ExistingPolicy
	Validated                        RowsValidated
	PagesViewed                      map[int]bool
	VerificationSkipped              bool
	Committed                        ImportCommitted
	ChunkProgress                    map[int]CommitProgressed
	ChunksDone                       map[int]CommitChunkCompleted
	Completed                        ImportCompleted
	Undo                             UndoStarted
	UndoProgress                     map[int]UndoProgressed
	UndoDone                         map[int]UndoChunkCompleted
	Undone                           ImportUndone
	FollowUp                         FollowUpStarted
	CardDownloads                    int
	Departed                         DepartedFound
	Departures                       DeparturesDeactivated
	DeparturesUndone                 DeparturesUndone
	CreatedAt, UpdatedAt             time.Time
	Version                          int64
}

// Snapshot is the import's state; events recorded and not yet saved are
// part of it, as they are of the import.
func (imp *Import) Snapshot() Snapshot {
	return Snapshot{
		ID: imp.id, OrgID: imp.orgID, CreatedBy: imp.createdBy, ActorGroup: imp.actorGroup, ActorRole: imp.actorRole,
		CreatedByEmail: imp.createdByEmail, Source: imp.source, State: imp.state, AccountType: imp.accountType,
		SendWelcomeEmail: imp.sendWelcomeEmail, PresetID: imp.presetID, File: imp.file, Classroom: imp.classroom,
		Mapping: imp.mapping, Defaults: imp.defaults, DefaultsChosen: imp.defaultsChosen, Existing: imp.existing,
		Validated: imp.validated, PagesViewed: imp.pagesViewed, VerificationSkipped: imp.verificationSkipped,
		Committed: imp.committed, ChunkProgress: imp.chunkProgress, ChunksDone: imp.chunksDone, Completed: imp.completed,
		Undo: imp.undo, UndoProgress: imp.undoProgress, UndoDone: imp.undoDone, Undone: imp.undone, FollowUp: imp.followUp, CardDownloads: imp.cardDownloads,
		Departed: imp.departed, Departures: imp.departures, DeparturesUndone: imp.departuresUndone, CreatedAt: imp.createdAt, UpdatedAt: imp.updatedAt, Version: imp.version + int64(len(imp.pending)),
	}
}

// FromSnapshot is the import a snapshot describes, at its version.
func FromSnapshot(s Snapshot) *Import {
	imp := &Import{
		id: s.ID, orgID: s.OrgID, createdBy: s.CreatedBy, actorGroup: s.ActorGroup, actorRole: s.ActorRole,
		createdByEmail: s.CreatedByEmail, source: s.Source, state: s.State, accountType: s.AccountType,
		sendWelcomeEmail: s.SendWelcomeEmail, presetID: s.PresetID, file: s.File, classroom: s.Classroom,
		mapping: s.Mapping, defaults: s.Defaults, defaultsChosen: s.DefaultsChosen, existing: s.Existing,
		validated: s.Validated, pagesViewed: s.PagesViewed, verificationSkipped: s.VerificationSkipped,
		committed: s.Committed, chunkProgress: s.ChunkProgress, chunksDone: s.ChunksDone, completed: s.Completed,
		undo: s.Undo, undoProgress: s.UndoProgress, undoDone: s.UndoDone, undone: s.Undone, followUp: s.FollowUp, cardDownloads: s.CardDownloads,
		departed: s.Departed, departures: s.Departures, departuresUndone: s.DeparturesUndone, createdAt: s.CreatedAt, updatedAt: s.UpdatedAt, version: s.Version,
	}
	imp.ensureMaps()
	return imp
}

// Fold applies the stream's next stored event: what a read model does with
// each event as it arrives.
func (imp *Import) Fold(e any) {
	imp.apply(e)
	imp.version++
}

// ensureMaps makes the maps apply writes into: a snapshot read back from
// JSON has none for an empty one.
func (imp *Import) ensureMaps() {
	if imp.pagesViewed == nil {
		imp.pagesViewed = map[int]bool{}
	}
	if imp.chunkProgress == nil {
		imp.chunkProgress = map[int]CommitProgressed{}
	}
	if imp.chunksDone == nil {
		imp.chunksDone = map[int]CommitChunkCompleted{}
	}
	if imp.undoProgress == nil {
		imp.undoProgress = map[int]UndoProgressed{}
	}
	if imp.undoDone == nil {
		imp.undoDone = map[int]UndoChunkCompleted{}
	}
}
