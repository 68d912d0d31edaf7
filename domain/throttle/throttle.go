// Package throttle is the rule that slows password guessing down: how many
// failed sign-ins an account and a client address may have before they must
// wait, and how long. It is pure: the counters are kept elsewhere and the
// clock is passed in, so every way of signing in (password today, Google
// tomorrow) and every process asks the same rule.
package throttle

import (
	"net/netip"
	"strings"
	"time"
)

// Policy is the rule for one kind of key.
type Policy struct {
	// Free is how many failures cost nothing.
	Free int
	// First is the wait after failure number Free; each further failure
	// doubles it, up to Max.
	First time.Duration
	Max   time.Duration
	// Forget: failures are forgotten once none was added for this long. It
	// is longer than Max, so a patient guesser, trying once each time the
	// wait runs out, keeps the longest wait instead of starting afresh.
	Forget time.Duration
}

// Counter is the failures counted against one key.
type Counter struct {
	Failures int
	Last     time.Time // when the last failure was counted
}

// current is the counter as it stands at now.
func (p Policy) current(c Counter, now time.Time) Counter {
	if c.Failures > 0 && now.Sub(c.Last) >= p.Forget {
		return Counter{}
	}
	return c
}

// Delay is the wait imposed after the given number of failures.
func (p Policy) Delay(failures int) time.Duration {
	if failures < p.Free {
		return 0
	}
	d := p.First
	for i := p.Free; i < failures && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// Wait is how long the key must wait at now before its next attempt; zero
// means it may try.
func (p Policy) Wait(c Counter, now time.Time) time.Duration {
	c = p.current(c, now)
	if c.Failures < p.Free {
		return 0
	}
	return max(0, c.Last.Add(p.Delay(c.Failures)).Sub(now))
}

// Forgotten reports whether the counter no longer counts at now, so its
// storage may be dropped.
func (p Policy) Forgotten(c Counter, now time.Time) bool {
	return p.current(c, now).Failures == 0
}

// Key names what a counter counts against.
type Key string

// AccountKey counts failures against a sign-in name, whether an account has
// it or not: throttling only real accounts would tell which emails exist.
// It is compared as emails are (trimmed, any case).
func AccountKey(email string) Key {
	return Key("account:" + strings.ToLower(strings.TrimSpace(email)))
}

// AddressKey counts failures from one client address. An IPv6 client
// usually holds a whole /64, so the /64 is the address.
func AddressKey(addr netip.Addr) Key {
	addr = addr.Unmap()
	switch {
	case !addr.IsValid():
		return "address:unknown"
	case addr.Is6():
		p, _ := addr.Prefix(64)
		return Key("address:" + p.String())
	}
	return Key("address:" + addr.String())
}

// Rules are the sign-in throttle: one policy per account, one per client
// address.
type Rules struct {
	Account Policy
	Address Policy
}

// SignInRules are the rules Rollcall runs with. An account gets 10 free
// failures, then waits 1 s, 2 s, 4 s … up to 5 minutes before each further
// try. A client address gets 100: a school signs in from behind one address,
// and a class mistyping on a Monday morning is not an attack; one address
// trying a hundred passwords across accounts is.
func SignInRules() Rules {
	return Rules{
		Account: Policy{Free: 10, First: time.Second, Max: 5 * time.Minute, Forget: 15 * time.Minute},
		Address: Policy{Free: 100, First: time.Second, Max: 5 * time.Minute, Forget: 15 * time.Minute},
	}
}

// ForgetAfter is how old a failure must be before no rule counts it: what a
// sweep may delete.
func (r Rules) ForgetAfter() time.Duration { return max(r.Account.Forget, r.Address.Forget) }

// Counters are the two counters an attempt is judged by.
type Counters struct {
	Account Counter
	Address Counter
}

// Begin decides whether an attempt may go ahead at now. When either key
// must wait it may not: retryAfter is the longer wait and the counters are
// left as they were, so attempts refused during a wait neither count nor
// lengthen it, and the owner of an account under attack waits at most the
// wait that is running. When it may, the attempt is counted as a failure on
// both keys at once, before the password is checked, so a burst of
// concurrent attempts cannot all slip in under the limit; Succeeded and
// Abandoned take it back.
func (r Rules) Begin(c Counters, now time.Time) (next Counters, retryAfter time.Duration) {
	c.Account, c.Address = r.Account.current(c.Account, now), r.Address.current(c.Address, now)
	if wait := max(r.Account.Wait(c.Account, now), r.Address.Wait(c.Address, now)); wait > 0 {
		return c, wait
	}
	c.Account = Counter{Failures: c.Account.Failures + 1, Last: now}
	c.Address = Counter{Failures: c.Address.Failures + 1, Last: now}
	return c, 0
}

// Succeeded is an attempt whose password was right: the account's failures
// are forgotten (its owner is in), and the address gets this attempt back
// but keeps its other failures, so signing in to one's own account does not
// wipe out failures against others.
func (r Rules) Succeeded(c Counters) Counters {
	return Counters{Address: refund(c.Address)}
}

// Abandoned is an attempt that was never judged (the server was too busy
// to check the password): both keys get it back.
func (r Rules) Abandoned(c Counters) Counters {
	return Counters{Account: refund(c.Account), Address: refund(c.Address)}
}

func refund(c Counter) Counter {
	if c.Failures <= 1 {
		return Counter{}
	}
	c.Failures--
	return c
}
