-- +goose Up
-- Email changes waiting for their link to be followed. Only the SHA-256 of
-- the link's token is kept, so a leaked table changes nobody's email. A row
-- is used once (used_at); a newer request of the same account replaces the
-- older ones still unused; rows are kept after use so a second click is
-- told "used", not "unknown".
CREATE TABLE email_changes (
    token_hash   bytea PRIMARY KEY,
    account_id   uuid NOT NULL REFERENCES account_logins (account_id) ON DELETE CASCADE,
    org_id       uuid NOT NULL,
    from_email   text NOT NULL,
    to_email     text NOT NULL,
    requested_by uuid NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX email_changes_account ON email_changes (account_id) WHERE used_at IS NULL;

-- +goose Down
DROP TABLE email_changes;
