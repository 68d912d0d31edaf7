package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
)

// Codec encodes domain events to JSON payloads and back.
type Codec interface {
	Encode(event any) (name string, version int, payload []byte, err error)
	Decode(name string, version int, payload []byte) (any, error)
}

// EventStore appends to and loads from the events table, which is also the
// Watermill topic the consumers read: one write per event, no dual write.
type EventStore struct {
	pool  *pgxpool.Pool
	codec Codec
}

var _ eventstore.Store = (*EventStore)(nil)

// NewEventStore returns an event store on pool.
func NewEventStore(pool *pgxpool.Pool, codec Codec) (*EventStore, error) {
	if pool == nil || codec == nil {
		return nil, errors.New("postgres: NewEventStore needs a pool and a codec")
	}
	return &EventStore{pool: pool, codec: codec}, nil
}

// Append writes the appends atomically in one statement and one round
// trip: rollcall_append (migrations/00009) locks the streams, checks their
// versions and inserts the events.
func (s *EventStore) Append(ctx context.Context, appends ...eventstore.Append) error {
	err := s.append(ctx, s.pool, appends)
	if errors.Is(err, errReplay) {
		return nil
	}
	return err
}

// errReplay: every event of the append was stored already, under the same
// versions. Nothing was written; the append counts as done.
var errReplay = errors.New("postgres: append already stored")

// IsReplay reports whether AppendTx found the whole append stored already;
// the caller rolls back and treats it as success.
func IsReplay(err error) bool { return errors.Is(err, errReplay) }

// AppendTx appends inside the caller's transaction, so other writes (an email
// claim, a credential, a job checkpoint) commit or fail with the events.
//
// It must be the first write of the transaction. Watermill delivers events in
// transaction-id order, and a transaction gets its id at its first write; by
// locking the streams before writing anything, a stream's later version
// always gets a later transaction id than its earlier one, so consumers see
// each stream in version order.
func (s *EventStore) AppendTx(ctx context.Context, tx pgx.Tx, appends ...eventstore.Append) error {
	return s.append(ctx, tx, appends)
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func (s *EventStore) append(ctx context.Context, db querier, appends []eventstore.Append) error {
	appends = slices.DeleteFunc(slices.Clone(appends), func(a eventstore.Append) bool { return len(a.Events) == 0 })
	if len(appends) == 0 {
		return nil
	}
	var (
		streams                        = make([]string, len(appends))
		expected                       = make([]int64, len(appends))
		eventStreams, schemaVersions   []int32
		ids, types, payloads, metadata []string
		seen                           = make(map[string]bool, len(appends))
	)
	for i, a := range appends {
		if a.StreamID == "" {
			return errors.New("postgres: append to an empty stream id")
		}
		if seen[a.StreamID] {
			return errors.New("postgres: one append names the same stream twice")
		}
		seen[a.StreamID] = true
		streams[i], expected[i] = a.StreamID, a.ExpectedVersion
		for _, ev := range a.Events {
			if ev.ID == uuid.Nil {
				return fmt.Errorf("postgres: event for %s has no id", a.StreamID)
			}
			name, schemaVersion, payload, err := s.codec.Encode(ev.Data)
			if err != nil {
				return err
			}
			meta, err := json.Marshal(metadataJSON(ev.Metadata))
			if err != nil {
				return err
			}
			eventStreams = append(eventStreams, int32(i+1))
			ids = append(ids, ev.ID.String())
			types = append(types, name)
			schemaVersions = append(schemaVersions, int32(schemaVersion))
			payloads = append(payloads, string(payload))
			metadata = append(metadata, string(meta))
		}
	}
	var inserted int
	err := db.QueryRow(ctx, `SELECT rollcall_append($1::text[], $2::bigint[], $3::int[], $4::text[], $5::text[], $6::int[], $7::jsonb[], $8::jsonb[])`,
		streams, expected, eventStreams, ids, types, schemaVersions, payloads, metadata).Scan(&inserted)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr) && pgErr.Code == "RC409":
		return concurrencyError(pgErr.Detail)
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		// A retried request whose events are all stored is a success, not
		// a conflict; the caller's transaction is aborted, so the store
		// looks outside it.
		return s.replayed(ctx, ids, pgErr)
	}
	return fmt.Errorf("append: %w", err)
}

// replayed tells, after a unique violation, a retried append whose every
// event is stored (errReplay) from a new stream created meanwhile by
// another writer (a concurrency conflict) and from an append that overlaps
// stored events in part (a programming error).
func (s *EventStore) replayed(ctx context.Context, ids []string, cause *pgconn.PgError) error {
	var found int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE uuid = ANY($1)`, ids).Scan(&found); err != nil {
		return errors.Join(cause, err)
	}
	switch {
	case found == len(ids):
		return errReplay
	case found == 0 && cause.ConstraintName == "events_stream_id_stream_version_key":
		// The detail reads "Key (stream_id, stream_version)=(<stream>, 1) already exists."
		stream := "a new stream"
		if _, rest, ok := strings.Cut(cause.Detail, ")=("); ok {
			if i := strings.LastIndex(rest, ", "); i > 0 {
				stream = rest[:i]
			}
		}
		return &eventstore.ConcurrencyError{StreamID: stream, Expected: eventstore.NoStream, Actual: -1}
	}
	return fmt.Errorf("postgres: %d of %d events of this append are already stored (%s)", found, len(ids), cause.Message)
}

// concurrencyError reads rollcall_append's detail: "stream actual expected".
func concurrencyError(detail string) error {
	e := &eventstore.ConcurrencyError{}
	if _, err := fmt.Sscanf(detail, "%s %d %d", &e.StreamID, &e.Actual, &e.Expected); err != nil {
		return fmt.Errorf("postgres: concurrency conflict (%s)", detail)
	}
	return e
}

// Load returns a stream's events in version order.
func (s *EventStore) Load(ctx context.Context, streamID string) ([]eventstore.Recorded, error) {
	return loadStream(ctx, s.pool, s.codec, streamID, 0)
}

// loadStream reads a stream's events after a version, in version order.
func loadStream(ctx context.Context, db interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}, codec interface {
	Decode(name string, version int, payload []byte) (any, error)
}, streamID string, after int64) ([]eventstore.Recorded, error) {
	rows, err := db.Query(ctx, `
		SELECT "offset", uuid, stream_id, stream_version, event_type, schema_version, payload, metadata, created_at
		FROM events WHERE stream_id = $1 AND stream_version > $2 ORDER BY stream_version`, streamID, after)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", streamID, err)
	}
	defer rows.Close()
	var out []eventstore.Recorded
	for rows.Next() {
		var (
			r        eventstore.Recorded
			id       string
			payload  []byte
			metadata []byte
		)
		if err := rows.Scan(&r.Position, &id, &r.StreamID, &r.Version, &r.Type, &r.SchemaVersion, &payload, &metadata, &r.RecordedAt); err != nil {
			return nil, err
		}
		if r.ID, err = uuid.Parse(id); err != nil {
			return nil, fmt.Errorf("event %q in %s: %w", id, streamID, err)
		}
		if r.Data, err = codec.Decode(r.Type, r.SchemaVersion, payload); err != nil {
			return nil, err
		}
		var m map[string]string
		if err := json.Unmarshal(metadata, &m); err != nil {
			return nil, fmt.Errorf("metadata of event %s: %w", id, err)
		}
		r.Metadata = metadataFromMap(m)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Metadata keys; correlation_id is also the key Watermill's CorrelationID
// middleware reads.
const (
	metaActorID       = "actor_id"
	metaOrgID         = "org_id"
	metaCorrelationID = "correlation_id"
	metaCausationID   = "causation_id"
)

func metadataJSON(m eventstore.Metadata) map[string]string {
	out := map[string]string{}
	for k, v := range map[string]string{
		metaActorID: m.ActorID, metaOrgID: m.OrgID, metaCorrelationID: m.CorrelationID, metaCausationID: m.CausationID,
	} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

func metadataFromMap(m map[string]string) eventstore.Metadata {
	return eventstore.Metadata{
		ActorID:       m[metaActorID],
		OrgID:         m[metaOrgID],
		CorrelationID: m[metaCorrelationID],
		CausationID:   m[metaCausationID],
	}
}

// timeFormat is how recorded_at travels in Watermill metadata.
const timeFormat = time.RFC3339Nano
