package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
	"github.com/rollcall/rollcall/infrastructure/vault"
)

// A tenant-scoped read without an organization fails instead of reading
// every organization's rows.
func TestTenantReadsNeedAnOrganization(t *testing.T) {
	pool := pgtest.MustOpenDB(t)
	rm := postgres.NewReadModels(pool, eventcodec.Rollcall())
	tn := postgres.NewTenancy(pool)
	ctx := context.Background()
	reads := map[string]func() error{
		"ListImports": func() error { _, err := rm.ListImports(ctx, uuid.Nil, uuid.Nil, false); return err },
		"Accounts":    func() error { _, err := rm.Accounts(ctx, uuid.Nil, query.AccountFilter{Page: 1}); return err },
		"StreamAudit": func() error { _, err := rm.StreamAudit(ctx, uuid.Nil, "import-x"); return err },
		"AccountReach": func() error {
			_, err := rm.AccountReach(ctx, uuid.Nil, "a@b.org")
			return err
		},
		"SameFile":      func() error { _, err := rm.SameFile(ctx, uuid.Nil, uuid.Nil, "ab", uuid.Nil); return err },
		"CountAccounts": func() error { _, err := tn.CountAccounts(ctx, uuid.Nil); return err },
		"YourAccount":   func() error { _, err := rm.YourAccount(ctx, uuid.Nil, uuid.New()); return err },
		"RecentSignIns": func() error { _, err := rm.RecentSignIns(ctx, uuid.Nil, uuid.New(), 10); return err },
		"ListNamed":     func() error { _, err := tn.ListNamed(ctx, command.Groups, uuid.Nil); return err },
		"LoginCards": func() error {
			_, _, _, err := postgres.NewLoginCards(pool, vault.NewRandomKey()).LoginCards(ctx, uuid.Nil, uuid.New())
			return err
		},
	}
	for name, read := range reads {
		if err := read(); err == nil || !strings.Contains(err.Error(), "needs an organization") {
			t.Errorf("%s without an organization: %v", name, err)
		}
	}
}
