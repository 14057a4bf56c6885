// Package postgres opens a PostgreSQL connection pool that fails fast when
// the database is down, measures its queries and applies schema migrations.
// It knows nothing of what the service stores.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Config says how to reach the database and how long to wait for it.
type Config struct {
	URL      string // postgres://user:password@host:5432/name
	MaxConns int32
	// ConnectTimeout bounds each attempt to open a connection, so that a
	// database that does not answer fails a request instead of holding it.
	ConnectTimeout time.Duration
}

// Open returns a pool for cfg and registers its metrics on reg. It does not
// connect: connections open on first use, so the service starts and answers
// its liveness probe while the database is unreachable, and recovers by
// itself when it comes back. Only ctx's values are used: its end does not
// close the pool.
func Open(ctx context.Context, cfg Config, reg prometheus.Registerer) (*pgxpool.Pool, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgx's message can quote parts of the URL; the URL holds the
		// password, so only the fact is reported.
		return nil, errors.New("postgres: the connection URL does not parse")
	}
	pc.MaxConns = cfg.MaxConns
	pc.MinConns = 0
	pc.ConnConfig.ConnectTimeout = cfg.ConnectTimeout
	tracer := newQueryTracer()
	pc.ConnConfig.Tracer = tracer
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open the pool: %w", err)
	}
	for _, c := range []prometheus.Collector{tracer.duration, newPoolCollector(pool)} {
		if err := reg.Register(c); err != nil {
			pool.Close()
			return nil, fmt.Errorf("postgres: register metrics: %w", err)
		}
	}
	return pool, nil
}

// Check is the pool's readiness check: one round trip to the database,
// opening a connection if none is idle.
func Check(pool *pgxpool.Pool) func(context.Context) error {
	return pool.Ping
}

// Close closes the pool, waiting until ctx is done for the connections in use
// to come back. A connection still held at the deadline is left to the exit
// of the process.
func Close(ctx context.Context, pool *pgxpool.Pool) error {
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		pool.Close()
	}()
	select {
	case <-closed:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("postgres: connections still in use: %w", ctx.Err())
	}
}
