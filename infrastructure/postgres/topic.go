package postgres

import (
	stdsql "database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/eventstore"
)

// eventsTopic is the Watermill topic name; the schema adapter maps it to the
// events table.
const eventsTopic = "events"

// Metadata keys the schema adapter adds to each Watermill message from the
// event's own columns.
const (
	metaEventType     = "event_type"
	metaStreamID      = "stream_id"
	metaStreamVersion = "stream_version"
	metaSchemaVersion = "schema_version"
	metaRecordedAt    = "recorded_at"
	metaPosition      = "position"
)

// eventsSchema makes watermill-sql read the events table. Only the read side
// is used: events are written by EventStore.AppendTx, never by a Watermill
// publisher, so they carry their stream bookkeeping.
type eventsSchema struct {
	batchSize int
}

var _ wsql.SchemaAdapter = eventsSchema{}

func (eventsSchema) InsertQuery(wsql.InsertQueryParams) (wsql.Query, error) {
	return wsql.Query{}, errors.New("postgres: events are appended through the event store, not published through Watermill")
}

// SchemaInitializingQueries is empty: goose migrations own the schema.
func (eventsSchema) SchemaInitializingQueries(wsql.SchemaInitializingQueriesParams) ([]wsql.Query, error) {
	return nil, nil
}

// SubscribeIsolationLevel: repeatable read, as watermill-sql's own Postgres
// schema, so the batch and the checkpoint see one snapshot.
func (eventsSchema) SubscribeIsolationLevel() stdsql.IsolationLevel {
	return stdsql.LevelRepeatableRead
}

// SelectQuery returns the next batch after the consumer group's checkpoint,
// in (transaction id, offset) order, and only from transactions older than
// every transaction still open, so a slow writer's events are never skipped.
func (s eventsSchema) SelectQuery(params wsql.SelectQueryParams) (wsql.Query, error) {
	next, err := params.OffsetsAdapter.NextOffsetQuery(wsql.NextOffsetQueryParams{
		Topic: params.Topic, ConsumerGroup: params.ConsumerGroup,
	})
	if err != nil {
		return wsql.Query{}, err
	}
	// "After the checkpoint" is a row comparison, which PostgreSQL reads as
	// a range of the (transaction_id, offset) index: the same condition
	// written as "same transaction and later offset, or later transaction"
	// bounded only the top of the scan, so every batch walked the index from
	// the first event (0.9 s a batch at a million events; a rebuild grew
	// with the square of the store).
	q := `
	WITH last_processed AS (` + next.Query + `)
	SELECT "offset", transaction_id, uuid, payload, metadata,
	       stream_id, stream_version, event_type, schema_version, created_at
	FROM events
	WHERE (transaction_id, "offset") > ((SELECT last_processed_transaction_id FROM last_processed), (SELECT offset_acked FROM last_processed))
	AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
	ORDER BY transaction_id, "offset"
	LIMIT ` + strconv.Itoa(s.batchSize)
	return wsql.Query{Query: q, Args: next.Args}, nil
}

func (eventsSchema) UnmarshalMessage(params wsql.UnmarshalMessageParams) (wsql.Row, error) {
	var (
		r             wsql.Row
		transactionID wsql.XID8
		streamID      string
		version       int64
		eventType     string
		schemaVersion int
		createdAt     time.Time
	)
	if err := params.Row.Scan(&r.Offset, &transactionID, &r.UUID, &r.Payload, &r.Metadata,
		&streamID, &version, &eventType, &schemaVersion, &createdAt); err != nil {
		return wsql.Row{}, fmt.Errorf("scan event row: %w", err)
	}
	msg := message.NewMessage(string(r.UUID), r.Payload)
	if len(r.Metadata) > 0 {
		if err := json.Unmarshal(r.Metadata, &msg.Metadata); err != nil {
			return wsql.Row{}, fmt.Errorf("event %s metadata: %w", r.UUID, err)
		}
	}
	if msg.Metadata == nil {
		msg.Metadata = message.Metadata{}
	}
	msg.Metadata.Set(metaStreamID, streamID)
	msg.Metadata.Set(metaStreamVersion, strconv.FormatInt(version, 10))
	msg.Metadata.Set(metaEventType, eventType)
	msg.Metadata.Set(metaSchemaVersion, strconv.Itoa(schemaVersion))
	msg.Metadata.Set(metaRecordedAt, createdAt.UTC().Format(timeFormat))
	msg.Metadata.Set(metaPosition, strconv.FormatInt(r.Offset, 10))
	r.Msg = msg
	r.ExtraData = map[string]any{"transaction_id": transactionID}
	return r, nil
}

// checkpoints is watermill-sql's Postgres offsets adapter on our table.
func checkpoints() wsql.DefaultPostgreSQLOffsetsAdapter {
	return wsql.DefaultPostgreSQLOffsetsAdapter{
		GenerateMessagesOffsetsTableName: func(string) string { return "event_checkpoints" },
	}
}

// recordedFromMessage decodes a Watermill message back into a stored event.
func recordedFromMessage(codec Codec, msg *message.Message) (eventstore.Recorded, error) {
	var r eventstore.Recorded
	var err error
	if r.ID, err = uuid.Parse(msg.UUID); err != nil {
		return r, fmt.Errorf("event id %q: %w", msg.UUID, err)
	}
	r.StreamID = msg.Metadata.Get(metaStreamID)
	r.Type = msg.Metadata.Get(metaEventType)
	if r.Version, err = strconv.ParseInt(msg.Metadata.Get(metaStreamVersion), 10, 64); err != nil {
		return r, fmt.Errorf("event %s version: %w", msg.UUID, err)
	}
	if r.SchemaVersion, err = strconv.Atoi(msg.Metadata.Get(metaSchemaVersion)); err != nil {
		return r, fmt.Errorf("event %s schema version: %w", msg.UUID, err)
	}
	if r.Position, err = strconv.ParseInt(msg.Metadata.Get(metaPosition), 10, 64); err != nil {
		return r, fmt.Errorf("event %s position: %w", msg.UUID, err)
	}
	if r.RecordedAt, err = time.Parse(timeFormat, msg.Metadata.Get(metaRecordedAt)); err != nil {
		return r, fmt.Errorf("event %s time: %w", msg.UUID, err)
	}
	r.Metadata = metadataFromMap(msg.Metadata)
	r.Data, err = codec.Decode(r.Type, r.SchemaVersion, msg.Payload)
	return r, err
}
