package mail

import (
	"context"
	"testing"
	"time"
)

func TestRelayGate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	g := newRelayGate(func(pauses int) time.Duration { return time.Duration(pauses) * 30 * time.Millisecond })

	// Four workers start in the same epoch and are all refused: one pause.
	var epochs [4]int
	for i := range epochs {
		epochs[i], _ = g.pass(ctx)
	}
	var pauses []time.Duration
	for _, e := range epochs {
		pauses = append(pauses, g.refused(e))
	}
	if pauses[0] != 30*time.Millisecond || pauses[1] != 0 || pauses[2] != 0 || pauses[3] != 0 {
		t.Fatalf("pauses %v, want one of 30ms", pauses)
	}

	// After the pause one worker probes; the others wait for its outcome.
	start := time.Now()
	probe, err := g.pass(ctx)
	if err != nil || time.Since(start) < 25*time.Millisecond {
		t.Fatalf("the probe passed after %s (%v), inside the pause", time.Since(start), err)
	}
	waiting, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := g.pass(waiting); err == nil {
		t.Fatal("a second worker passed while the probe was out")
	}

	// The probe is refused too: a longer pause, and still one probe at a
	// time after it.
	if p := g.refused(probe); p != 60*time.Millisecond {
		t.Fatalf("second pause %s, want 60ms", p)
	}
	if _, err := g.pass(ctx); err != nil {
		t.Fatal(err)
	}
	released := make(chan error, 1)
	go func() {
		_, err := g.pass(ctx)
		released <- err
	}()
	select {
	case <-released:
		t.Fatal("passed before the probe's outcome")
	case <-time.After(50 * time.Millisecond):
	}
	// Accepted: every worker goes again, no pause.
	g.answered()
	select {
	case err := <-released:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		t.Fatal("the waiting worker was not released by the probe's success")
	}
	// An open gate lets a worker through without waiting, even one whose
	// context is already done.
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	if _, err := g.pass(done); err != nil {
		t.Fatalf("after a success the gate still holds workers: %v", err)
	}
}
