-- +goose Up
-- Provenance per field of an account: the import that set it last (NULL:
-- none, such as the person's own password change). Undoing an import puts
-- back only what that import set and nobody changed since.
ALTER TABLE account_logins
    ADD COLUMN names_by    uuid,
    ADD COLUMN group_by    uuid,
    ADD COLUMN tags_by     uuid,
    ADD COLUMN password_by uuid,
    ADD COLUMN active_by   uuid;
UPDATE account_logins SET names_by = import_id, group_by = import_id, tags_by = import_id, password_by = import_id, active_by = import_id
WHERE import_id IS NOT NULL;

-- What each commit did to each account, written in the commit's own
-- transactions, for its undo: the accounts it created, and for the ones it
-- changed what changed (diff, as import_rows.diff) with the password hash
-- and must-change flag they had before (a hash, never a password). Kept for
-- the undo window, then swept.
CREATE TABLE import_account_changes (
    import_id            uuid    NOT NULL,
    seq_all              int     NOT NULL,
    account_id           uuid    NOT NULL,
    created              boolean NOT NULL,
    diff                 jsonb,
    previous_hash        text,
    previous_must_change boolean,
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (import_id, seq_all)
);

-- An undo cancels the welcome emails not sent yet to the accounts it
-- deactivates.
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_state_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_state_check
    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled'));

-- The account list shows the preset an import gave an account.
ALTER TABLE accounts_view ADD COLUMN preset_id uuid;

-- +goose Down
ALTER TABLE accounts_view DROP COLUMN preset_id;
ALTER TABLE mail_outbox DROP CONSTRAINT mail_outbox_state_check;
ALTER TABLE mail_outbox ADD CONSTRAINT mail_outbox_state_check CHECK (state IN ('pending', 'sending', 'sent', 'failed'));
DROP TABLE import_account_changes;
ALTER TABLE account_logins DROP COLUMN names_by, DROP COLUMN group_by, DROP COLUMN tags_by, DROP COLUMN password_by, DROP COLUMN active_by;
