// Package health answers the liveness and readiness probes.
//
// Liveness says the process is running and serving; it checks no dependency,
// so that an outage of a database never gets every replica restarted.
// Readiness says the service can do useful work: it runs the registered
// checks, and fails from the moment shutdown begins so that load balancers
// stop sending traffic before the listener closes.
package health

import (
	"context"
	"encoding/json"
	"net/http"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is usable. It must return promptly
// once ctx is done.
type Check func(ctx context.Context) error

// Health holds the readiness checks and the shutdown state.
type Health struct {
	timeout      time.Duration
	checks       map[string]Check
	shuttingDown atomic.Bool
}

// New returns a Health whose readiness checks run with the given timeout.
func New(timeout time.Duration) *Health {
	return &Health{timeout: timeout, checks: make(map[string]Check)}
}

// Register adds a readiness check. Call it before serving.
func (h *Health) Register(name string, check Check) {
	h.checks[name] = check
}

// Shutdown makes readiness fail from now on.
func (h *Health) Shutdown() {
	h.shuttingDown.Store(true)
}

// Status is the body of both probes.
type Status struct {
	Status string                 `json:"status"`
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// CheckResult is the outcome of one readiness check.
type CheckResult struct {
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// HandleLive answers the liveness probe.
func (h *Health) HandleLive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeStatus(w, http.StatusOK, Status{Status: "ok"})
	})
}

// HandleReady answers the readiness probe: 200 when every check passes, 503
// with each check's result when one fails or shutdown has begun.
func (h *Health) HandleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.shuttingDown.Load() {
			writeStatus(w, http.StatusServiceUnavailable, Status{Status: "shutting_down"})
			return
		}
		results, ok := h.run(r.Context())
		if !ok {
			writeStatus(w, http.StatusServiceUnavailable, Status{Status: "unavailable", Checks: results})
			return
		}
		writeStatus(w, http.StatusOK, Status{Status: "ok", Checks: results})
	})
}

// run runs all checks concurrently. A check still running when the timeout
// expires is reported as failed, even if it ignores its context.
func (h *Health) run(ctx context.Context) (map[string]CheckResult, bool) {
	if len(h.checks) == 0 {
		return nil, true
	}
	ctx, cancel := context.WithTimeout(ctx, h.timeout)
	defer cancel()
	type outcome struct {
		name string
		err  error
	}
	done := make(chan outcome, len(h.checks)) // buffered: late checks never block
	for name, check := range h.checks {
		go func() { done <- outcome{name, check(ctx)} }()
	}
	results := make(map[string]CheckResult, len(h.checks))
	healthy := true
	for range h.checks {
		select {
		case o := <-done:
			if o.err != nil {
				healthy = false
				results[o.name] = CheckResult{Status: "fail", Error: o.err.Error()}
				continue
			}
			results[o.name] = CheckResult{Status: "ok"}
		case <-ctx.Done():
			for name := range h.checks {
				if _, ok := results[name]; !ok {
					results[name] = CheckResult{Status: "fail", Error: "timed out after " + h.timeout.String()}
				}
			}
			return results, false
		}
	}
	return results, healthy
}

// writeStatus writes a probe answer. Probes bypass the middleware stack, so
// they set their own headers.
func writeStatus(w http.ResponseWriter, code int, s Status) {
	body, err := json.Marshal(s)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"status":"error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
