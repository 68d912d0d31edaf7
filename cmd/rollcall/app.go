package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/gorilla/mux"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/rollcall/rollcall/application/importing"
	"github.com/rollcall/rollcall/domain/throttle"
	"github.com/rollcall/rollcall/infrastructure/eventcodec"
	"github.com/rollcall/rollcall/infrastructure/mail"
	"github.com/rollcall/rollcall/infrastructure/metrics"
	"github.com/rollcall/rollcall/infrastructure/postgres"
	"github.com/rollcall/rollcall/infrastructure/postgres/projection"
	rhttp "github.com/rollcall/rollcall/ports/http"
)

// jobHandlers runs the import jobs on the job queue.
func jobHandlers(r *importing.Runner) map[string]postgres.JobHandler {
	return map[string]postgres.JobHandler{
		importing.KindValidate:    func(ctx context.Context, j *postgres.Job) error { return r.Validate(ctx, j) },
		importing.KindCommitChunk: func(ctx context.Context, j *postgres.Job) error { return r.CommitChunk(ctx, j) },
		importing.KindFinish:      func(ctx context.Context, j *postgres.Job) error { return r.Finish(ctx, j) },
		importing.KindUndoChunk:   func(ctx context.Context, j *postgres.Job) error { return r.UndoChunk(ctx, j) },
		importing.KindUndoFinish:  func(ctx context.Context, j *postgres.Job) error { return r.UndoFinish(ctx, j) },
	}
}

// devMode is what the development build adds to `serve` (dev.go, built
// with -tags dev): a mail catcher, a fake Google and a demo school. The
// production build has no implementation of it at all (nodev.go).
type devMode interface {
	seed(ctx context.Context, a *app) error
	register(r *mux.Router)
	banner(addr string)
	close()
}

// Main wires Rollcall together; every subcommand starts from it.
type Main struct {
	Config Config
	Logger *slog.Logger
	Stdout io.Writer

	pool  *pgxpool.Pool
	wired *app
}

// Close releases what Main opened.
func (m *Main) Close() {
	if m.pool != nil {
		m.pool.Close()
	}
}

func (m *Main) db(ctx context.Context) (*pgxpool.Pool, error) {
	if m.pool != nil {
		return m.pool, nil
	}
	pool, err := postgres.Open(ctx, m.Config.DatabaseURL)
	if err != nil {
		return nil, err
	}
	m.pool = pool
	return pool, nil
}

func (m *Main) codec() *eventcodec.Registry { return newCodec() }

func (m *Main) consumerOptions() postgres.ConsumerOptions {
	return postgres.ConsumerOptions{PollInterval: m.Config.PollInterval}
}

func (m *Main) requireSchema(ctx context.Context) error {
	pool, err := m.db(ctx)
	if err != nil {
		return err
	}
	return postgres.CheckSchema(ctx, pool)
}

// Migrate applies the schema migrations.
func (m *Main) Migrate(ctx context.Context) error {
	pool, err := m.db(ctx)
	if err != nil {
		return err
	}
	if err := postgres.Migrate(ctx, pool, m.Logger); err != nil {
		return err
	}
	m.Logger.Info("database is up to date")
	return nil
}

// Serve runs the HTTP service, the projections, the sagas and the job
// workers until ctx is cancelled (SIGINT/SIGTERM), then stops them in order:
// first HTTP (no new work), then workers and consumers, which finish or
// hand back what they hold.
func (m *Main) Serve(ctx context.Context) error {
	if err := m.Migrate(ctx); err != nil {
		return err
	}
	pool := m.pool
	codec := m.codec()
	// The fakes start first: the wiring below reads the SMTP and Google
	// configuration they point at themselves.
	dev, err := m.startDev()
	if err != nil {
		return err
	}
	if dev != nil {
		defer dev.close()
	}
	a, err := m.importing(ctx)
	if err != nil {
		return err
	}
	pages, err := a.pages(m)
	if err != nil {
		return err
	}
	api, err := a.api(m, pages)
	if err != nil {
		return err
	}
	if dev != nil {
		if err := dev.seed(ctx, a); err != nil {
			return err
		}
	}
	sender, err := m.mailSender()
	if err != nil {
		return err
	}
	mets, metricsListener, err := m.metrics(a)
	if err != nil {
		return err
	}
	mailOpts := mail.DispatcherOptions{Poll: m.Config.PollInterval, Lease: m.Config.MailLease,
		Workers: m.Config.MailWorkers, Rate: m.Config.MailRate, Undeliverable: undeliveredWelcomes{a.store}}
	if mets != nil {
		mailOpts.Observer = mets
	}
	dispatcher, err := mail.NewDispatcher(pool, sender, m.Logger, mailOpts)
	if err != nil {
		return err
	}

	var consumers []postgres.Consumer
	for _, p := range projection.All() {
		consumers = append(consumers, postgres.ProjectionConsumer(p))
	}
	consumers = append(consumers, postgres.SagaConsumer(importing.SagaGroup, a.jobs.HandleEvent))
	router, err := postgres.NewConsumers(pool, codec, m.Logger, m.consumerOptions(), consumers...)
	if err != nil {
		return err
	}
	jobs, err := postgres.NewJobRunner(pool, m.Logger, postgres.JobRunnerOptions{
		Workers: m.Config.JobWorkers, Lease: m.Config.JobLease,
	}, jobHandlers(a.jobs))
	if err != nil {
		return err
	}

	server := rhttp.NewServer(m.Logger, map[string]rhttp.ReadinessCheck{
		"postgres": func(ctx context.Context) error { return pool.Ping(ctx) },
		"consumers": func(context.Context) error {
			select {
			case <-router.Running():
				return nil
			default:
				return errors.New("consumers are not running")
			}
		},
	})
	var observer rhttp.RequestObserver
	if mets != nil {
		observer = mets
	}
	server.Router().Use(rhttp.Observe(m.Logger, observer))
	api.Register(server.Router())
	pages.Register(server.Router())
	if dev != nil {
		dev.register(server.Router())
	}
	listener, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	httpServer := m.Config.HTTP.HTTPServer(server)
	sweeper, err := postgres.NewSweeper(pool, m.Config.SweepInterval, throttle.SignInRules().ForgetAfter(), m.Logger)
	if err != nil {
		return err
	}
	m.Logger.Info("serving", "addr", listener.Addr().String())
	if dev != nil {
		dev.banner(listener.Addr().String())
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := httpServer.Serve(listener); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	g.Go(func() error { return router.Run(gctx) })
	g.Go(func() error { return jobs.Run(gctx) })
	g.Go(func() error { return dispatcher.Run(gctx) })
	g.Go(func() error { return sweeper.Run(gctx) })
	if metricsListener != nil {
		metricsServer := &http.Server{Handler: metricsMux(mets), ReadHeaderTimeout: 10 * time.Second}
		g.Go(func() error {
			if err := metricsServer.Serve(metricsListener); !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 5*time.Second)
			defer cancel()
			return metricsServer.Shutdown(shutdownCtx)
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		m.Logger.Info("shutting down")
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(gctx), 20*time.Second)
		defer cancel()
		return httpServer.Shutdown(shutdownCtx)
	})
	err = g.Wait()
	m.Logger.Info("stopped")
	return err
}

// metrics opens the metrics' listener when METRICS_ADDR is set (the
// wiring made the metrics and handed them to the jobs); nil, nil when not.
func (m *Main) metrics(a *app) (*metrics.Metrics, net.Listener, error) {
	if a.metrics == nil {
		return nil, nil, nil
	}
	listener, err := net.Listen("tcp", m.Config.MetricsAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("METRICS_ADDR: listen on %s: %w", m.Config.MetricsAddr, err)
	}
	m.Logger.Info("metrics", "addr", "http://"+listener.Addr().String()+"/metrics")
	return a.metrics, listener, nil
}

func metricsMux(mets *metrics.Metrics) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", mets.Handler())
	return mux
}

// Projections is `rollcall projections status|rebuild NAME`.
func (m *Main) Projections(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New(`say "projections status" or "projections rebuild NAME"`)
	}
	pool, err := m.db(ctx)
	if err != nil {
		return err
	}
	switch args[0] {
	case "status":
		return m.projectionStatus(ctx, pool)
	case "rebuild":
		if len(args) != 2 {
			return fmt.Errorf("say which read model to rebuild: one of %s, or all", projectionNames())
		}
		targets := projection.All()
		if args[1] != "all" {
			p, ok := projection.ByName(args[1])
			if !ok {
				return fmt.Errorf("no read model named %q; the read models are %s", args[1], projectionNames())
			}
			targets = []postgres.Projection{p}
		}
		for _, p := range targets {
			start := time.Now()
			m.Logger.Info("rebuilding", "projection", p.Name())
			if err := postgres.RebuildProjection(ctx, pool, m.codec(), m.Logger, m.consumerOptions(), p); err != nil {
				return fmt.Errorf("rebuild %s: %w", p.Name(), err)
			}
			fmt.Fprintf(m.Stdout, "rebuilt %s in %s\n", p.Name(), time.Since(start).Round(time.Millisecond))
		}
		return nil
	default:
		return fmt.Errorf("unknown projections command %q", args[0])
	}
}

func (m *Main) projectionStatus(ctx context.Context, pool *pgxpool.Pool) error {
	var groups []string
	for _, p := range projection.All() {
		groups = append(groups, postgres.ProjectionGroup(p))
	}
	lags, err := postgres.ConsumerLag(ctx, pool, groups...)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "CONSUMER GROUP\tPENDING EVENTS\tLAST PROCESSED EVENT AT")
	for _, l := range lags {
		last := "never"
		if !l.LastProcessed.IsZero() {
			last = l.LastProcessed.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%d\t%s\n", l.Group, l.Pending, last)
	}
	return w.Flush()
}

func projectionNames() string {
	var names []string
	for _, p := range projection.All() {
		names = append(names, p.Name())
	}
	sort.Strings(names)
	return fmt.Sprint(names)
}
