-- +goose Up
-- account_logins becomes the write-side state of the Account aggregate: the
-- snapshot written in the same transaction as the account's events, so an
-- import decides ten thousand rows against ten thousand accounts without
-- replaying their streams. version is the stream version it reflects.
ALTER TABLE account_logins
    ADD COLUMN first_name text    NOT NULL DEFAULT '',
    ADD COLUMN last_name  text    NOT NULL DEFAULT '',
    ADD COLUMN tag_ids    uuid[]  NOT NULL DEFAULT '{}',
    ADD COLUMN preset_id  uuid,
    ADD COLUMN import_id  uuid,
    ADD COLUMN active     boolean NOT NULL DEFAULT true,
    ADD COLUMN version    bigint  NOT NULL DEFAULT 0;
UPDATE account_logins l
SET first_name = v.first_name, last_name = v.last_name, tag_ids = v.tag_ids, import_id = v.import_id
FROM accounts_view v WHERE v.id = l.account_id;
UPDATE account_logins l SET version = s.version
FROM streams s WHERE s.stream_id = 'account-' || l.account_id::text;
CREATE INDEX account_logins_org_import ON account_logins (org_id, import_id);

-- The review is a dry run: an existing row keeps everything it would change
-- (diff) and, as a bit mask over the sixteen existing-account policies,
-- under which it changes something (changed_under), so choosing a policy
-- re-counts and re-lists the rows without deciding again. A row's own
-- password waits for the commit sealed with the server key, bound to the
-- import and the row; it is erased when the import ends.
ALTER TABLE import_rows
    ADD COLUMN diff            jsonb,
    ADD COLUMN changed_under   int NOT NULL DEFAULT 0,
    ADD COLUMN password_sealed bytea;

-- The mass-change guard (Canvas's change_threshold): a commit changing more
-- than this share of the organization's accounts must be confirmed.
ALTER TABLE organizations
    ADD COLUMN change_threshold_percent int NOT NULL DEFAULT 10
        CHECK (change_threshold_percent BETWEEN 0 AND 100);

ALTER TABLE accounts_view ADD COLUMN active boolean NOT NULL DEFAULT true;

-- +goose Down
ALTER TABLE accounts_view DROP COLUMN active;
ALTER TABLE organizations DROP COLUMN change_threshold_percent;
ALTER TABLE import_rows DROP COLUMN diff, DROP COLUMN changed_under, DROP COLUMN password_sealed;
DROP INDEX account_logins_org_import;
ALTER TABLE account_logins DROP COLUMN first_name, DROP COLUMN last_name, DROP COLUMN tag_ids,
    DROP COLUMN preset_id, DROP COLUMN import_id, DROP COLUMN active, DROP COLUMN version;
