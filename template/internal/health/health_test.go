package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestLivenessIgnoresDependenciesAndShutdown(t *testing.T) {
	h := New(time.Second)
	h.Register("db", func(context.Context) error { return errors.New("down") })
	h.Shutdown()
	if code, _ := probe(t, h.HandleLive()); code != http.StatusOK {
		t.Fatalf("liveness = %d, want 200", code)
	}
}
