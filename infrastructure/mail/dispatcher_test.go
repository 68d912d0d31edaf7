package mail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/infrastructure/mail/mailtest"
	"github.com/rollcall/rollcall/infrastructure/postgres/pgtest"
)

const testDomain = "school.test"

var testOrg = uuid.MustParse("00000000-0000-7000-8000-000000000001")

func welcome(i int) Message {
	return Message{OrgID: testOrg, IdempotencyKey: fmt.Sprintf("welcome:%d", i), To: fmt.Sprintf("person%d@example.org", i),
		Subject: "Bienvenue, Zoë", Text: fmt.Sprintf("Bonjour n°%d,\nvotre compte est prêt.", i)}
}

func upTo(n int) []int {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	return all
}

func welcomes(n int) []Message {
	msgs := make([]Message, n)
	for i := range msgs {
		msgs[i] = welcome(i)
	}
	return msgs
}

// enqueue queues msgs in a transaction of their own and commits it.
func enqueue(t testing.TB, pool *pgxpool.Pool, msgs ...Message) int {
	t.Helper()
	var n int
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) (err error) {
		n, err = Enqueue(context.Background(), tx, testDomain, msgs...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func noBackoff(int) time.Duration { return 0 }

func newTestDispatcher(t *testing.T, pool *pgxpool.Pool, sender Sender, opts DispatcherOptions) *Dispatcher {
	t.Helper()
	if opts.Backoff == nil {
		opts.Backoff = noBackoff
	}
	d, err := NewDispatcher(pool, sender, quietLogger(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// drain runs DispatchOnce until a round sends nothing.
func drain(t *testing.T, d *Dispatcher) int {
	t.Helper()
	total := 0
	for {
		sent, err := d.DispatchOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if sent == 0 {
			return total
		}
		total += sent
	}
}

type outboxRow struct {
	state, lastError string
	attempts         int
}

func rowByKey(t *testing.T, pool *pgxpool.Pool, key string) outboxRow {
	t.Helper()
	var r outboxRow
	err := pool.QueryRow(context.Background(),
		`SELECT state, attempts, coalesce(last_error, '') FROM mail_outbox WHERE idempotency_key = $1`, key).
		Scan(&r.state, &r.attempts, &r.lastError)
	if err != nil {
		t.Fatalf("row %s: %v", key, err)
	}
	return r
}

func countByState(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, _ := pool.Query(context.Background(), `SELECT state, count(*)::int FROM mail_outbox GROUP BY state`)
	counts := map[string]int{}
	var state string
	var n int
	_, err := pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		counts[state] = n
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

// onceEach checks that msgs hold each of the given welcome emails exactly
// once, counted by Message-ID, and nothing else.
func onceEach(t *testing.T, msgs []mailtest.Received, welcomes ...int) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.MessageID]++
	}
	for _, i := range welcomes {
		id := MessageID(welcome(i).IdempotencyKey, testDomain)
		if seen[id] != 1 {
			t.Errorf("%s (welcome %d) delivered %d times", id, i, seen[id])
		}
		delete(seen, id)
	}
	if len(seen) > 0 {
		t.Errorf("unexpected messages: %v", seen)
	}
}

func TestRolledBackEnqueueSendsNothing(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := Enqueue(ctx, tx, testDomain, welcomes(3)...); err != nil || n != 3 {
		t.Fatalf("enqueue: %d, %v", n, err)
	}
	// The event that caused the emails failed to append: roll back.
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{})
	if sent := drain(t, d); sent != 0 {
		t.Errorf("sent %d", sent)
	}
	if len(server.Messages()) != 0 || len(countByState(t, pool)) != 0 {
		t.Errorf("something was queued or sent: %v", countByState(t, pool))
	}
}

func TestSameKeyQueuesOneEmail(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	if n := enqueue(t, pool, welcome(1), welcome(1)); n != 1 {
		t.Errorf("first enqueue queued %d, want 1", n)
	}
	// The event is redelivered: its handler enqueues the same email again,
	// this time with a different text.
	again := welcome(1)
	again.Text = "another text"
	if n := enqueue(t, pool, again); n != 0 {
		t.Errorf("second enqueue queued %d, want 0", n)
	}
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{})
	if sent := drain(t, d); sent != 1 {
		t.Errorf("sent %d, want 1", sent)
	}
	msgs := server.WaitFor(t, 1, 10*time.Second)
	onceEach(t, msgs, 1)
	if !strings.Contains(msgs[0].Text, "Bonjour n°1") {
		t.Errorf("the first text should win: %q", msgs[0].Text)
	}
	if msgs[0].MessageID != MessageID("welcome:1", testDomain) || msgs[0].Subject != "Bienvenue, Zoë" {
		t.Errorf("got %s %q", msgs[0].MessageID, msgs[0].Subject)
	}
}

func TestEnqueueRefusesHeaderInjection(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	ctx := context.Background()
	for name, change := range map[string]func(*Message){
		"subject":   func(m *Message) { m.Subject = "Hello\r\nBcc: victim@example.org" },
		"recipient": func(m *Message) { m.To = "zoe@example.org\nBcc: victim@example.org" },
		"no key":    func(m *Message) { m.IdempotencyKey = "" },
		"no org":    func(m *Message) { m.OrgID = uuid.Nil },
	} {
		bad := welcome(2)
		change(&bad)
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			_, err := Enqueue(ctx, tx, testDomain, welcome(1), bad)
			return err
		})
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := Enqueue(ctx, tx, "bad domain>", welcome(1))
		return err
	})
	if err == nil {
		t.Error("a Message-ID domain with '>' was accepted")
	}
	if counts := countByState(t, pool); len(counts) != 0 {
		t.Errorf("queued: %v", counts)
	}
}

func TestOutboxQueuesTheImportMails(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	mailer := Outbox{Domain: testDomain}
	err := pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		w := welcome(7)
		return mailer.Enqueue(context.Background(), tx, importing.Mail{OrgID: w.OrgID, IdempotencyKey: w.IdempotencyKey, To: w.To, Subject: w.Subject, Text: w.Text})
	})
	if err != nil {
		t.Fatal(err)
	}
	drain(t, newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{}))
	if m := server.WaitFor(t, 1, 10*time.Second)[0]; m.MessageID != MessageID("welcome:7", testDomain) {
		t.Errorf("Message-ID %s", m.MessageID)
	}
}

func TestTwoDispatchersDeliverEachEmailOnce(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	const n = 200
	if queued := enqueue(t, pool, welcomes(n)...); queued != n {
		t.Fatalf("queued %d", queued)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		// Two processes: each its own sender and connections. Small batches
		// make them meet on the same rows often.
		d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{Batch: 7, Poll: 10 * time.Millisecond})
		wg.Go(func() {
			if err := d.Run(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	server.WaitFor(t, n, time.Minute)
	cancel()
	wg.Wait()
	onceEach(t, server.Messages(), upTo(n)...)
	if counts := countByState(t, pool); counts["sent"] != n {
		t.Errorf("states %v", counts)
	}
	var maxAttempts int
	_ = pool.QueryRow(context.Background(), `SELECT max(attempts) FROM mail_outbox`).Scan(&maxAttempts)
	if maxAttempts != 1 {
		t.Errorf("a row took %d attempts", maxAttempts)
	}
}

func TestTemporaryFailureIsRetried(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcome(1))
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{})

	server.FailNext(1)
	if sent, err := d.DispatchOnce(context.Background()); sent != 0 || err != nil {
		t.Fatalf("first round: %d, %v", sent, err)
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "pending" || r.attempts != 1 || !strings.Contains(r.lastError, "451") {
		t.Errorf("after the 4xx: %+v", r)
	}
	if sent := drain(t, d); sent != 1 {
		t.Errorf("sent %d", sent)
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "sent" || r.attempts != 2 || r.lastError != "" {
		t.Errorf("after the retry: %+v", r)
	}
	onceEach(t, server.WaitFor(t, 1, 10*time.Second), 1)
}

func TestBackoffDelaysTheRetry(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcome(1))
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()),
		DispatcherOptions{Backoff: func(int) time.Duration { return time.Hour }})
	server.FailNext(1)
	if _, err := d.DispatchOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sent := drain(t, d); sent != 0 {
		t.Errorf("retried at once: sent %d", sent)
	}
	var wait time.Duration
	_ = pool.QueryRow(context.Background(),
		`SELECT extract(epoch FROM next_attempt_at - now())::float8 * interval '1 second' FROM mail_outbox`).Scan(&wait)
	if wait < 59*time.Minute || wait > time.Hour {
		t.Errorf("next attempt in %s, want an hour", wait)
	}
}

func TestPermanentFailureFailsAtOnce(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcome(1), welcome(2))
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{})
	server.RejectNext(1)
	if sent := drain(t, d); sent != 1 {
		t.Errorf("sent %d, want 1", sent)
	}
	r := rowByKey(t, pool, "welcome:1")
	if r.state != "failed" || r.attempts != 1 || !strings.Contains(r.lastError, "554") {
		t.Errorf("refused row: %+v", r)
	}
	if r := rowByKey(t, pool, "welcome:2"); r.state != "sent" {
		t.Errorf("the next row: %+v", r)
	}
	if sent := drain(t, d); sent != 0 {
		t.Errorf("a failed row was sent again")
	}
}

func TestTemporaryFailuresGiveUpAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcome(1))
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{MaxAttempts: 3})
	server.FailNext(5)
	for range 5 {
		if _, err := d.DispatchOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "failed" || r.attempts != 3 || !strings.Contains(r.lastError, "451") {
		t.Errorf("row: %+v", r)
	}
	if len(server.Messages()) != 0 {
		t.Error("delivered")
	}
}

// cancelAfter cancels the dispatcher's context once n messages went through,
// between two messages: a shutdown in the middle of a batch.
type cancelAfter struct {
	Sender
	n      int
	cancel context.CancelFunc
	mu     sync.Mutex
	sent   int
}

func (c *cancelAfter) Send(ctx context.Context, m Outgoing) error {
	err := c.Sender.Send(ctx, m)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sent++; c.sent == c.n {
		c.cancel()
	}
	return err
}

func TestShutdownMidBatchHandsTheRestOver(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	const n = 30
	enqueue(t, pool, welcomes(n)...)

	ctx, cancel := context.WithCancel(context.Background())
	first := newTestDispatcher(t, pool, &cancelAfter{Sender: newTestSender(t, server.URL()), n: 10, cancel: cancel},
		DispatcherOptions{Batch: 50, Lease: time.Hour})
	sent, err := first.DispatchOnce(ctx)
	if sent != 10 || !errors.Is(err, context.Canceled) {
		t.Fatalf("first dispatcher: sent %d, %v", sent, err)
	}
	// Handed back at once, attempt refunded: no waiting for the hour-long
	// lease.
	if counts := countByState(t, pool); counts["sent"] != 10 || counts["pending"] != n-10 {
		t.Errorf("after the shutdown: %v", counts)
	}
	var pendingAttempts int
	if err := pool.QueryRow(context.Background(), `SELECT coalesce(max(attempts), 0) FROM mail_outbox WHERE state = 'pending'`).Scan(&pendingAttempts); err != nil {
		t.Fatal(err)
	}
	if pendingAttempts != 0 {
		t.Errorf("untried rows carry %d attempts", pendingAttempts)
	}

	second := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{Lease: time.Hour})
	if sent := drain(t, second); sent != n-10 {
		t.Errorf("second dispatcher sent %d", sent)
	}
	onceEach(t, server.WaitFor(t, n, 10*time.Second), upTo(n)...)
}

func TestRunStopsWithItsContext(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{Poll: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	// Emails queued while it runs are picked up.
	enqueue(t, pool, welcomes(5)...)
	server.WaitFor(t, 5, 10*time.Second)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
	onceEach(t, server.Messages(), upTo(5)...)
}

func TestExpiredLeaseIsSentAgainWithTheSameMessageID(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcome(1), welcome(2))
	ctx := context.Background()
	// A dispatcher claimed both, then died: welcome 1's lease has expired,
	// welcome 2's has not.
	_, err := pool.Exec(ctx, `
		UPDATE mail_outbox SET state = 'sending', attempts = 1,
		  lease_until = CASE idempotency_key WHEN 'welcome:1' THEN now() - interval '1 second' ELSE now() + interval '1 hour' END,
		  next_attempt_at = CASE idempotency_key WHEN 'welcome:1' THEN now() - interval '1 second' ELSE now() + interval '1 hour' END`)
	if err != nil {
		t.Fatal(err)
	}
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{})
	if sent := drain(t, d); sent != 1 {
		t.Fatalf("sent %d, want 1", sent)
	}
	if m := server.WaitFor(t, 1, 10*time.Second)[0]; m.MessageID != MessageID("welcome:1", testDomain) {
		t.Errorf("sent %s", m.MessageID)
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "sent" || r.attempts != 2 {
		t.Errorf("expired lease row: %+v", r)
	}
	if r := rowByKey(t, pool, "welcome:2"); r.state != "sending" {
		t.Errorf("leased row: %+v", r)
	}
}

func TestStaleDispatcherCannotOverwriteANewerClaim(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	enqueue(t, pool, welcome(1))
	d := newTestDispatcher(t, pool, LogSender{Logger: quietLogger()}, DispatcherOptions{Lease: time.Millisecond})
	ctx := context.Background()
	stale, err := d.claim(ctx)
	if err != nil || len(stale) != 1 {
		t.Fatalf("claim: %v %v", stale, err)
	}
	// Its lease expires; another dispatcher claims the row.
	var fresh []claimedRow
	deadline := time.Now().Add(10 * time.Second)
	for len(fresh) == 0 && time.Now().Before(deadline) {
		if fresh, err = d.claim(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(fresh) != 1 || fresh[0].attempts != 2 {
		t.Fatalf("second claim: %+v", fresh)
	}
	// The first dispatcher's late report changes nothing.
	if err := d.markFailed(ctx, stale[0], &PermanentError{Err: errors.New("late")}, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.handBack(ctx, stale, true); err != nil {
		t.Fatal(err)
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "sending" || r.attempts != 2 || r.lastError != "" {
		t.Errorf("row: %+v", r)
	}
	if err := d.markSent(ctx, fresh[0]); err != nil {
		t.Fatal(err)
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "sent" {
		t.Errorf("row: %+v", r)
	}
}

func TestBulkEnqueue(t *testing.T) {
	t.Parallel()
	pool := pgtest.MustOpenDB(t)
	const n = 20000
	start := time.Now()
	if queued := enqueue(t, pool, welcomes(n)...); queued != n {
		t.Fatalf("queued %d", queued)
	}
	if again := enqueue(t, pool, welcomes(n)...); again != 0 {
		t.Errorf("queued %d again", again)
	}
	t.Logf("20,000 emails queued twice in %s", time.Since(start))
}

// cancelDuring cancels the dispatcher's context while the first message is
// on its way to the server.
type cancelDuring struct {
	Sender
	cancel context.CancelFunc
}

func (c cancelDuring) Send(ctx context.Context, m Outgoing) error {
	c.cancel()
	return c.Sender.Send(ctx, m)
}

func TestShutdownLetsTheMessageOnTheWireFinish(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcomes(3)...)
	ctx, cancel := context.WithCancel(context.Background())
	d := newTestDispatcher(t, pool, cancelDuring{Sender: newTestSender(t, server.URL()), cancel: cancel}, DispatcherOptions{Lease: time.Hour})
	sent, err := d.DispatchOnce(ctx)
	if sent != 1 || !errors.Is(err, context.Canceled) {
		t.Fatalf("sent %d, %v; want the message in flight sent", sent, err)
	}
	if counts := countByState(t, pool); counts["sent"] != 1 || counts["pending"] != 2 {
		t.Errorf("states %v", counts)
	}
	onceEach(t, server.WaitFor(t, 1, 10*time.Second), 0)
}

// run starts d.Run until the test ends.
func run(t *testing.T, d *Dispatcher) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

func TestRateLimitHolds(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	const n, perSecond = 120, 50.0
	enqueue(t, pool, welcomes(n)...)
	// Workers to spare, each with rows (small batches), so the race
	// detector on a loaded machine still has the capacity for the rate.
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{Rate: perSecond, Workers: 8, Batch: 5, Poll: 10 * time.Millisecond})
	run(t, d)
	server.WaitFor(t, 1, 10*time.Second)
	start := time.Now()
	msgs := server.WaitFor(t, n, time.Minute)
	// n-1 intervals between the first arrival and the last.
	got := float64(len(msgs)-1) / time.Since(start).Seconds()
	// Above the rate is the failure that matters (the relay refuses);
	// below it, only a loaded machine's capacity may hold it back, and
	// BenchmarkDispatcher measures the rate held on a quiet one.
	if got > perSecond*1.1 || got < perSecond*0.5 {
		t.Errorf("%.1f emails a second, want at most %.0f + 10%% (and not far below)", got, perSecond)
	}
	onceEach(t, msgs, upTo(n)...)
	t.Logf("%.1f emails a second under a rate of %.0f", got, perSecond)
}

func TestRelayRefusalPausesEveryWorker(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	const n = 40
	enqueue(t, pool, welcomes(n)...)
	server.RefuseFor(1500 * time.Millisecond)
	var pauses []time.Duration
	var mu sync.Mutex
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{
		Workers: 4, Poll: 10 * time.Millisecond,
		Backoff: func(int) time.Duration { return 50 * time.Millisecond },
		RelayBackoff: func(p int) time.Duration {
			mu.Lock()
			defer mu.Unlock()
			pause := 100 * time.Millisecond << (p - 1)
			pauses = append(pauses, pause)
			return pause
		},
	})
	start := time.Now()
	run(t, d)
	msgs := server.WaitFor(t, n, 30*time.Second)
	took := time.Since(start)
	onceEach(t, msgs, upTo(n)...)
	// Pauses of 100, 200, 400, 800ms reach past the 1.5s: the first
	// refusals (one per worker at most) plus one probe per pause. Workers
	// that went on with the next message would have been refused hundreds of
	// times in 1.5 s.
	if r := server.Refusals(); r > 4+len(pauses) || len(pauses) < 3 {
		t.Errorf("%d refusals, %d pauses (%v)", r, len(pauses), pauses)
	}
	if took < 1500*time.Millisecond {
		t.Errorf("all sent in %s, inside the refusal", took)
	}
	waitForSent(t, pool, n)
}

// waitForSent waits until n rows are recorded as sent: the server has a
// message a moment before its row says so.
func waitForSent(t *testing.T, pool *pgxpool.Pool, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		counts := countByState(t, pool)
		if counts["sent"] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %v, want %d sent", counts, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// undeliverableTable records Undelivered in the marking transaction, in a
// table of its own, so the test sees what committed.
type undeliverableTable struct{}

func (undeliverableTable) Undeliverable(ctx context.Context, tx pgx.Tx, u Undelivered) error {
	_, err := tx.Exec(ctx, `INSERT INTO undelivered (outbox_id, attempt, org_id, import_id, key, reason) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.OutboxID, u.Attempt, u.OrgID, u.ImportID, u.IdempotencyKey, u.Reason)
	return err
}

func TestUndeliverableIsRecordedWithTheFailure(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `CREATE TABLE undelivered (outbox_id uuid, attempt int, org_id uuid, import_id uuid, key text, reason text)`); err != nil {
		t.Fatal(err)
	}
	importID := uuid.MustParse("00000000-0000-7000-8000-00000000abcd")
	refused, tired, fine := welcome(1), welcome(2), welcome(3)
	refused.ImportID, tired.ImportID = importID, importID
	enqueue(t, pool, refused, tired, fine)
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{MaxAttempts: 2, Undeliverable: undeliverableTable{}})

	server.RefuseNextWith(1, 550, [3]int{5, 1, 1}, "mailtest: no such mailbox")
	server.FailNext(2)
	for range 3 {
		if _, err := d.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	type record struct {
		key, reason string
		importID    uuid.UUID
	}
	rows, _ := pool.Query(ctx, `SELECT key, reason, import_id FROM undelivered ORDER BY key`)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (record, error) {
		var rec record
		return rec, r.Scan(&rec.key, &rec.reason, &rec.importID)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []record{
		{"welcome:1", "550 5.1.1 mailtest: no such mailbox", importID},
		{"welcome:2", "not accepted after 2 tries; the last answer: 451 4.3.0 mailtest: try again later", importID},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("recorded %v\nwant     %v", got, want)
	}
	if counts := countByState(t, pool); counts["failed"] != 2 || counts["sent"] != 1 {
		t.Errorf("states %v", counts)
	}
}

// failingLog cannot record: the row must then stay held, not be marked
// failed without its record.
type failingLog struct{}

func (failingLog) Undeliverable(context.Context, pgx.Tx, Undelivered) error {
	return errors.New("the event store is down")
}

func TestNoFailedRowWithoutItsRecord(t *testing.T) {
	t.Parallel()
	pool, server := pgtest.MustOpenDB(t), mailtest.Start(t)
	enqueue(t, pool, welcome(1))
	d := newTestDispatcher(t, pool, newTestSender(t, server.URL()), DispatcherOptions{Undeliverable: failingLog{}})
	server.RejectNext(1)
	if _, err := d.DispatchOnce(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if r := rowByKey(t, pool, "welcome:1"); r.state != "sending" {
		t.Errorf("row %+v; want it still held, to come back after its lease", r)
	}
}
