package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
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

// Append writes the appends in one short transaction.
func (s *EventStore) Append(ctx context.Context, appends ...eventstore.Append) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		return s.AppendTx(ctx, tx, appends...)
	})
	if errors.Is(err, errReplay) {
		return nil
	}
	return err
}

// errReplay: every event of the append was stored already, under the same
// versions. The caller's transaction is rolled back (the versions must not be
// bumped twice) and the append counts as done.
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
	appends = slices.DeleteFunc(slices.Clone(appends), func(a eventstore.Append) bool { return len(a.Events) == 0 })
	if len(appends) == 0 {
		return nil
	}
	streamIDs := make([]string, 0, len(appends))
	for _, a := range appends {
		if a.StreamID == "" {
			return errors.New("postgres: append to an empty stream id")
		}
		streamIDs = append(streamIDs, a.StreamID)
	}
	slices.Sort(streamIDs)
	if len(slices.Compact(slices.Clone(streamIDs))) != len(streamIDs) {
		return errors.New("postgres: one append names the same stream twice")
	}

	// An advisory lock per stream, taken in sorted key order so two appends
	// touching the same streams cannot deadlock. It comes before the stream
	// row because a new stream has no row to lock yet, and inserting one
	// would give this transaction its id before it holds the lock.
	if _, err := tx.Exec(ctx, `
		SELECT pg_advisory_xact_lock(k)
		FROM (SELECT DISTINCT hashtextextended(s, 0) AS k FROM unnest($1::text[]) AS s) keys
		ORDER BY k`, streamIDs); err != nil {
		return fmt.Errorf("lock streams: %w", err)
	}
	if _, err := tx.Exec(ctx,
		`INSERT INTO streams (stream_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`, streamIDs); err != nil {
		return fmt.Errorf("create streams: %w", err)
	}
	rows, err := tx.Query(ctx,
		`SELECT stream_id, version FROM streams WHERE stream_id = ANY($1) ORDER BY stream_id FOR UPDATE`, streamIDs)
	if err != nil {
		return fmt.Errorf("lock streams: %w", err)
	}
	current := make(map[string]int64, len(streamIDs))
	for rows.Next() {
		var id string
		var version int64
		if err := rows.Scan(&id, &version); err != nil {
			rows.Close()
			return err
		}
		current[id] = version
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("lock streams: %w", err)
	}

	var (
		ids, streams, types, payloads, metadata []string
		versions                                []int64
		schemaVersions                          []int32
		newVersions                             = make([]int64, 0, len(appends))
		newVersionStreams                       = make([]string, 0, len(appends))
	)
	for _, a := range appends {
		version := current[a.StreamID]
		if a.ExpectedVersion != eventstore.AnyVersion && a.ExpectedVersion != version {
			// A retried request whose events are all stored already is a
			// success, not a conflict.
			replay, err := s.alreadyStored(ctx, tx, appends)
			if err != nil || replay {
				return err
			}
			return &eventstore.ConcurrencyError{StreamID: a.StreamID, Expected: a.ExpectedVersion, Actual: version}
		}
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
			version++
			ids = append(ids, ev.ID.String())
			streams = append(streams, a.StreamID)
			versions = append(versions, version)
			types = append(types, name)
			schemaVersions = append(schemaVersions, int32(schemaVersion))
			payloads = append(payloads, string(payload))
			metadata = append(metadata, string(meta))
		}
		newVersionStreams = append(newVersionStreams, a.StreamID)
		newVersions = append(newVersions, version)
	}

	// unnest keeps the array order, so offsets follow version order. An id
	// already stored is skipped by the unique index rather than looked up
	// first; then every id must have been stored (a replay), or none.
	tag, err := tx.Exec(ctx, `
		INSERT INTO events (uuid, stream_id, stream_version, event_type, schema_version, payload, metadata)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
		ON CONFLICT (uuid) DO NOTHING`,
		ids, streams, versions, types, schemaVersions, payloads, metadata)
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	switch inserted := int(tag.RowsAffected()); {
	case inserted == 0:
		return errReplay
	case inserted < len(ids):
		return fmt.Errorf("postgres: %d of %d events of this append are already stored", len(ids)-inserted, len(ids))
	}
	if _, err := tx.Exec(ctx, `
		UPDATE streams s SET version = v.version, updated_at = now()
		FROM unnest($1::text[], $2::bigint[]) AS v(stream_id, version)
		WHERE s.stream_id = v.stream_id`, newVersionStreams, newVersions); err != nil {
		return fmt.Errorf("bump stream versions: %w", err)
	}
	return nil
}

// alreadyStored reports whether every event of the append is already stored
// (a retried request): that is success, not a conflict. A partial overlap is a
// programming error and refused.
func (s *EventStore) alreadyStored(ctx context.Context, tx pgx.Tx, appends []eventstore.Append) (bool, error) {
	var ids []string
	for _, a := range appends {
		for _, ev := range a.Events {
			ids = append(ids, ev.ID.String())
		}
	}
	var found int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM events WHERE uuid = ANY($1)`, ids).Scan(&found); err != nil {
		return false, fmt.Errorf("check replay: %w", err)
	}
	switch found {
	case 0:
		return false, nil
	case len(ids):
		return true, nil
	default:
		return false, fmt.Errorf("postgres: %d of %d events of this append are already stored", found, len(ids))
	}
}

// Load returns a stream's events in version order.
func (s *EventStore) Load(ctx context.Context, streamID string) ([]eventstore.Recorded, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT "offset", uuid, stream_id, stream_version, event_type, schema_version, payload, metadata, created_at
		FROM events WHERE stream_id = $1 ORDER BY stream_version`, streamID)
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
		if r.Data, err = s.codec.Decode(r.Type, r.SchemaVersion, payload); err != nil {
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
