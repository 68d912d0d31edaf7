package throttle

import (
	"net/netip"
	"testing"
	"time"
)

var t0 = time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)

func TestDelayGrowsFromFirstToMax(t *testing.T) {
	p := SignInRules().Account
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {9, 0}, {10, time.Second}, {11, 2 * time.Second}, {12, 4 * time.Second},
		{17, 128 * time.Second}, {18, 256 * time.Second}, {19, 5 * time.Minute}, {1000, 5 * time.Minute},
	}
	for _, tt := range tests {
		if got := p.Delay(tt.failures); got != tt.want {
			t.Errorf("Delay(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestWait(t *testing.T) {
	p := SignInRules().Account
	tests := []struct {
		name string
		c    Counter
		now  time.Time
		want time.Duration
	}{
		{"no failures", Counter{}, t0, 0},
		{"nine failures just now", Counter{9, t0}, t0, 0},
		{"ten failures just now", Counter{10, t0}, t0, time.Second},
		{"ten failures, half a second ago", Counter{10, t0}, t0.Add(500 * time.Millisecond), 500 * time.Millisecond},
		{"ten failures, the wait is over", Counter{10, t0}, t0.Add(time.Second), 0},
		{"twelve failures, one second ago", Counter{12, t0}, t0.Add(time.Second), 3 * time.Second},
		{"at the cap", Counter{40, t0}, t0.Add(time.Minute), 4 * time.Minute},
		{"forgotten after a quiet quarter of an hour", Counter{40, t0}, t0.Add(15 * time.Minute), 0},
	}
	for _, tt := range tests {
		if got := p.Wait(tt.c, tt.now); got != tt.want {
			t.Errorf("%s: Wait = %s, want %s", tt.name, got, tt.want)
		}
	}
}

// The longest wait must be shorter than the quiet time that forgets: else a
// guesser trying once each time the wait runs out would start afresh with
// free failures.
func TestWaitsEndBeforeFailuresAreForgotten(t *testing.T) {
	r := SignInRules()
	for name, p := range map[string]Policy{"account": r.Account, "address": r.Address} {
		if p.Max >= p.Forget || p.First <= 0 || p.Free < 1 {
			t.Errorf("%s policy %+v: want 0 < First, Max < Forget, Free ≥ 1", name, p)
		}
	}
	if r.ForgetAfter() != 15*time.Minute {
		t.Errorf("ForgetAfter = %s", r.ForgetAfter())
	}
}

func TestBegin(t *testing.T) {
	r := SignInRules()
	tests := []struct {
		name      string
		given     Counters
		now       time.Time
		then      Counters
		wantRetry time.Duration
	}{
		{"first attempt counts on both keys", Counters{}, t0,
			Counters{Counter{1, t0}, Counter{1, t0}}, 0},
		{"the tenth attempt is still free", Counters{Counter{9, t0}, Counter{9, t0}}, t0,
			Counters{Counter{10, t0}, Counter{10, t0}}, 0},
		{"the eleventh waits a second and changes nothing", Counters{Counter{10, t0}, Counter{10, t0}}, t0.Add(200 * time.Millisecond),
			Counters{Counter{10, t0}, Counter{10, t0}}, 800 * time.Millisecond},
		{"after the wait it goes ahead", Counters{Counter{10, t0}, Counter{10, t0}}, t0.Add(time.Second),
			Counters{Counter{11, t0.Add(time.Second)}, Counter{11, t0.Add(time.Second)}}, 0},
		{"a busy address makes every account wait", Counters{Counter{0, time.Time{}}, Counter{100, t0}}, t0,
			Counters{Counter{0, time.Time{}}, Counter{100, t0}}, time.Second},
		{"the longer of the two waits", Counters{Counter{12, t0}, Counter{100, t0}}, t0,
			Counters{Counter{12, t0}, Counter{100, t0}}, 4 * time.Second},
		{"old failures are forgotten first", Counters{Counter{30, t0}, Counter{5, t0}}, t0.Add(20 * time.Minute),
			Counters{Counter{1, t0.Add(20 * time.Minute)}, Counter{1, t0.Add(20 * time.Minute)}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, retry := r.Begin(tt.given, tt.now)
			if got != tt.then || retry != tt.wantRetry {
				t.Errorf("Begin = %+v, retry %s; want %+v, retry %s", got, retry, tt.then, tt.wantRetry)
			}
		})
	}
}

func TestSucceededAndAbandoned(t *testing.T) {
	r := SignInRules()
	c := Counters{Counter{7, t0}, Counter{40, t0}}
	if got := r.Succeeded(c); got != (Counters{Address: Counter{39, t0}}) {
		t.Errorf("Succeeded = %+v: want the account cleared and one failure taken back from the address", got)
	}
	if got := r.Abandoned(c); got != (Counters{Counter{6, t0}, Counter{39, t0}}) {
		t.Errorf("Abandoned = %+v: want one failure taken back from each", got)
	}
	if got := r.Abandoned(Counters{Counter{1, t0}, Counter{}}); got != (Counters{}) {
		t.Errorf("Abandoned of a single attempt = %+v, want nothing left", got)
	}
}

// An attacker from one address and the owner from another: the owner waits
// no longer than the wait running when they try, whatever the attacker does
// during it.
func TestOwnerWaitsAtMostTheRunningWait(t *testing.T) {
	r := SignInRules()
	var c Counters
	now := t0
	for range 10 { // the attacker's free failures
		c, _ = r.Begin(c, now)
		now = now.Add(10 * time.Millisecond)
	}
	attacker, owner := c, c
	attacker.Address, owner.Address = c.Address, Counter{}
	_, wait := r.Begin(owner, now)
	if wait <= 0 || wait > r.Account.Delay(10) {
		t.Fatalf("owner's first wait %s, want within (0, %s]", wait, r.Account.Delay(10))
	}
	// The attacker hammers throughout the wait: refused, and nothing grows.
	for d := time.Duration(0); d < wait; d += 50 * time.Millisecond {
		var retry time.Duration
		attacker, retry = r.Begin(attacker, now.Add(d))
		if retry == 0 {
			t.Fatalf("attacker allowed in during the wait at +%s", d)
		}
	}
	owner.Account = attacker.Account
	if _, retry := r.Begin(owner, now.Add(wait)); retry != 0 {
		t.Fatalf("owner still waits %s once the running wait is over", retry)
	}
}

func TestKeys(t *testing.T) {
	tests := []struct {
		got, want Key
	}{
		{AccountKey("  Ria.Root@Lincoln.EDU "), "account:ria.root@lincoln.edu"},
		{AddressKey(netip.MustParseAddr("203.0.113.7")), "address:203.0.113.7"},
		{AddressKey(netip.MustParseAddr("::ffff:203.0.113.7")), "address:203.0.113.7"},
		{AddressKey(netip.MustParseAddr("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "address:2001:db8:1:2::/64"},
		{AddressKey(netip.MustParseAddr("2001:db8:1:2::9")), "address:2001:db8:1:2::/64"},
		{AddressKey(netip.Addr{}), "address:unknown"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("key %q, want %q", tt.got, tt.want)
		}
	}
}
