package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/domain/importsession"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// Audit is `rollcall audit import ID` and `rollcall audit account EMAIL`:
// who did what, when, with which settings, from the audit trail.
func (m *Main) Audit(ctx context.Context, args []string) error {
	if len(args) != 2 || (args[0] != "import" && args[0] != "account") {
		return errors.New("say: rollcall audit import ID, or rollcall audit account EMAIL")
	}
	pool, err := m.db(ctx)
	if err != nil {
		return err
	}
	rm := postgres.NewReadModels(pool)
	var events []query.AuditEvent
	switch args[0] {
	case "import":
		id, err := uuid.Parse(args[1])
		if err != nil {
			return fmt.Errorf("%q is not an import id", args[1])
		}
		events, err = rm.StreamAudit(ctx, uuid.Nil, importsession.StreamID(id))
		if err != nil {
			return err
		}
	case "account":
		id, err := rm.AccountIDByEmail(ctx, uuid.Nil, args[1])
		if err != nil {
			return fmt.Errorf("no account with the email %s", args[1])
		}
		events, err = rm.StreamAudit(ctx, uuid.Nil, "account-"+id.String())
		if err != nil {
			return err
		}
	}
	if len(events) == 0 {
		return fmt.Errorf("no audit trail for %s %s (wrong id, or the audit projection is behind: see rollcall projections status)", args[0], args[1])
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POSITION\tAT (UTC)\tEVENT\tBY\tDETAILS")
	for _, e := range events {
		by := e.Actor.Email
		if by == "" {
			by = "(command line)"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", e.Position, e.At.UTC().Format(time.DateTime), e.Type, by, e.Data)
	}
	return w.Flush()
}
