// Package health answers the liveness and readiness probes.
//
// Liveness says the process is running and serving; it checks no dependency,
// so that an outage of a database never gets every replica restarted.
// Readiness says the service can do useful work: the registered checks run in
// the background, and the probe answers from their latest result, so that no
// request, however many arrive, turns into calls to the dependencies.
// Readiness fails from the moment shutdown begins, so that load balancers stop
// sending traffic before the listener closes.
package health

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"
)

// Check reports whether one dependency is usable. It must return promptly
// once ctx is done.
type Check func(ctx context.Context) error

// Health holds the readiness checks, their latest result and the shutdown
// state.
type Health struct {
	timeout      time.Duration
	checks       map[string]Check
	latest       atomic.Pointer[Report]
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

// Draining reports whether Shutdown was called: the service is leaving, and
// its answers should ask clients to reconnect elsewhere.
func (h *Health) Draining() bool {
	return h.shuttingDown.Load()
}

// Status is the body of both public probes. It names the checks and their
// status only: their errors can hold addresses and credentials, so they go to
// the log and the admin listener.
type Status struct {
	Status string                 `json:"status"`
	Checks map[string]CheckResult `json:"checks,omitempty"`
}

// CheckResult is the outcome of one readiness check.
type CheckResult struct {
	Status string `json:"status"` // ok, fail, or pending before the first run
	Error  string `json:"error,omitempty"`
}

// Report is the result of one run of the readiness checks.
type Report struct {
	Healthy   bool                   `json:"-"`
	CheckedAt time.Time              `json:"checked_at,omitzero"`
	Checks    map[string]CheckResult `json:"checks,omitempty"`
}

// Run refreshes the readiness result now and then every interval until ctx
// is done, logging each check that starts failing, with its error, and each
// that recovers.
func (h *Health) Run(ctx context.Context, logger *slog.Logger, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	previous := map[string]CheckResult{}
	for {
		report := h.Refresh(ctx)
		if ctx.Err() != nil {
			return
		}
		for name, result := range report.Checks {
			switch was := previous[name].Status; {
			case result.Status == "fail" && was != "fail":
				logger.WarnContext(ctx, "readiness check failed", slog.String("check", name), slog.String("error", result.Error))
			case result.Status == "ok" && was == "fail":
				logger.InfoContext(ctx, "readiness check passed", slog.String("check", name))
			}
		}
		previous = report.Checks
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// Refresh runs every check once, concurrently, and makes the result the one
// the probes answer with. A check still running when the timeout expires is
// reported as failed, even if it ignores its context.
func (h *Health) Refresh(ctx context.Context) Report {
	report := Report{Healthy: true, CheckedAt: time.Now().UTC()}
	defer func() { h.latest.Store(&report) }()
	if len(h.checks) == 0 {
		return report
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
	report.Checks = make(map[string]CheckResult, len(h.checks))
	for range h.checks {
		select {
		case o := <-done:
			if o.err != nil {
				report.Healthy = false
				report.Checks[o.name] = CheckResult{Status: "fail", Error: o.err.Error()}
				continue
			}
			report.Checks[o.name] = CheckResult{Status: "ok"}
		case <-ctx.Done():
			report.Healthy = false
			for name := range h.checks {
				if _, ok := report.Checks[name]; !ok {
					report.Checks[name] = CheckResult{Status: "fail", Error: "timed out after " + h.timeout.String()}
				}
			}
			return report
		}
	}
	return report
}

// current is the latest report; before the first run, every check is
// pending and readiness fails, unless there is no check at all.
func (h *Health) current() Report {
	if r := h.latest.Load(); r != nil {
		return *r
	}
	report := Report{Healthy: len(h.checks) == 0}
	if len(h.checks) > 0 {
		report.Checks = make(map[string]CheckResult, len(h.checks))
		for name := range h.checks {
			report.Checks[name] = CheckResult{Status: "pending"}
		}
	}
	return report
}

// HandleLive answers the liveness probe.
func (h *Health) HandleLive() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Status{Status: "ok"})
	})
}

// HandleReady answers the readiness probe from the latest result: 200 when
// every check passed, 503 when one failed or shutdown has begun. The body
// names each check and its status, without its error.
func (h *Health) HandleReady() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if h.shuttingDown.Load() {
			writeJSON(w, http.StatusServiceUnavailable, Status{Status: "shutting_down"})
			return
		}
		report := h.current()
		public := make(map[string]CheckResult, len(report.Checks))
		for name, result := range report.Checks {
			public[name] = CheckResult{Status: result.Status}
		}
		if !report.Healthy {
			writeJSON(w, http.StatusServiceUnavailable, Status{Status: "unavailable", Checks: public})
			return
		}
		writeJSON(w, http.StatusOK, Status{Status: "ok", Checks: public})
	})
}

// HandleDetails answers with the latest result in full, errors and time of
// the run included. It belongs on the admin listener only.
func (h *Health) HandleDetails() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		report := h.current()
		details := struct {
			Status string `json:"status"`
			Report
		}{"ok", report}
		code := http.StatusOK
		switch {
		case h.shuttingDown.Load():
			details.Status, code = "shutting_down", http.StatusServiceUnavailable
		case !report.Healthy:
			details.Status, code = "unavailable", http.StatusServiceUnavailable
		}
		writeJSON(w, code, details)
	})
}

// writeJSON writes a probe answer. Probes bypass the middleware stack, so
// they set their own headers.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"status":"error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
