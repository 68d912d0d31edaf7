package mail

import (
	"context"
	"sync"
	"time"
)

// relayGate holds every worker of a dispatcher back while the relay refuses
// to take mail for now (a 421 "closing", a 451 "try later", any 4xx, or a
// connection that fails): a relay that throttles means it for the client,
// not for one message, so continuing with the next message would only earn
// more refusals (and, with some relays, a longer block).
//
// After a refusal every worker waits out a pause (1s, doubling up to a
// minute by default). Then one worker probes with a single message while the
// others wait for its outcome: accepted, or refused for good by a 5xx (the
// relay answers, so it is back), opens the gate; another temporary refusal
// doubles the pause.
type relayGate struct {
	backoff func(pauses int) time.Duration
	now     func() time.Time

	mu      sync.Mutex
	until   time.Time     // no message starts before
	pauses  int           // refusals in a row
	epoch   int           // bumped by each new pause
	probing bool          // a worker is probing; the others wait
	changed chan struct{} // closed (and replaced) when the gate changes
}

// DefaultRelayBackoff pauses the relay 1s after a first refusal, doubling
// up to a minute.
func DefaultRelayBackoff(pauses int) time.Duration {
	return min(time.Second<<min(max(pauses-1, 0), 6), time.Minute)
}

func newRelayGate(backoff func(int) time.Duration) *relayGate {
	return &relayGate{backoff: backoff, now: time.Now, changed: make(chan struct{})}
}

// pass waits until a message may start and returns the epoch it starts in,
// to hand back with its outcome.
func (g *relayGate) pass(ctx context.Context) (epoch int, err error) {
	for {
		g.mu.Lock()
		wait, changed := g.until.Sub(g.now()), g.changed
		switch {
		case wait > 0:
		case g.probing:
			wait = -1 // until the probe's outcome
		default:
			if g.pauses > 0 {
				g.probing = true
			}
			epoch = g.epoch
			g.mu.Unlock()
			return epoch, nil
		}
		g.mu.Unlock()
		if err := sleepOrChange(ctx, wait, changed); err != nil {
			return 0, err
		}
	}
}

func sleepOrChange(ctx context.Context, wait time.Duration, changed <-chan struct{}) error {
	var timeout <-chan time.Time
	if wait > 0 {
		timer := time.NewTimer(wait)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-changed:
	case <-timeout:
	}
	return nil
}

// answered records that the relay took the message, or refused it for good:
// either way it is speaking to us again.
func (g *relayGate) answered() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pauses == 0 && !g.probing {
		return
	}
	g.pauses, g.probing = 0, false
	g.notify()
}

// refused records a temporary refusal of a message started in epoch and
// returns the pause it caused (0 when a pause already covers it: the four
// workers refused at once start one pause, not four).
func (g *relayGate) refused(epoch int) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.probing = false
	defer g.notify()
	if epoch != g.epoch {
		return 0
	}
	g.pauses++
	g.epoch++
	pause := g.backoff(g.pauses)
	g.until = g.now().Add(pause)
	return pause
}

// abandoned ends a probe that had no outcome (the dispatcher is stopping).
func (g *relayGate) abandoned() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.probing {
		g.probing = false
		g.notify()
	}
}

func (g *relayGate) notify() {
	close(g.changed)
	g.changed = make(chan struct{})
}

// waitOpen waits until no pause is running; unlike pass it does not take
// the probe, so a worker may claim its next batch and then queue for it.
func (g *relayGate) waitOpen(ctx context.Context) error {
	for {
		g.mu.Lock()
		wait, changed := g.until.Sub(g.now()), g.changed
		g.mu.Unlock()
		if wait <= 0 {
			return nil
		}
		if err := sleepOrChange(ctx, wait, changed); err != nil {
			return err
		}
	}
}
