package mail

import (
	"context"
	"sync"
)

// sentMarker writes the "sent" records of a dispatcher's workers in groups:
// a worker hands over the row the relay just accepted; the marker writes
// every row handed over meanwhile in one UPDATE. A worker goes on with its
// next message but lets the relay accept it only once its previous record
// is committed (ReadySender), so the at-least-once window stays one message
// per worker, while the database sees one commit per group instead of one
// per message, and its round trip overlaps the relay's.
type sentMarker struct {
	d     *Dispatcher
	queue chan markRequest
	once  sync.Once
}

type markRequest struct {
	ctx  context.Context
	row  claimedRow
	done chan error
}

func newSentMarker(d *Dispatcher) *sentMarker {
	return &sentMarker{d: d, queue: make(chan markRequest, d.opts.Workers)}
}

// mark is a markFunc.
func (m *sentMarker) mark(ctx context.Context, row claimedRow) <-chan error {
	done := make(chan error, 1)
	// No select on ctx: the record must be written even when the
	// dispatcher is stopping, and the marker runs until every worker has
	// returned.
	m.queue <- markRequest{ctx: ctx, row: row, done: done}
	return done
}

// run serves the queue until close; it returns once the queue is drained.
func (m *sentMarker) run() {
	group := make([]markRequest, 0, cap(m.queue))
	for first := range m.queue {
		group = append(group[:0], first)
	collect:
		for len(group) < cap(m.queue) {
			select {
			case next, ok := <-m.queue:
				if !ok {
					break collect
				}
				group = append(group, next)
			default:
				break collect
			}
		}
		rows := make([]claimedRow, len(group))
		for i, r := range group {
			rows[i] = r.row
		}
		err := m.d.markSentRows(first.ctx, rows)
		for _, r := range group {
			r.done <- err
		}
	}
}

// close ends run once the queue is empty; call it after every worker
// returned.
func (m *sentMarker) close() { m.once.Do(func() { close(m.queue) }) }
