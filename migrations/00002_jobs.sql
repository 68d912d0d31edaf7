-- +goose Up
-- Long work (validating or committing a large file) runs as a job: claimed
-- with FOR UPDATE SKIP LOCKED, held by a lease, run outside any transaction,
-- its progress checkpointed in the same short transactions as its work.
CREATE TABLE jobs (
    id           uuid        PRIMARY KEY,
    kind         text        NOT NULL,
    org_id       uuid,
    payload      jsonb       NOT NULL DEFAULT '{}',
    progress     jsonb       NOT NULL DEFAULT '{}',
    state        text        NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'running', 'done', 'failed')),
    attempts     int         NOT NULL DEFAULT 0,
    max_attempts int         NOT NULL DEFAULT 10,
    lease_token  uuid,
    lease_owner  text,
    lease_until  timestamptz,
    run_after    timestamptz NOT NULL DEFAULT now(),
    last_error   text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
CREATE INDEX jobs_claimable ON jobs (run_after) WHERE state IN ('pending', 'running');

-- +goose Down
DROP TABLE jobs;
