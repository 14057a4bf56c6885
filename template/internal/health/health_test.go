package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func probe(t *testing.T, h http.Handler) (int, Status) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var s Status
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, s
}

func TestReadiness(t *testing.T) {
	failing := func(context.Context) error { return errors.New("connection refused") }
	passing := func(context.Context) error { return nil }
	hanging := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	deaf := func(context.Context) error { time.Sleep(time.Second); return nil }

	tests := []struct {
		name       string
		checks     map[string]Check
		shutdown   bool
		wantCode   int
		wantStatus string
		wantChecks map[string]string
	}{
		{"no checks", nil, false, http.StatusOK, "ok", nil},
		{"all pass", map[string]Check{"db": passing}, false, http.StatusOK, "ok", map[string]string{"db": "ok"}},
		{"one fails", map[string]Check{"db": passing, "cache": failing}, false, http.StatusServiceUnavailable, "unavailable",
			map[string]string{"db": "ok", "cache": "fail"}},
		{"timeout", map[string]Check{"slow": hanging}, false, http.StatusServiceUnavailable, "unavailable", map[string]string{"slow": "fail"}},
		{"check ignores its context", map[string]Check{"deaf": deaf}, false, http.StatusServiceUnavailable, "unavailable",
			map[string]string{"deaf": "fail"}},
		{"shutting down", map[string]Check{"db": passing}, true, http.StatusServiceUnavailable, "shutting_down", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(50 * time.Millisecond)
			for name, c := range tt.checks {
				h.Register(name, c)
			}
			h.Refresh(context.Background())
			if tt.shutdown {
				h.Shutdown()
			}
			code, s := probe(t, h.HandleReady())
			if code != tt.wantCode || s.Status != tt.wantStatus {
				t.Fatalf("got %d %q, want %d %q", code, s.Status, tt.wantCode, tt.wantStatus)
			}
			for name, want := range tt.wantChecks {
				if got := s.Checks[name].Status; got != want {
					t.Errorf("check %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestProbesNeitherRunChecksNorRevealErrors(t *testing.T) {
	var calls atomic.Int32
	h := New(time.Second)
	h.Register("db", func(context.Context) error {
		calls.Add(1)
		return errors.New("dial postgres://app:secret@db: refused")
	})
	for range 5 {
		rec := httptest.NewRecorder()
		h.HandleReady().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("readiness with a failing check = %d, want 503", rec.Code)
		}
		if strings.Contains(rec.Body.String(), "secret") {
			t.Fatalf("the public probe reveals a check's error: %s", rec.Body)
		}
	}
	if n := calls.Load(); n > 1 {
		t.Fatalf("5 probes ran the check %d times; want it run in the background only", n)
	}
}

func TestRunRefreshesInTheBackground(t *testing.T) {
	var down atomic.Bool
	down.Store(true)
	h := New(time.Second)
	h.Register("db", func(context.Context) error {
		if down.Load() {
			return errors.New("dial postgres://app:secret@db: refused")
		}
		return nil
	})
	if code, s := probe(t, h.HandleReady()); code != http.StatusServiceUnavailable || s.Checks["db"].Status != "pending" {
		t.Fatalf("before the first run: %d %+v, want 503 with db pending", code, s)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		h.Run(ctx, slog.New(slog.NewJSONHandler(&logs, nil)), 10*time.Millisecond)
	}()
	defer func() { cancel(); <-stopped }()

	waitFor(t, "the check to fail", func() bool {
		code, s := probe(t, h.HandleReady())
		return code == http.StatusServiceUnavailable && s.Checks["db"].Status == "fail"
	})
	rec := httptest.NewRecorder()
	h.HandleDetails().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/debug/readyz", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "secret@db: refused") {
		t.Errorf("details = %d %s, want 503 with the check's error", rec.Code, rec.Body)
	}
	waitFor(t, "the failure to be logged", func() bool {
		return strings.Contains(logs.String(), `"level":"WARN","msg":"readiness check failed","check":"db","error":"dial postgres`)
	})

	down.Store(false)
	waitFor(t, "the check to pass", func() bool {
		code, _ := probe(t, h.HandleReady())
		return code == http.StatusOK
	})
	waitFor(t, "the recovery to be logged", func() bool {
		return strings.Contains(logs.String(), `"msg":"readiness check passed","check":"db"`)
	})
	if n := strings.Count(logs.String(), "readiness check failed"); n != 1 {
		t.Errorf("a failure lasting several runs was logged %d times, want once:\n%s", n, logs.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLivenessIgnoresDependenciesAndShutdown(t *testing.T) {
	h := New(time.Second)
	h.Register("db", func(context.Context) error { return errors.New("down") })
	h.Shutdown()
	if code, _ := probe(t, h.HandleLive()); code != http.StatusOK {
		t.Fatalf("liveness = %d, want 200", code)
	}
}
