// Package cache is the service's Redis client: byte values under string keys,
// every call bounded by a short timeout, and hits, misses and errors counted.
// The cache is an optimisation: its callers treat an error as a miss, so a
// Redis that is down or slow costs them one timeout, never a failed request.
package cache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/logging"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Client talks to one Redis server. It is safe for concurrent use.
type Client struct {
	rdb      *redis.Client
	timeout  time.Duration
	hits     prometheus.Counter
	misses   prometheus.Counter
	failures *prometheus.CounterVec
}

// New returns a client for the server rawURL names (redis://user:password@host:port/db,
// or rediss:// for TLS), registering its metrics on reg. It does not connect:
// connections are made on first use, so the service starts while Redis is
// unreachable. Every call, dialling included, is bounded by timeout, unless
// the URL sets dial_timeout, read_timeout or write_timeout itself.
func New(rawURL string, timeout time.Duration, reg prometheus.Registerer) (*Client, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, password included: keep only its
		// cause.
		if ue, ok := errors.AsType[*url.Error](err); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opt.DialTimeout = orDefault(opt.DialTimeout, timeout)
	opt.ReadTimeout = orDefault(opt.ReadTimeout, timeout)
	opt.WriteTimeout = orDefault(opt.WriteTimeout, timeout)
	opt.PoolTimeout = orDefault(opt.PoolTimeout, timeout)
	// The caller's deadline (a request's) bounds a call as well.
	opt.ContextTimeoutEnabled = true
	// A retry or a second dial would multiply the time a down Redis costs
	// each request; the next request tries again anyway.
	opt.MaxRetries = -1
	opt.DialerRetries = 1
	// A plain Redis has no maintenance notifications, and asking for them
	// costs a round trip on every new connection.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}

	// go-redis prints a plain-text line to stderr for every failed dial: a
	// flood while Redis is down, outside the service's log. Each failure is
	// returned to the caller and counted instead, and the readiness check
	// logs the outage once. (The setting is the library's, process-wide.)
	logging.Disable()

	c := &Client{
		rdb:     redis.NewClient(opt),
		timeout: timeout,
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cache_hits_total",
			Help: "Cache reads that found their key.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cache_misses_total",
			Help: "Cache reads that did not find their key.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cache_errors_total",
			Help: "Cache calls that failed (Redis down, slow or refusing), by operation; the callers went on without the cache.",
		}, []string{"operation"}),
	}
	for _, op := range []string{"get", "set", "delete"} {
		c.failures.WithLabelValues(op) // every series exists from the start, at 0
	}
	for _, m := range []prometheus.Collector{c.hits, c.misses, c.failures} {
		if err := reg.Register(m); err != nil {
			_ = c.rdb.Close()
			return nil, fmt.Errorf("register cache metrics: %w", err)
		}
	}
	return c, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Get returns the value stored under key; found is false when there is none.
// An error means Redis could not answer: treat it as a miss.
func (c *Client) Get(ctx context.Context, key string) (value []byte, found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	value, err = c.rdb.Get(ctx, key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		c.misses.Inc()
		return nil, false, nil
	case err != nil:
		c.failures.WithLabelValues("get").Inc()
		return nil, false, fmt.Errorf("cache get: %w", err)
	}
	c.hits.Inc()
	return value, true, nil
}

// Set stores value under key for ttl.
func (c *Client) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.rdb.Set(ctx, key, value, ttl).Err(); err != nil {
		c.failures.WithLabelValues("set").Inc()
		return fmt.Errorf("cache set: %w", err)
	}
	return nil
}

// Delete removes key; a key that is not there is no error.
func (c *Client) Delete(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := c.rdb.Del(ctx, key).Err(); err != nil {
		c.failures.WithLabelValues("delete").Inc()
		return fmt.Errorf("cache delete: %w", err)
	}
	return nil
}

// Check is the readiness check: Redis answers PING. Its error names the
// server's address, never the password.
func (c *Client) Check(ctx context.Context) error {
	if err := c.rdb.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis ping: %w", err)
	}
	return nil
}

// Close closes the connections. It returns when ctx is done even if closing
// has not finished, so that a hung connection cannot hold up the shutdown.
func (c *Client) Close(ctx context.Context) error {
	done := make(chan error, 1)
	go func() { done <- c.rdb.Close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("close redis client: %w", ctx.Err())
	}
}
