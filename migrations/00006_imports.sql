-- +goose Up
-- Secrets of an open import that must survive a restart: the default
-- password, sealed with ROLLCALL_SECRET_KEY. Deleted when the import ends.
CREATE TABLE import_secrets (
    import_id        uuid PRIMARY KEY,
    org_id           uuid NOT NULL,
    default_password bytea,
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Verification rows: one per data row of the file, written by the validation
-- job in short batches (bulk data never travels in events). No password.
CREATE TABLE import_rows (
    import_id  uuid    NOT NULL,
    row_number int     NOT NULL,
    org_id     uuid    NOT NULL,
    status     text    NOT NULL CHECK (status IN ('new', 'existing', 'invalid')),
    first_name text    NOT NULL DEFAULT '',
    last_name  text    NOT NULL DEFAULT '',
    email      text    NOT NULL DEFAULT '',
    email_key  text    NOT NULL DEFAULT '',
    group_name text    NOT NULL DEFAULT '',
    group_id   uuid,
    tags       text[]  NOT NULL DEFAULT '{}',
    tag_ids    uuid[]  NOT NULL DEFAULT '{}',
    has_password boolean NOT NULL DEFAULT false,
    problems   jsonb   NOT NULL DEFAULT '[]',
    -- Positions among all listed rows and among rows of the same status,
    -- numbered by the validation, so page N of any filter is a range scan.
    seq_all    int     NOT NULL,
    seq_status int     NOT NULL,
    PRIMARY KEY (import_id, row_number)
);
CREATE UNIQUE INDEX import_rows_page_all ON import_rows (import_id, seq_all);
CREATE UNIQUE INDEX import_rows_page_status ON import_rows (import_id, status, seq_status);

-- Read model: the wizard state of every import, for the resume list and
-- GET /imports/{id}. Built by proj.imports.v1.
CREATE TABLE imports_view (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL,
    created_by uuid NOT NULL,
    state      text NOT NULL,
    -- The Import as the API shows it (application/query.Import).
    doc        jsonb NOT NULL,
    version    bigint NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX imports_view_org ON imports_view (org_id, created_at DESC);

-- Read model: accounts by organization, group, tag, import and email.
-- Built by proj.accounts.v1.
CREATE TABLE accounts_view (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL,
    email      text NOT NULL,
    email_key  text NOT NULL,
    first_name text NOT NULL,
    last_name  text NOT NULL,
    role       text NOT NULL,
    group_id   uuid,
    tag_ids    uuid[] NOT NULL DEFAULT '{}',
    import_id  uuid,
    created_at timestamptz NOT NULL,
    version    bigint NOT NULL
);
CREATE INDEX accounts_view_org ON accounts_view (org_id, email_key);
CREATE INDEX accounts_view_import ON accounts_view (org_id, import_id);
CREATE INDEX accounts_view_group ON accounts_view (org_id, group_id);
CREATE INDEX accounts_view_tags ON accounts_view USING gin (tag_ids);

-- Emails to send, written in the transaction of the event that causes them
-- (exactly one row per idempotency key) and delivered by the mail dispatcher.
CREATE TABLE mail_outbox (
    id              uuid PRIMARY KEY,
    org_id          uuid NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    to_address      text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    message_id      text NOT NULL,
    state           text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    attempts        int  NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX mail_outbox_claim ON mail_outbox (next_attempt_at) WHERE state IN ('pending', 'sending');

-- +goose Down
DROP TABLE mail_outbox;
DROP TABLE accounts_view;
DROP TABLE imports_view;
DROP TABLE import_rows;
DROP TABLE import_secrets;
