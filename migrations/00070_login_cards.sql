-- +goose Up
-- The login cards of an import that generated its new accounts' passwords:
-- one window per import (when its cards expire, 24 h after the commit) and
-- one sealed password per account, written with the account in the commit's
-- transaction. The passwords are sealed with ROLLCALL_SECRET_KEY, bound to
-- the account id (`rollcall secrets rotate` re-seals them). Every process's
-- sweeper deletes a window once it expires, its cards with it; downloads
-- are refused from expires_at on even before the sweep.
CREATE TABLE login_card_windows (
    import_id  uuid PRIMARY KEY,
    org_id     uuid NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX login_card_windows_expiry ON login_card_windows (expires_at);

CREATE TABLE login_cards (
    account_id uuid PRIMARY KEY,
    import_id  uuid NOT NULL REFERENCES login_card_windows (import_id) ON DELETE CASCADE,
    row_number int NOT NULL,
    password   bytea NOT NULL
);
CREATE INDEX login_cards_import ON login_cards (import_id, row_number);

-- +goose Down
DROP TABLE login_cards;
DROP TABLE login_card_windows;
