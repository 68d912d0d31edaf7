// Command rollcall is the one binary of Rollcall: the HTTP service with its
// projections and workers, and the operator's commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `rollcall — bulk account creation

Usage:
  rollcall migrate                     apply database migrations
  rollcall serve                       run the HTTP service, projections and workers
  rollcall projections status          show each read model's lag
  rollcall projections rebuild NAME    rebuild one read model from the events (or "all")
  rollcall audit import ID             an import's audit trail: who, when, which file and settings
  rollcall audit account EMAIL         an account's audit trail
  rollcall org create --name N         create an organization; prints its id
  rollcall account create --org ID --email E --first F --last L --role R --password P
                                       create an account (role: system_admin, admin, user)
  rollcall secrets rotate              re-seal with ROLLCALL_SECRET_KEY the stored secrets and
                                       uploads that ROLLCALL_SECRET_KEY_PREVIOUS sealed

Environment: DATABASE_URL, ADDR (default :8080), LOG_FORMAT (text|json), LOG_LEVEL,
POLL_INTERVAL, JOB_WORKERS, JOB_LEASE, SESSION_TTL, SWEEP_INTERVAL, ARGON2_MEMORY_KIB,
ARGON2_ITERATIONS, ARGON2_PARALLELISM, TRUSTED_PROXIES, HTTP_READ_TIMEOUT, HTTP_WRITE_TIMEOUT,
HTTP_IDLE_TIMEOUT, UPLOAD_TIMEOUT, UPLOAD_STALL_TIMEOUT, ROLLCALL_SECRET_KEY,
ROLLCALL_SECRET_KEY_PREVIOUS, UPLOAD_DIR, MAX_UPLOAD_MB, IMPORT_BATCH_ROWS, IMPORT_CHUNK_ROWS,
UNDO_WINDOW, SMTP_URL, MAIL_FROM, MAIL_RATE, MAIL_WORKERS, PUBLIC_URL, METRICS_ADDR.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "rollcall:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cfg, err := configFromEnv()
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Logger: newLogger(cfg, stderr), Stdout: stdout}
	defer m.Close()

	switch args[0] {
	case "projections", "audit", "org", "account", "secrets":
		// migrate and serve bring the schema up themselves; the others
		// would otherwise fail on the first missing table.
		if err := m.requireSchema(ctx); err != nil {
			return err
		}
	}
	switch args[0] {
	case "migrate":
		return m.Migrate(ctx)
	case "serve":
		return m.Serve(ctx)
	case "projections":
		return m.Projections(ctx, args[1:])
	case "audit":
		return m.Audit(ctx, args[1:])
	case "org":
		if len(args) < 2 || args[1] != "create" {
			return errors.New("say: rollcall org create --name NAME")
		}
		return m.OrgCreate(ctx, args[2:])
	case "secrets":
		return m.Secrets(ctx, args[1:])
	case "account":
		if len(args) < 2 || args[1] != "create" {
			return errors.New("say: rollcall account create --org ID --email E --first F --last L --role R --password P")
		}
		return m.AccountCreate(ctx, args[2:])
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
