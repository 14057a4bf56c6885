// Package config reads the service's configuration and validates all of it at
// once, reporting every problem in one go so that a bad deployment is fixed in
// one round. Every setting has one name: HTTP_ADDR in the environment,
// http_addr in a configuration file, where the service reads one.
package config

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of the service: Settings lists its keys,
// and parse gives their defaults.
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
	Keys     []string // the keys with a problem, named as the problems name them
}

func (e *ValidationError) Error() string {
	return "invalid configuration:\n  " + strings.Join(e.Problems, "\n  ")
}

// parse reads the configuration from vals, by environment name, over the
// defaults. It returns a *ValidationError naming every invalid setting,
// together with the problems r holds already.
func parse(vals map[string]value, r *reader) (Config, error) {
	r.vals = vals
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
		return Config{}, &ValidationError{Problems: r.problems, Keys: r.keys}
	}
	return cfg, nil
}

// reader parses settings, collecting problems instead of stopping at the
// first one.
type reader struct {
	vals     map[string]value
	problems []string
	keys     []string
}

// problem reports the setting key (its environment name) with the value
// given, named as its source names it.
func (r *reader) problem(key, raw, msg string) {
	v, ok := r.vals[key]
	if !ok {
		v = value{name: key}
	}
	v.raw = raw
	r.report(v, msg)
}

// report adds a problem with v.
func (r *reader) report(v value, msg string) {
	raw := v.raw
	if v.secret {
		raw = redacted
	}
	p := fmt.Sprintf("%s=%q: %s", v.name, raw, msg)
	if v.where != "" {
		p += " (" + v.where + ")"
	}
	r.problems = append(r.problems, p)
	if !slices.Contains(r.keys, v.name) {
		r.keys = append(r.keys, v.name)
	}
}

func (r *reader) lookup(key string) (string, bool) {
	v := r.vals[key]
	return v.raw, v.raw != ""
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

// Setting describes one key of the configuration.
type Setting struct {
	Env     string // its name in the environment, HTTP_ADDR
	Reloads bool   // applied to a running service by a reload
	Secret  bool   // read only from the environment or the file named by <Env>_FILE; never printed
}

// FileKey is the setting's name in a configuration file: its environment
// name in lower case, so that one name means the same in both places.
func (s Setting) FileKey() string { return strings.ToLower(s.Env) }

// Settings lists every key of the configuration, in the order of
// .env.example; parse gives each its default.
func Settings() []Setting {
	return []Setting{
		{Env: "HTTP_ADDR"},
		{Env: "ADMIN_ADDR"},
		{Env: "LOG_LEVEL", Reloads: true},
		{Env: "LOG_FORMAT"},
		{Env: "HTTP_READ_HEADER_TIMEOUT"},
		{Env: "HTTP_READ_TIMEOUT"},
		{Env: "HTTP_WRITE_TIMEOUT"},
		{Env: "HTTP_IDLE_TIMEOUT"},
		{Env: "HTTP_MAX_HEADER_BYTES"},
		{Env: "SHUTDOWN_DRAIN_DELAY"},
		{Env: "SHUTDOWN_TIMEOUT"},
		{Env: "READINESS_TIMEOUT"},
		{Env: "READINESS_INTERVAL"},
		{Env: "RATE_LIMIT_RPS", Reloads: true},
		{Env: "RATE_LIMIT_BURST", Reloads: true},
		{Env: "MAX_BODY_BYTES"},
		{Env: "CONTAINER_MEMORY_LIMIT"},
	}
}

// values gives each key's value in c, by environment name. It is how a
// reload tells what changed, and what the service logs as its configuration.
func (c Config) values() map[string]any {
	return map[string]any{
		"HTTP_ADDR":                c.HTTPAddr,
		"ADMIN_ADDR":               c.AdminAddr,
		"LOG_LEVEL":                c.LogLevel,
		"LOG_FORMAT":               c.LogFormat,
		"HTTP_READ_HEADER_TIMEOUT": c.ReadHeaderTimeout,
		"HTTP_READ_TIMEOUT":        c.ReadTimeout,
		"HTTP_WRITE_TIMEOUT":       c.WriteTimeout,
		"HTTP_IDLE_TIMEOUT":        c.IdleTimeout,
		"HTTP_MAX_HEADER_BYTES":    c.MaxHeaderBytes,
		"SHUTDOWN_DRAIN_DELAY":     c.ShutdownDrainDelay,
		"SHUTDOWN_TIMEOUT":         c.ShutdownTimeout,
		"READINESS_TIMEOUT":        c.ReadinessTimeout,
		"READINESS_INTERVAL":       c.ReadinessInterval,
		"RATE_LIMIT_RPS":           c.RateLimitRPS,
		"RATE_LIMIT_BURST":         c.RateLimitBurst,
		"MAX_BODY_BYTES":           c.MaxBodyBytes,
		"CONTAINER_MEMORY_LIMIT":   c.ContainerMemoryLimit,
	}
}

// LogValue logs the configuration by file key; a Secret logs masked.
func (c Config) LogValue() slog.Value {
	vals := c.values()
	attrs := make([]slog.Attr, 0, len(vals))
	for _, s := range Settings() {
		v := vals[s.Env]
		if d, ok := v.(time.Duration); ok {
			v = d.String() // 5s rather than 5000000000
		}
		attrs = append(attrs, slog.Any(s.FileKey(), v))
	}
	return slog.GroupValue(attrs...)
}

// Reload returns the configuration a running service goes on with when next
// was read: next's reloadable keys over c's others. applied names the
// reloadable keys that changed, ignored the changed keys that need a
// restart (both by file key).
func (c Config) Reload(next Config) (merged Config, applied, ignored []string) {
	merged = c
	merged.LogLevel = next.LogLevel
	merged.RateLimitRPS = next.RateLimitRPS
	merged.RateLimitBurst = next.RateLimitBurst
	was, now := c.values(), next.values()
	for _, s := range Settings() {
		if was[s.Env] == now[s.Env] {
			continue
		}
		if s.Reloads {
			applied = append(applied, s.FileKey())
		} else {
			ignored = append(ignored, s.FileKey())
		}
	}
	return merged, applied, ignored
}

// Secret is a value that must never reach a log or a terminal: printed with
// fmt, logged with slog or marshalled to JSON or text it reads "[redacted]".
// Reveal gives the value to the code that uses it.
type Secret struct {
	value string
}

const redacted = "[redacted]"

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return s.value }

// String masks the secret, for %v and %s.
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString masks the secret, for %#v.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue masks the secret in logs.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText masks the secret in JSON, YAML and text encodings.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// value is a setting as a source gave it: its text and how messages name it.
type value struct {
	raw    string
	name   string // HTTP_ADDR, or http_addr for a value from a file
	where  string // for a value from a file, the file and the line when known
	secret bool   // never repeated in a message
}

// fromEnv reads every setting set in the environment. A secret may instead
// come from the file named by <NAME>_FILE, the convention of Docker and
// Kubernetes secrets.
func fromEnv(getenv func(string) string, r *reader) map[string]value {
	vals := map[string]value{}
	for _, s := range Settings() {
		if s.Secret {
			if v, ok := r.secret(getenv, s.Env); ok {
				vals[s.Env] = v
			}
			continue
		}
		if v := strings.TrimSpace(getenv(s.Env)); v != "" {
			vals[s.Env] = value{raw: v, name: s.Env}
		}
	}
	return vals
}

// secret reads a secret from the variable name or from the file named by
// name_FILE, never both.
func (r *reader) secret(getenv func(string) string, name string) (value, bool) {
	direct, path := getenv(name), strings.TrimSpace(getenv(name+"_FILE"))
	switch {
	case path == "" && direct == "":
		return value{}, false
	case path == "":
		return value{raw: direct, name: name, secret: true}, true
	case direct != "":
		r.report(value{name: name, secret: true}, "set "+name+" or "+name+"_FILE, not both")
		return value{}, false
	}
	b, err := os.ReadFile(path) //nolint:gosec // the path is the deployment's own setting
	if err != nil {
		r.report(value{name: name + "_FILE", raw: path}, fmt.Sprintf("cannot read the secret: %v", err))
		return value{}, false
	}
	// Files written by editors and `echo` end in a newline that is no part
	// of the secret.
	return value{raw: strings.TrimRight(string(b), "\r\n"), name: name, secret: true}, true
}
