package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/rollcall/rollcall/application/query"
	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// Audit is `rollcall audit import ID` and `rollcall audit account EMAIL`:
// who did what, when, with which settings, told in sentences from the audit
// trail, in whichever organization it lives.
func (m *Main) Audit(ctx context.Context, args []string) error {
	if len(args) != 2 || (args[0] != "import" && args[0] != "account") {
		return errors.New("say: rollcall audit import ID, or rollcall audit account EMAIL")
	}
	a, err := m.app(ctx)
	if err != nil {
		return err
	}
	audit, err := query.NewAudit(postgres.NewReadModels(m.pool, m.codec()), a.tenancy)
	if err != nil {
		return err
	}
	trail, err := audit.OperatorTrail(ctx, args[0], args[1])
	if errors.Is(err, query.ErrNotFound) || (err == nil && len(trail) == 0) {
		return fmt.Errorf("no audit trail for %s %s (wrong id or email, or the audit projection is behind: see rollcall projections status)", args[0], args[1])
	}
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POSITION\tAT (UTC)\tEVENT\tBY\tWHAT HAPPENED")
	for _, e := range trail {
		by := e.Actor.Email
		if by == "" {
			by = "(automatic)"
		}
		what := e.Sentence
		if e.Link != nil {
			what += " (" + e.Link.URL + ")"
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\n", e.Position, e.At.UTC().Format(time.DateTime), e.Type, by, what)
	}
	return w.Flush()
}
