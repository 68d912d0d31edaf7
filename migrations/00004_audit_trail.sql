-- +goose Up
-- Read model: every event as an auditor reads it, per import and per account.
-- Built by the audit projection (proj.audit_trail.v1) from the events table.
CREATE TABLE audit_trail (
    position       bigint      PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    stream_id      text        NOT NULL,
    stream_version bigint      NOT NULL,
    event_type     text        NOT NULL,
    org_id         uuid,
    actor_id       uuid,
    correlation_id text,
    data           jsonb       NOT NULL,
    recorded_at    timestamptz NOT NULL
);
CREATE INDEX audit_trail_stream ON audit_trail (stream_id, stream_version);
CREATE INDEX audit_trail_org ON audit_trail (org_id, position);

-- +goose Down
DROP TABLE audit_trail;
