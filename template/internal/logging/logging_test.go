package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

func TestNewRejectsUnknownSettings(t *testing.T) {
	tests := []struct {
		name, format, level string
	}{
		{"format", "xml", "info"},
		{"level", "json", "loud"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := New(&bytes.Buffer{}, tt.format, tt.level); err == nil {
				t.Fatalf("New(%q, %q) succeeded, want an error", tt.format, tt.level)
			}
		})
	}
}

func TestRequestIDInEveryRecord(t *testing.T) {
	var buf bytes.Buffer
	logger, _, err := New(&buf, "json", "debug")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-42")
	logger.InfoContext(ctx, "first")
	logger.With("component", "test").DebugContext(ctx, "second")
	logger.Info("no context")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{"req-42", "req-42", ""} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		for _, key := range []string{"time", "level", "msg"} {
			if _, ok := rec[key]; !ok {
				t.Errorf("line %d has no %q key: %s", i, key, lines[i])
			}
		}
		got, _ := rec["request_id"].(string)
		if got != want {
			t.Errorf("line %d request_id = %q, want %q", i, got, want)
		}
	}
}

func TestLevelFilters(t *testing.T) {
	var buf bytes.Buffer
	logger, _, err := New(&buf, "text", "warn")
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("hidden")
	logger.Warn("shown")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
		t.Fatalf("level warn logged %q", out)
	}
}

func TestRequestIDLoggedOnce(t *testing.T) {
	var buf bytes.Buffer
	logger, _, err := New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequestID(context.Background(), "req-42")
	logger.LogAttrs(ctx, slog.LevelInfo, "request", slog.String(RequestIDKey, "req-42"), slog.Int("status", 200))
	if n := strings.Count(buf.String(), `"request_id"`); n != 1 {
		t.Fatalf("request_id appears %d times in %s", n, buf.String())
	}
}

func TestSetLevelWhileLogging(t *testing.T) {
	var buf syncBuffer
	logger, setLevel, err := New(&buf, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	if err := setLevel("loud"); err == nil {
		t.Fatal("setLevel(loud) succeeded, want an error")
	}
	// Loggers in flight while the level changes: go test -race checks the
	// change is safe.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				logger.Debug("maybe")
			}
		})
	}
	for _, level := range []string{"debug", "error", "info"} {
		if err := setLevel(level); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()

	buf.Reset()
	logger.Debug("hidden at info")
	if err := setLevel("debug"); err != nil {
		t.Fatal(err)
	}
	logger.Debug("shown at debug")
	if out := buf.String(); strings.Contains(out, "hidden") || !strings.Contains(out, "shown") {
		t.Fatalf("after setLevel(debug) the logger wrote %q", out)
	}
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
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

func (s *syncBuffer) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Reset()
}
