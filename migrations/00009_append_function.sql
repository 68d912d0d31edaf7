-- +goose Up
-- An append is one call of rollcall_append, so a single append is one round
-- trip and one statement, and a batch of a thousand events over a thousand
-- streams is still one. The streams table goes: a stream's version is the
-- highest stream_version of its events (an index-only lookup on
-- UNIQUE(stream_id, stream_version)), and concurrent appends to a stream are
-- serialised by an advisory lock on it, taken before the transaction's first
-- write so that a stream's later version always has a later transaction id
-- (consumers deliver in transaction-id order; see docs/event-store.md).
DROP TABLE streams;
-- Text compared byte by byte: no locale can slow the two unique indexes down
-- or order ids differently on another server.
ALTER TABLE events ALTER COLUMN stream_id TYPE text COLLATE "C", ALTER COLUMN uuid TYPE text COLLATE "C";

-- +goose StatementBegin
CREATE FUNCTION rollcall_append(
    p_streams       text[],   -- the append's streams, each once
    p_expected      bigint[], -- per stream: the expected version, 0 for a new stream, -1 for any
    p_event_streams int[],    -- per event: its stream, as a 1-based index into p_streams
    p_ids           text[],
    p_types         text[],
    p_schemas       int[],
    p_payloads      jsonb[],
    p_metadata      jsonb[]
) RETURNS int               -- events inserted
LANGUAGE plpgsql AS $$
DECLARE
    current bigint[];
BEGIN
    -- Streams that exist (or may) are locked, in key order so two appends
    -- over the same streams cannot deadlock, and their versions checked. A
    -- new stream needs neither: UNIQUE(stream_id, stream_version) refuses a
    -- second creator, and any later append to it waits for this transaction
    -- to commit, so gets a later transaction id. A commit creating ten
    -- thousand accounts pays for no lock.
    PERFORM pg_advisory_xact_lock(k)
    FROM (SELECT DISTINCT hashtextextended(s.id, 0) AS k
          FROM unnest(p_streams, p_expected) AS s(id, expected) WHERE s.expected <> 0) keys
    ORDER BY k;

    SELECT array_agg(CASE WHEN s.expected = 0 THEN 0
                          ELSE coalesce((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = s.id), 0) END
                     ORDER BY s.ord)
    INTO current
    FROM unnest(p_streams, p_expected) WITH ORDINALITY AS s(id, expected, ord);

    FOR i IN 1 .. coalesce(array_length(p_streams, 1), 0) LOOP
        IF p_expected[i] > 0 AND p_expected[i] <> current[i] THEN
            RAISE EXCEPTION 'stream % is at version %, expected %', p_streams[i], current[i], p_expected[i]
                USING ERRCODE = 'RC409', DETAIL = p_streams[i] || ' ' || current[i] || ' ' || p_expected[i];
        END IF;
    END LOOP;

    -- Rows are inserted in the order given, so offsets follow versions. An
    -- event id stored already (a retried request) or a new stream that
    -- exists fail on their unique index; the caller tells them apart.
    INSERT INTO events (uuid, stream_id, stream_version, event_type, schema_version, payload, metadata)
    SELECT e.id, p_streams[e.si], current[e.si] + row_number() OVER (PARTITION BY e.si ORDER BY e.ord),
           e.typ, e.sch, e.pay, e.meta
    FROM unnest(p_event_streams, p_ids, p_types, p_schemas, p_payloads, p_metadata)
         WITH ORDINALITY AS e(si, id, typ, sch, pay, meta, ord)
    ORDER BY e.ord;
    RETURN array_length(p_ids, 1);
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION rollcall_append(text[], bigint[], int[], text[], text[], int[], jsonb[], jsonb[]);
ALTER TABLE events ALTER COLUMN stream_id TYPE text COLLATE "default", ALTER COLUMN uuid TYPE text COLLATE "default";
CREATE TABLE streams (
    stream_id  text   PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO streams (stream_id, version) SELECT stream_id, max(stream_version) FROM events GROUP BY stream_id;
