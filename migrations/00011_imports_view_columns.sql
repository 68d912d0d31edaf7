-- +goose Up
-- The imports read model becomes a table whose columns are what lists,
-- filters and operators use (state, step, counts, progress, file, who,
-- when), updated by each event alone: proj.imports.v2 folds the event onto
-- the import's state kept in `snapshot` (the domain's own encoding of the
-- import, importsession.Snapshot; never a password) instead of replaying
-- the stream. The new consumer group builds it from the first event.
DROP TABLE imports_view;
CREATE TABLE imports_view (
    id               uuid PRIMARY KEY,
    org_id           uuid NOT NULL,
    created_by       uuid NOT NULL,
    created_by_email text NOT NULL,
    source           text NOT NULL,
    account_type     text NOT NULL,
    state            text NOT NULL,
    step             text NOT NULL,
    file_name        text NOT NULL,
    file_sha256      text NOT NULL,
    file_rows        int NOT NULL,
    file_headers     jsonb NOT NULL,
    rows_total       int NOT NULL,
    rows_new         int NOT NULL,
    rows_existing    int NOT NULL,
    rows_changed     int NOT NULL,
    rows_unchanged   int NOT NULL,
    rows_invalid     int NOT NULL,
    rows_blank       int NOT NULL,
    progress_done    int NOT NULL,
    progress_total   int NOT NULL,
    created          int NOT NULL,
    updated          int NOT NULL,
    failed           int NOT NULL,
    follow_up_of     uuid,
    completed_at     timestamptz,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    version          bigint NOT NULL,
    snapshot         jsonb NOT NULL
);
CREATE INDEX imports_view_org ON imports_view (org_id, updated_at DESC);
CREATE INDEX imports_view_same_file ON imports_view (org_id, file_sha256) WHERE file_sha256 <> '';

-- +goose Down
DROP TABLE imports_view;
CREATE TABLE imports_view (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL,
    created_by uuid NOT NULL,
    state      text NOT NULL,
    doc        jsonb NOT NULL,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX imports_view_org ON imports_view (org_id, created_at DESC);
