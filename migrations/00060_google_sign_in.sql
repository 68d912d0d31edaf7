-- +goose Up
-- Sign in with Google, per organization: on by default (the Classroom
-- import's accounts are meant to use it), and optionally limited to the
-- organization's Google Workspace domains (the ID token's hd claim; an
-- empty list allows any Google account whose verified email is the
-- account's).
ALTER TABLE organizations
    ADD COLUMN google_sign_in_enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN google_sign_in_domains text[] NOT NULL DEFAULT '{}';

-- How a session was made: a Google session is not held to "must change
-- password" (that password is its backup), a password session is.
ALTER TABLE sessions
    ADD COLUMN method text NOT NULL DEFAULT 'password' CHECK (method IN ('password', 'google'));

-- +goose Down
ALTER TABLE sessions DROP COLUMN method;
ALTER TABLE organizations DROP COLUMN google_sign_in_domains, DROP COLUMN google_sign_in_enabled;
