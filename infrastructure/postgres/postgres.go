// Package postgres holds Rollcall's PostgreSQL adapters: the connection pool,
// the schema migrations, the event store on the Watermill topic table, the
// consumer runner for projections and sagas, and the job queue.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/rollcall/rollcall/migrations"
)

// Open connects a pool and checks that the server answers, so a wrong
// DATABASE_URL fails at start with a clear message rather than at first use.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	if url == "" {
		return nil, errors.New("DATABASE_URL is empty: set it to a PostgreSQL URL such as postgres://postgres@127.0.0.1:5432/rollcall")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx redacts the password in its parse errors.
		return nil, fmt.Errorf("DATABASE_URL is not a valid PostgreSQL URL (%v): write it as postgres://USER:PASSWORD@HOST:5432/DATABASE?sslmode=disable", err)
	}
	// pgx's default (4 on a 2-core machine) is too few: every consumer holds
	// a connection for its batch, besides the job workers and HTTP requests.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = 24
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, connectError(cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, cfg.ConnConfig.User, err)
	}
	return pool, nil
}

// connectError says why the server could not be used and what to change.
func connectError(host string, port uint16, database, user string, err error) error {
	where := fmt.Sprintf("%s:%d", host, port)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "3D000":
			return fmt.Errorf("PostgreSQL at %s has no database %q: create it (createdb -h %s -p %d -U %s %s) or fix the database name in DATABASE_URL",
				where, database, host, port, user, database)
		case "28P01", "28000":
			return fmt.Errorf("PostgreSQL at %s refused the user %q: fix the user name or password in DATABASE_URL (%s)", where, user, pgErr.Message)
		}
		return fmt.Errorf("PostgreSQL at %s refused the connection: %s (SQLSTATE %s)", where, pgErr.Message, pgErr.Code)
	}
	return fmt.Errorf("no PostgreSQL answers at %s (%v): start it (`make run` starts one for development) or fix the host and port in DATABASE_URL", where, err)
}

// CheckSchema refuses a database whose schema is not the one this binary
// was built for, before a command meets a missing table.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	sources := provider.ListSources()
	want := sources[len(sources)-1].Version
	have, err := provider.GetDBVersion(ctx)
	if err != nil && !errors.Is(err, goose.ErrNoCurrentVersion) {
		// goose's own table is missing: nothing was ever migrated here.
		have = 0
	}
	switch {
	case have < want:
		return fmt.Errorf("the database is not migrated (schema version %d, this rollcall needs %d): run `rollcall migrate` first", have, want)
	case have > want:
		return fmt.Errorf("the database schema (version %d) is newer than this rollcall knows (%d): run the rollcall release that migrated it", have, want)
	}
	return nil
}

// Migrate applies every pending migration. goose takes an advisory lock, so
// several processes starting at once migrate once.
func Migrate(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()

	sub, err := fs.Sub(migrations.FS, ".")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}
