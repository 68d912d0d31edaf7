-- +goose Up
-- Organizations and their reference data. These are plain tables, not event
-- streams: they are small, edited by hand, and events refer to them by id.
CREATE TABLE organizations (
    id                    uuid PRIMARY KEY,
    name                  text NOT NULL,
    welcome_email_enabled boolean NOT NULL DEFAULT false,
    created_at            timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE groups (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES organizations (id),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX groups_org_name ON groups (org_id, lower(name));

CREATE TABLE tags (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES organizations (id),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX tags_org_name ON tags (org_id, lower(name));

CREATE TABLE presets (
    id         uuid PRIMARY KEY,
    org_id     uuid NOT NULL REFERENCES organizations (id),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX presets_org_name ON presets (org_id, lower(name));

-- The write side of accounts that is not in their events: the sign-in name
-- claim (unique service-wide, case-insensitive) and the password hash. Written
-- in the same transaction as AccountCreated, so an email ends as exactly one
-- account even when two imports race for it.
CREATE TABLE account_logins (
    account_id           uuid PRIMARY KEY,
    org_id               uuid NOT NULL REFERENCES organizations (id),
    email                text NOT NULL,
    email_key            text NOT NULL,
    role                 text NOT NULL CHECK (role IN ('system_admin', 'admin', 'user')),
    group_id             uuid,
    password_hash        text NOT NULL,
    must_change_password boolean NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX account_logins_email_key ON account_logins (email_key);
CREATE INDEX account_logins_org ON account_logins (org_id);

-- Bearer tokens; only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES account_logins (account_id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);

-- +goose Down
DROP TABLE sessions;
DROP TABLE account_logins;
DROP TABLE presets;
DROP TABLE tags;
DROP TABLE groups;
DROP TABLE organizations;
