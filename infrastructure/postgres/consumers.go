package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	wsql "github.com/ThreeDotsLabs/watermill-sql/v4/pkg/sql"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/message/router/middleware"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rollcall/rollcall/application/eventstore"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
)

// Consumer handles events inside the subscriber's own transaction, so what it
// writes and its checkpoint commit together: an event is applied exactly
// once. Handlers must still be idempotent, because a failed attempt is rolled
// back to a savepoint and retried in the same transaction.
type Consumer struct {
	// Group is the Watermill consumer group and the checkpoint's name, e.g.
	// "proj.accounts.v1" or "saga.import_commit".
	Group  string
	Handle func(ctx context.Context, tx pgx.Tx, event eventstore.Recorded) error
	// Deferred queues the handler's writes and sends them once a batch
	// (deferred.go). Right for read models, whose handlers only upsert; not
	// for sagas, which must see at once what they wrote.
	Deferred bool
}

// ConsumerOptions tune the consumers; zero values take the defaults.
type ConsumerOptions struct {
	PollInterval time.Duration // how often an idle consumer looks for events (default 200ms)
	BatchSize    int           // events per subscriber transaction (default 500)
	MaxRetries   int           // retries of a failing handler before the event is poisoned (default 5)
	RetryDelay   time.Duration // first retry delay, doubling (default 100ms)
}

func (o *ConsumerOptions) setDefaults() {
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.MaxRetries <= 0 {
		o.MaxRetries = 5
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = 100 * time.Millisecond
	}
}

// Consumers runs a Watermill router with one subscriber (one consumer group)
// per Consumer on the events topic.
type Consumers struct {
	router *message.Router
	// stopping is set before the router closes: the batches in flight
	// then roll back (deferredTx.Commit) instead of committing the work of
	// an event the subscriber stopped waiting for.
	stopping *atomic.Bool
}

// NewConsumers wires the router. Middlewares, outermost first: the hold on
// the subscriber's transaction (holdSubscriberTx), a correlation id, the
// poison queue (records an event a handler keeps failing on and moves on),
// bounded retry, and the recoverer that turns a panic into an error the
// retry sees.
func NewConsumers(pool *pgxpool.Pool, codec Codec, logger *slog.Logger, opts ConsumerOptions, consumers ...Consumer) (*Consumers, error) {
	if pool == nil || codec == nil || logger == nil {
		return nil, errors.New("postgres: NewConsumers needs a pool, a codec and a logger")
	}
	opts.setDefaults()
	// Watermill's info (a subscriber started) is our debug; its debug (a
	// line per acknowledged event) is below it, so LOG_LEVEL=debug shows
	// the requests and the jobs, not every event of every projection.
	wlogger := watermill.NewSlogLoggerWithLevelMapping(logger, map[slog.Level]slog.Level{
		slog.LevelInfo: slog.LevelDebug, slog.LevelDebug: watermill.LevelTrace})

	router, err := message.NewRouter(message.RouterConfig{CloseTimeout: 30 * time.Second}, wlogger)
	if err != nil {
		return nil, err
	}
	poison, err := middleware.PoisonQueue(poisonPublisher{}, "poisoned_events")
	if err != nil {
		return nil, err
	}
	router.AddMiddleware(
		holdSubscriberTx,
		middleware.CorrelationID,
		poison,
		middleware.Retry{
			MaxRetries:      opts.MaxRetries,
			InitialInterval: opts.RetryDelay,
			MaxInterval:     5 * time.Second,
			Multiplier:      2,
			Logger:          wlogger,
		}.Middleware,
		middleware.Recoverer,
	)

	stopping := &atomic.Bool{}
	seen := map[string]bool{}
	for _, c := range consumers {
		if c.Group == "" || c.Handle == nil {
			return nil, errors.New("postgres: a consumer needs a group and a handler")
		}
		if seen[c.Group] {
			return nil, fmt.Errorf("postgres: consumer group %q registered twice", c.Group)
		}
		seen[c.Group] = true
		sub, err := newEventsSubscriber(newDeferredBeginner(pool, c.Group, c.Deferred, stopping, logger), c.Group, opts, wlogger)
		if err != nil {
			return nil, err
		}
		router.AddConsumerHandler(c.Group, eventsTopic, sub, handlerFunc(codec, logger, c))
	}
	return &Consumers{router: router, stopping: stopping}, nil
}

func newEventsSubscriber(beginner wsql.Beginner, group string, opts ConsumerOptions, logger watermill.LoggerAdapter) (*wsql.Subscriber, error) {
	return wsql.NewSubscriber(beginner, wsql.SubscriberConfig{
		ConsumerGroup:  group,
		PollInterval:   opts.PollInterval,
		ResendInterval: opts.RetryDelay,
		RetryInterval:  opts.PollInterval,
		SchemaAdapter:  eventsSchema{batchSize: opts.BatchSize},
		OffsetsAdapter: checkpoints(),
	}, logger)
}

// Run blocks until ctx is cancelled or the router stops.
//
// When ctx ends the router is closed rather than its context cancelled, so
// that an in-flight batch finishes first (CloseTimeout) instead of having
// its transaction cut under a running handler. (pgx has still been seen to
// panic with "slow write timer already active" in a benchmark's teardown
// after this change; see docs/benchmarks.md.)
func (c *Consumers) Run(ctx context.Context) error {
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-ctx.Done():
			_ = c.Close()
		case <-stop:
		}
	}()
	return c.router.Run(context.WithoutCancel(ctx))
}

// Running is closed once every consumer is subscribed.
func (c *Consumers) Running() chan struct{} { return c.router.Running() }

// Close stops the consumers, letting in-flight batches finish.
func (c *Consumers) Close() error {
	c.stopping.Store(true)
	return c.router.Close()
}

func handlerFunc(codec Codec, logger *slog.Logger, c Consumer) message.NoPublishHandlerFunc {
	return func(msg *message.Message) error {
		ctx := msg.Context()
		event, err := recordedFromMessage(codec, msg)
		var unknown *eventcodec.UnknownTypeError
		if errors.As(err, &unknown) {
			// An event written by a newer build: nothing this build's read
			// models know how to do with it.
			logger.Warn("skipping event of unknown type", "consumer", c.Group, "type", unknown.Name, "event_id", msg.UUID)
			return nil
		}
		if err != nil {
			return err
		}
		tx, err := subscriberBatch(ctx)
		if err != nil {
			return err
		}
		return tx.handle(ctx, func(tx pgx.Tx) error { return c.Handle(ctx, tx, event) })
	}
}

// subscriberBatch is the deferredTx the subscriber began and put in the
// message context.
func subscriberBatch(ctx context.Context) (*deferredTx, error) {
	wtx, _ := wsql.TxFromContext(ctx)
	t, ok := wtx.(*deferredTx)
	if !ok {
		return nil, fmt.Errorf("postgres: subscriber transaction is a %T, not the consumers' own", wtx)
	}
	return t, nil
}

// subscriberTx is the pgx transaction of the subscriber's batch.
func subscriberTx(ctx context.Context) (pgx.Tx, error) {
	t, err := subscriberBatch(ctx)
	if err != nil {
		return nil, err
	}
	return t.pgx, nil
}

// poisonPublisher records a poisoned event in the subscriber's transaction,
// next to the checkpoint that moves past it.
type poisonPublisher struct{}

func (poisonPublisher) Publish(_ string, msgs ...*message.Message) error {
	for _, msg := range msgs {
		ctx := msg.Context()
		tx, err := subscriberTx(ctx)
		if err != nil {
			return err
		}
		meta := map[string]string(msg.Metadata)
		if _, err := tx.Exec(ctx, `
			INSERT INTO poisoned_events (consumer_group, event_uuid, reason, metadata)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
			msg.Metadata.Get(middleware.PoisonedHandlerKey), msg.UUID,
			msg.Metadata.Get(middleware.ReasonForPoisonedKey), meta); err != nil {
			return fmt.Errorf("record poisoned event: %w", err)
		}
	}
	return nil
}

func (poisonPublisher) Close() error { return nil }
