-- +goose Up
-- An administrator's Google connection: the OAuth token sealed with
-- ROLLCALL_SECRET_KEY (bound to the account), refreshed in place.
CREATE TABLE google_connections (
    account_id   uuid PRIMARY KEY REFERENCES account_logins (account_id) ON DELETE CASCADE,
    org_id       uuid NOT NULL,
    google_email text NOT NULL,
    token        bytea NOT NULL,
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- A connection in progress: the OAuth state, bound to the administrator,
-- with the PKCE verifier sealed; single use, short-lived.
CREATE TABLE google_oauth_states (
    state      text PRIMARY KEY,
    account_id uuid NOT NULL,
    verifier   bytea NOT NULL,
    expires_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE google_oauth_states;
DROP TABLE google_connections;
