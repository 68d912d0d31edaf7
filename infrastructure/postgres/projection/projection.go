// Package projection holds Rollcall's read models: one file per read model,
// each a postgres.Projection that builds plain tables from the events.
package projection

import (
	"github.com/google/uuid"

	"github.com/rollcall/rollcall/infrastructure/postgres"
)

// All lists every read model, for the consumer runner and for
// `rollcall projections status|rebuild`.
func All() []postgres.Projection {
	return []postgres.Projection{
		AuditTrail{},
		Imports{},
		Accounts{},
	}
}

// ByName finds a read model by its name.
func ByName(name string) (postgres.Projection, bool) {
	for _, p := range All() {
		if p.Name() == name {
			return p, true
		}
	}
	return nil, false
}

// nullableUUID turns metadata ids into NULL when absent or malformed, so a
// CLI-made event without an actor still projects.
func nullableUUID(s string) *uuid.UUID {
	id, err := uuid.Parse(s)
	if err != nil {
		return nil
	}
	return &id
}
