-- +goose Up
-- Which import queued an email (NULL for those not caused by an import), so
-- an import's page can say how many of its welcome emails could not be
-- delivered, and a partial index for the failed ones, which the metrics
-- count at every scrape.
ALTER TABLE mail_outbox ADD COLUMN import_id uuid;
CREATE INDEX mail_outbox_import ON mail_outbox (import_id, state) WHERE import_id IS NOT NULL;
CREATE INDEX mail_outbox_failed ON mail_outbox (id) WHERE state = 'failed';

-- +goose Down
DROP INDEX mail_outbox_failed;
DROP INDEX mail_outbox_import;
ALTER TABLE mail_outbox DROP COLUMN import_id;
