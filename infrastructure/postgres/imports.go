package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/command"
	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/domain/importsession"
)

// Imports is the event-sourced repository of Import aggregates.
type Imports struct {
	store *EventStore
}

var _ command.Imports = (*Imports)(nil)

// NewImports returns the repository.
func NewImports(store *EventStore) *Imports { return &Imports{store: store} }

// Add saves a new import's events.
func (r *Imports) Add(ctx context.Context, imp *importsession.Import, meta command.Metadata) error {
	return r.store.Append(ctx, importAppend(imp, meta))
}

// Load rebuilds an import: the imports read model's snapshot of it serves
// as a starting point, and only the events after it are read, so a long
// commit's thousand progress events are not replayed by every chunk job.
// Without a row (a new import, or a projection being rebuilt) the whole
// stream is read. The stream stays the authority: the snapshot is what the
// aggregate's own apply made of its first events.
func (r *Imports) Load(ctx context.Context, id uuid.UUID) (*importsession.Import, error) {
	imp, err := currentImport(ctx, r.store.pool, r.store.codec, id)
	if err != nil {
		return nil, err
	}
	if imp.Version() == 0 {
		return nil, &importsession.NotFoundError{}
	}
	return imp, nil
}

// currentImport is an import with every event stored so far: the imports
// read model's row, if any, and the events after it.
func currentImport(ctx context.Context, pool *pgxpool.Pool, codec interface {
	Decode(name string, version int, payload []byte) (any, error)
}, id uuid.UUID) (*importsession.Import, error) {
	imp, err := ImportView(ctx, pool, id)
	if errors.Is(err, pgx.ErrNoRows) {
		imp, err = importsession.FromSnapshot(importsession.Snapshot{}), nil
	}
	if err != nil {
		return nil, err
	}
	unseen, err := loadStream(ctx, pool, codec, importsession.StreamID(id), imp.Version())
	if err != nil {
		return nil, err
	}
	for _, ev := range unseen {
		imp.Fold(ev.Data)
	}
	return imp, nil
}

// Update loads, runs fn, and appends what it recorded with the loaded
// version as the expected one, retrying on a concurrent change.
func (r *Imports) Update(ctx context.Context, id uuid.UUID, meta command.Metadata, fn func(*importsession.Import) error) (*importsession.Import, error) {
	for attempt := 0; ; attempt++ {
		imp, err := r.Load(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := fn(imp); err != nil {
			return nil, err
		}
		if len(imp.PendingEvents()) == 0 {
			return imp, nil
		}
		err = r.store.Append(ctx, importAppend(imp, meta))
		var conflict *eventstore.ConcurrencyError
		if errors.As(err, &conflict) && attempt < 10 {
			continue
		}
		return imp, err
	}
}

// UpdateTx is Update inside the caller's transaction (a job batch), without
// retry: the caller's transaction is retried as a whole.
func (r *Imports) UpdateTx(ctx context.Context, tx pgx.Tx, id uuid.UUID, meta command.Metadata, fn func(*importsession.Import) error, more ...eventstore.Append) error {
	imp, err := r.Load(ctx, id)
	if err != nil {
		return err
	}
	if err := fn(imp); err != nil {
		return err
	}
	appends := more
	if len(imp.PendingEvents()) > 0 {
		appends = append(appends, importAppend(imp, meta))
	}
	return r.store.AppendTx(ctx, tx, appends...)
}

func importAppend(imp *importsession.Import, meta command.Metadata) eventstore.Append {
	events := make([]eventstore.Event, len(imp.PendingEvents()))
	for i, e := range imp.PendingEvents() {
		events[i] = eventstore.Event{ID: uuid.New(), Data: e, Metadata: eventMetadata(meta)}
	}
	return eventstore.Append{StreamID: importsession.StreamID(imp.ID()), ExpectedVersion: imp.Version(), Events: events}
}

// NamedExists reports whether every id is a group (tag, preset) of the
// organization.
func (t *Tenancy) NamedExists(ctx context.Context, kind command.ReferenceKind, orgID uuid.UUID, ids []uuid.UUID) (bool, error) {
	if len(ids) == 0 {
		return true, nil
	}
	table, err := referenceTable(kind)
	if err != nil {
		return false, err
	}
	var n int
	if err := t.pool.QueryRow(ctx, `SELECT count(DISTINCT id) FROM `+table+` WHERE org_id = $1 AND id = ANY($2)`, orgID, ids).Scan(&n); err != nil {
		return false, fmt.Errorf("check %s: %w", kind, err)
	}
	distinct := map[uuid.UUID]bool{}
	for _, id := range ids {
		distinct[id] = true
	}
	return n == len(distinct), nil
}
