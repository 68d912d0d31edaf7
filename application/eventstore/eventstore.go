// Package eventstore declares what the application needs from an event store:
// append to streams with an expected version, and load a stream back. The
// Postgres implementation lives in infrastructure/postgres.
package eventstore

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/failure"
)

// Expected versions with a special meaning.
const (
	// AnyVersion skips the optimistic-concurrency check.
	AnyVersion int64 = -1
	// NoStream expects the stream not to exist yet.
	NoStream int64 = 0
)

// Metadata travels with every event: who did it, in which organization, and
// which request or event caused it.
type Metadata struct {
	ActorID       string
	OrgID         string
	CorrelationID string
	CausationID   string
}

// Event is an event to append. Data is a domain event; the store's codec
// gives it its stable type name and schema version.
type Event struct {
	ID       uuid.UUID
	Data     any
	Metadata Metadata
}

// Append is one stream's share of an append.
type Append struct {
	StreamID        string
	ExpectedVersion int64
	Events          []Event
}

// Recorded is an event as stored.
type Recorded struct {
	ID            uuid.UUID
	StreamID      string
	Version       int64
	Type          string
	SchemaVersion int
	Data          any
	Metadata      Metadata
	RecordedAt    time.Time
	// Position is the global insertion order; useful for audit listings.
	Position int64
}

// Store appends and loads event streams.
type Store interface {
	// Append writes the events of one or more streams atomically. Each
	// stream's version must equal its ExpectedVersion (unless AnyVersion),
	// otherwise nothing is written and a *ConcurrencyError is returned.
	// Appending events whose IDs are all already stored is a no-op.
	Append(ctx context.Context, appends ...Append) error
	// Load returns the stream's events in version order; an unknown stream
	// has none.
	Load(ctx context.Context, streamID string) ([]Recorded, error)
}

// ConcurrencyError says another writer appended to the stream first. Command
// handlers reload and retry.
type ConcurrencyError struct {
	StreamID string
	Expected int64
	Actual   int64 // -1 when unknown: the stream exists, it was expected new
}

func (e *ConcurrencyError) Error() string {
	if e.Actual < 0 {
		return fmt.Sprintf("stream %s exists already; it was expected to be new", e.StreamID)
	}
	return fmt.Sprintf("stream %s is at version %d, expected %d", e.StreamID, e.Actual, e.Expected)
}

// Failure says it in the common vocabulary.
func (e *ConcurrencyError) Failure() *failure.Error {
	return &failure.Error{Kind: failure.Conflict, Code: "conflict", Message: e.Error()}
}
