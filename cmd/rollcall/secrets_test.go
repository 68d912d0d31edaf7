package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/domain/secret"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

func keyString(t *testing.T) (string, vault.Key) {
	t.Helper()
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	s := base64.StdEncoding.EncodeToString(raw)
	k, err := vault.ParseKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, k
}

// `rollcall secrets rotate` moves every sealed value and upload from the
// previous key to the current one: afterwards the current key alone opens
// them all, and the previous key none.
func TestSecretsRotate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dbURL, uploads := pgtest.NewDatabase(t), t.TempDir()
	oldText, oldKey := keyString(t)
	newText, newKey := keyString(t)
	if oldText == newText {
		t.Fatal("the same key twice")
	}
	m := &Main{Config: Config{DatabaseURL: dbURL, SecretKey: newText, SecretKeyPrevious: oldText, UploadDir: uploads},
		Logger: slog.New(slog.DiscardHandler), Stdout: io.Discard}
	defer m.Close()
	pool, err := m.db(ctx)
	if err != nil {
		t.Fatal(err)
	}
	org, admin, importID, otherImport := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	if _, err := pool.Exec(ctx, `INSERT INTO organizations (id, name) VALUES ($1, 'Lincoln')`, org); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO account_logins (account_id, org_id, email, email_key, role, password_hash)
		VALUES ($1, $2, 'root@lincoln.edu', 'root@lincoln.edu', 'system_admin', 'x')`, admin, org); err != nil {
		t.Fatal(err)
	}

	// Before the rotation: sealed with the old key…
	if err := postgres.NewImportSecrets(pool, oldKey).SaveDefaultPassword(ctx, importID, org, secret.New("Start-2026")); err != nil {
		t.Fatal(err)
	}
	oldGoogle := postgres.NewGoogleConnections(pool, oldKey)
	if err := oldGoogle.SaveToken(ctx, admin, org, "root@lincoln.edu", []byte(`{"refresh_token":"r"}`)); err != nil {
		t.Fatal(err)
	}
	if err := oldGoogle.SaveState(ctx, "state-1", admin, "verifier-1", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	// A login card sealed with the old key.
	if _, err := pool.Exec(ctx, `INSERT INTO login_card_windows (import_id, org_id, expires_at) VALUES ($1, $2, now() + interval '1 hour')`, importID, org); err != nil {
		t.Fatal(err)
	}
	card, err := vault.RowPasswords{Key: oldKey}.SealCard(admin, secret.New("ripple-tundra-abacus-graph-042"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO login_cards (account_id, import_id, row_number, password) VALUES ($1, $2, 1, $3)`, admin, importID, card); err != nil {
		t.Fatal(err)
	}
	oldFiles, _ := vault.NewFileStore(uploads, oldKey)
	upload := []byte("First Name,Email,Password\nAna,ana@x.org,Secret-Pass-1\n")
	if _, _, err := oldFiles.Put(ctx, importID, bytes.NewReader(upload), 0); err != nil {
		t.Fatal(err)
	}
	// …and, once the processes run with both keys, new data under the new one.
	rotating, err := m.secretKey()
	if err != nil || !rotating.HasPrevious() {
		t.Fatalf("secretKey: %v", err)
	}
	if err := postgres.NewImportSecrets(pool, rotating).SaveDefaultPassword(ctx, otherImport, org, secret.New("Other-2026")); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	m.Stdout = &out
	if err := m.Secrets(ctx, []string{"rotate"}); err != nil {
		t.Fatalf("rotate: %v\n%s", err, out.String())
	}
	for _, line := range []string{
		"import_secrets.default_password: 1 re-sealed, 1 already under the new key",
		"google_connections.token: 1 re-sealed, 0 already under the new key",
		"google_oauth_states.verifier: 1 re-sealed, 0 already under the new key",
		"login_cards.password: 1 re-sealed, 0 already under the new key",
		"1 re-encrypted, 0 already under the new key",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, out.String())
		}
	}

	// After: the new key alone opens everything; the old key nothing.
	for _, tt := range []struct {
		name  string
		key   vault.Key
		opens bool
	}{
		{"new key", newKey, true},
		{"old key", oldKey, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for id, want := range map[uuid.UUID]string{importID: "Start-2026", otherImport: "Other-2026"} {
				pw, ok, err := postgres.NewImportSecrets(pool, tt.key).DefaultPassword(ctx, id)
				if (err == nil && ok && pw.Reveal() == want) != tt.opens {
					t.Errorf("default password of %s: %v %v", id, ok, err)
				}
			}
			token, _, err := postgres.NewGoogleConnections(pool, tt.key).Token(ctx, admin)
			if (err == nil && string(token) == `{"refresh_token":"r"}`) != tt.opens {
				t.Errorf("token: %q %v", token, err)
			}
			cards, _, _, err := postgres.NewLoginCards(pool, tt.key).LoginCards(ctx, org, importID)
			if (err == nil && len(cards) == 1 && cards[0].Password.Reveal() == "ripple-tundra-abacus-graph-042") != tt.opens {
				t.Errorf("login card: %v %v", cards, err)
			}
			files, _ := vault.NewFileStore(uploads, tt.key)
			r, c, err := files.Open(ctx, importID)
			if err == nil {
				got, _ := io.ReadAll(r)
				c.Close()
				err = map[bool]error{true: nil, false: vault.ErrTampered}[bytes.Equal(got, upload)]
			}
			if (err == nil) != tt.opens {
				t.Errorf("upload: %v", err)
			}
		})
	}
	if _, verifier, err := postgres.NewGoogleConnections(pool, newKey).TakeState(ctx, "state-1"); err != nil || verifier != "verifier-1" {
		t.Errorf("OAuth state: %q %v", verifier, err)
	}

	// A value under a third key is reported, not silently kept.
	_, stranger := keyString(t)
	if err := postgres.NewImportSecrets(pool, stranger).SaveDefaultPassword(ctx, uuid.New(), org, secret.New("x")); err != nil {
		t.Fatal(err)
	}
	if err := m.Secrets(ctx, []string{"rotate"}); err == nil || !strings.Contains(err.Error(), "open with neither key") {
		t.Errorf("a value under a third key: %v", err)
	}
	// Without a previous key there is nothing to rotate from.
	m.Config.SecretKeyPrevious = ""
	if err := m.Secrets(ctx, []string{"rotate"}); err == nil || !strings.Contains(err.Error(), "ROLLCALL_SECRET_KEY_PREVIOUS is not set") {
		t.Errorf("without a previous key: %v", err)
	}
}
