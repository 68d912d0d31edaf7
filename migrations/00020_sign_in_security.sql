-- +goose Up
-- The sign-in throttle's counters, shared by every `rollcall serve` process.
-- key is the SHA-256 of the throttle key ("account:<email>" or
-- "address:<ip>"), so the table holds no email or address in clear. The rule
-- that reads and writes them is domain/throttle; a row whose last failure is
-- older than the rule's quiet period counts for nothing and is swept.
CREATE TABLE sign_in_throttle (
    key          bytea PRIMARY KEY,
    failures     integer NOT NULL DEFAULT 0,
    last_failure timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_throttle_last_failure ON sign_in_throttle (last_failure);

-- Expired sessions are swept; the index keeps each sweep a range scan.
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- +goose Down
DROP INDEX sessions_expires_at;
DROP TABLE sign_in_throttle;
