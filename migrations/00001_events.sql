-- +goose Up
-- The event store. The events table IS the Watermill topic read by
-- watermill-sql's subscriber: the columns it reads ("offset", transaction_id,
-- uuid, payload, metadata) plus the stream bookkeeping of event sourcing.
CREATE TABLE events (
    "offset"        bigint GENERATED ALWAYS AS IDENTITY,
    transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
    uuid            text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  bigint      NOT NULL CHECK (stream_version > 0),
    event_type      text        NOT NULL,
    schema_version  int         NOT NULL DEFAULT 1,
    payload         jsonb       NOT NULL,
    metadata        jsonb       NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (transaction_id, "offset"),
    UNIQUE (stream_id, stream_version),
    UNIQUE (uuid)
);
CREATE INDEX events_offset ON events ("offset");

-- One row per stream: the row lock serialises appends to a stream and the
-- version is the optimistic-concurrency check.
CREATE TABLE streams (
    stream_id  text   PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- watermill-sql's offsets table: one row per consumer group
-- (proj.<name>.v<N> for read models, saga.<name> for process managers).
CREATE TABLE event_checkpoints (
    consumer_group                varchar(255) PRIMARY KEY,
    offset_acked                  bigint,
    last_processed_transaction_id xid8 NOT NULL
);

-- Messages a consumer gave up on after its bounded retries. Written in the
-- consumer's own transaction, so a poisoned event is recorded exactly once.
CREATE TABLE poisoned_events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer_group text        NOT NULL,
    event_uuid     text        NOT NULL,
    reason         text        NOT NULL,
    metadata       jsonb       NOT NULL DEFAULT '{}',
    poisoned_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer_group, event_uuid)
);

-- +goose Down
DROP TABLE poisoned_events;
DROP TABLE event_checkpoints;
DROP TABLE streams;
DROP TABLE events;
