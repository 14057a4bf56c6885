// Package config reads the service's configuration from environment
// variables and validates all of it at start-up, reporting every problem at
// once so that a bad deployment is fixed in one round.
package config

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of the service. It is read once, at
// start-up; see .env.example for every variable and its default.
type Config struct {
	HTTPAddr  string // HTTP_ADDR: the public API listener.
	AdminAddr string // ADMIN_ADDR: /metrics, /debug/readyz and /debug/pprof/, never exposed publicly.

	LogLevel  string // LOG_LEVEL: debug, info, warn or error.
	LogFormat string // LOG_FORMAT: json or text.

	ReadHeaderTimeout time.Duration // HTTP_READ_HEADER_TIMEOUT
	ReadTimeout       time.Duration // HTTP_READ_TIMEOUT
	WriteTimeout      time.Duration // HTTP_WRITE_TIMEOUT
	IdleTimeout       time.Duration // HTTP_IDLE_TIMEOUT
	MaxHeaderBytes    int           // HTTP_MAX_HEADER_BYTES: bound on a request's header block, on both listeners.

	ShutdownDrainDelay time.Duration // SHUTDOWN_DRAIN_DELAY: readiness fails this long before the listener closes.
	ShutdownTimeout    time.Duration // SHUTDOWN_TIMEOUT: bound on everything after the drain delay.

	ReadinessTimeout  time.Duration // READINESS_TIMEOUT: bound on one run of the readiness checks.
	ReadinessInterval time.Duration // READINESS_INTERVAL: how often the readiness checks run.

	ContainerMemoryLimit int64 // CONTAINER_MEMORY_LIMIT: the container's memory limit in bytes; 0 when there is none.

	RateLimitRPS   float64 // RATE_LIMIT_RPS: sustained requests per second per client; 0 turns limiting off.
	RateLimitBurst int     // RATE_LIMIT_BURST: requests a client may make at once.
	MaxBodyBytes   int64   // MAX_BODY_BYTES: larger request bodies are refused with 413.
}

// minRateLimitRPS is the lowest rate limit accepted: one request every 1000
// seconds.
const minRateLimitRPS = 0.001

// ValidationError lists every problem found in the configuration.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// Load reads the configuration through getenv (os.Getenv in production, a map
// in tests). It returns a *ValidationError naming every invalid variable.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	cfg := Config{
		HTTPAddr:  r.addr("HTTP_ADDR", ":8080"),
		AdminAddr: r.addr("ADMIN_ADDR", "127.0.0.1:9090"),

		LogLevel:  r.oneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		LogFormat: r.oneOf("LOG_FORMAT", "json", "json", "text"),

		ReadHeaderTimeout: r.duration("HTTP_READ_HEADER_TIMEOUT", 5*time.Second, 1),
		ReadTimeout:       r.duration("HTTP_READ_TIMEOUT", 15*time.Second, 1),
		WriteTimeout:      r.duration("HTTP_WRITE_TIMEOUT", 15*time.Second, 1),
		IdleTimeout:       r.duration("HTTP_IDLE_TIMEOUT", 60*time.Second, 1),
		MaxHeaderBytes:    int(r.integer("HTTP_MAX_HEADER_BYTES", 64<<10, 1<<10, 16<<20)),

		ShutdownDrainDelay: r.duration("SHUTDOWN_DRAIN_DELAY", 5*time.Second, 0),
		ShutdownTimeout:    r.duration("SHUTDOWN_TIMEOUT", 20*time.Second, 1),

		ReadinessTimeout:  r.duration("READINESS_TIMEOUT", 2*time.Second, 1),
		ReadinessInterval: r.duration("READINESS_INTERVAL", 2*time.Second, 1),

		ContainerMemoryLimit: r.integer("CONTAINER_MEMORY_LIMIT", 0, 0, math.MaxInt64),

		RateLimitRPS:   r.float("RATE_LIMIT_RPS", 100, 0),
		RateLimitBurst: int(r.integer("RATE_LIMIT_BURST", 200, 1, math.MaxInt32)),
		MaxBodyBytes:   r.integer("MAX_BODY_BYTES", 1<<20, 1, math.MaxInt64),
	}
	if cfg.HTTPAddr != "" && cfg.HTTPAddr == cfg.AdminAddr {
		r.problem("ADMIN_ADDR", cfg.AdminAddr, "must differ from HTTP_ADDR")
	}
	// A rate near zero is a typo more likely than a limit: it would tell
	// clients to retry after centuries.
	if cfg.RateLimitRPS > 0 && cfg.RateLimitRPS < minRateLimitRPS {
		v, _ := r.lookup("RATE_LIMIT_RPS")
		r.problem("RATE_LIMIT_RPS", v, fmt.Sprintf("must be 0 (no limit) or at least %g", minRateLimitRPS))
	}
	if len(r.problems) > 0 {
		return Config{}, &ValidationError{Problems: r.problems}
	}
	return cfg, nil
}

// reader parses variables, collecting problems instead of stopping at the
// first one.
type reader struct {
	getenv   func(string) string
	problems []string
}

func (r *reader) problem(key, value, msg string) {
	r.problems = append(r.problems, fmt.Sprintf("%s=%q: %s", key, value, msg))
}

func (r *reader) lookup(key string) (string, bool) {
	v := strings.TrimSpace(r.getenv(key))
	return v, v != ""
}

func (r *reader) addr(key, def string) string {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		r.problem(key, v, "must be host:port, e.g. :8080 or 127.0.0.1:8080")
		return ""
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || (n == 0 && port != "0") {
		r.problem(key, v, "port must be a number from 0 to 65535")
		return ""
	}
	return v
}

func (r *reader) oneOf(key, def string, allowed ...string) string {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if strings.EqualFold(v, a) {
			return a
		}
	}
	r.problem(key, v, "must be one of "+strings.Join(allowed, ", "))
	return def
}

func (r *reader) duration(key string, def, minimum time.Duration) time.Duration {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		r.problem(key, v, "must be a duration such as 500ms, 5s or 1m")
	case d < minimum && minimum > 0:
		r.problem(key, v, "must be greater than zero")
	case d < 0:
		r.problem(key, v, "must not be negative")
	}
	return d
}

func (r *reader) integer(key string, def, minimum, maximum int64) int64 {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		r.problem(key, v, "must be a whole number")
	case n < minimum || n > maximum:
		r.problem(key, v, fmt.Sprintf("must be from %d to %d", minimum, maximum))
	}
	return n
}

func (r *reader) float(key string, def, minimum float64) float64 {
	v, ok := r.lookup(key)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(f) || math.IsInf(f, 0):
		r.problem(key, v, "must be a finite number")
	case f < minimum:
		r.problem(key, v, fmt.Sprintf("must be at least %g", minimum))
	}
	return f
}
