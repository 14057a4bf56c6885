package logging

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"
	"time"
)

// TestJSONHandlerWritesWhatSlogWrites compares every record, on the fast path
// or not, with slog.JSONHandler's line for it.
func TestJSONHandlerWritesWhatSlogWrites(t *testing.T) {
	when := time.Date(2026, 11, 25, 22, 40, 1, 123456789, time.UTC)
	tests := []struct {
		name  string
		level slog.Level
		msg   string
		attrs []slog.Attr
		time  time.Time
		fast  bool
	}{
		{"access log", slog.LevelInfo, "request", []slog.Attr{
			slog.String("request_id", "01HZX3V6J9M2Q4T7W8Y0ABCDEF"), slog.String("method", "GET"),
			slog.String("route", "/v1/notes/{id}"), slog.String("path", "/v1/notes/42"), slog.Int("status", 200),
			slog.Float64("duration_ms", 0.123), slog.Int64("bytes", 512),
		}, when, true},
		{"no attributes", slog.LevelWarn, "hello", nil, when, true},
		{"custom level", slog.LevelError + 2, "x", nil, when, true},
		{"negative numbers", slog.LevelDebug, "x", []slog.Attr{slog.Int("i", -3), slog.Float64("f", -2.5)}, when, true},
		{"unsigned and bool", slog.LevelInfo, "x", []slog.Attr{slog.Uint64("u", math.MaxUint64), slog.Bool("b", true)}, when, true},
		{"zero floats", slog.LevelInfo, "x", []slog.Attr{slog.Float64("z", 0), slog.Float64("n", math.Copysign(0, -1))}, when, true},
		{"float at the bounds", slog.LevelInfo, "x", []slog.Attr{slog.Float64("a", 1e-6), slog.Float64("b", 1e21-1e5)}, when, true},
		{"html characters", slog.LevelInfo, "<a&b>", []slog.Attr{slog.String("k", "<script>&")}, when, true},
		{"small float", slog.LevelInfo, "x", []slog.Attr{slog.Float64("f", 1e-7)}, when, false},
		{"large float", slog.LevelInfo, "x", []slog.Attr{slog.Float64("f", 1e21)}, when, false},
		{"NaN", slog.LevelInfo, "x", []slog.Attr{slog.Float64("f", math.NaN())}, when, false},
		{"infinity", slog.LevelInfo, "x", []slog.Attr{slog.Float64("f", math.Inf(1))}, when, false},
		{"quote and backslash", slog.LevelInfo, `say "hi"`, []slog.Attr{slog.String("p", `C:\x`)}, when, false},
		{"control characters", slog.LevelInfo, "x", []slog.Attr{slog.String("s", "a\nb\tc\x00")}, when, false},
		{"unicode", slog.LevelInfo, "héllo", []slog.Attr{slog.String("s", "\u2028 ü")}, when, false},
		{"invalid UTF-8", slog.LevelInfo, "x", []slog.Attr{slog.String("s", "a\xffb")}, when, false},
		{"key to escape", slog.LevelInfo, "x", []slog.Attr{slog.Int(`a"b`, 1)}, when, false},
		{"empty attribute", slog.LevelInfo, "x", []slog.Attr{{}, slog.Int("a", 1)}, when, false},
		{"group", slog.LevelInfo, "x", []slog.Attr{slog.Group("g", slog.Int("a", 1))}, when, false},
		{"error", slog.LevelError, "x", []slog.Attr{slog.Any("error", errors.New("boom"))}, when, false},
		{"duration and time", slog.LevelInfo, "x", []slog.Attr{slog.Duration("d", time.Second), slog.Time("t", when)}, when, false},
		{"any", slog.LevelInfo, "x", []slog.Attr{slog.Any("m", map[string]int{"a": 1})}, when, false},
		{"zero time", slog.LevelInfo, "x", nil, time.Time{}, false},
		{"other time zone", slog.LevelInfo, "x", nil, when.In(time.FixedZone("X", 3600+1800)), true},
	}
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := slog.NewRecord(tt.time, tt.level, tt.msg, 0)
			r.AddAttrs(tt.attrs...)
			var got, want bytes.Buffer
			if err := newJSONHandler(&got, opts).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := slog.NewJSONHandler(&want, opts).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("got  %s want %s", got.String(), want.String())
			}
			if _, fast := appendPlainRecord(nil, r); fast != tt.fast {
				t.Fatalf("fast path taken = %v, want %v", fast, tt.fast)
			}
		})
	}
}

func TestJSONHandlerWithAttrsAndGroups(t *testing.T) {
	var got, want bytes.Buffer
	loggers := []*slog.Logger{slog.New(newJSONHandler(&got, nil)), slog.New(slog.NewJSONHandler(&want, nil))}
	for _, l := range loggers {
		l.With("component", "store").WithGroup("g").Info("x", "a", 1)
		l.Info("plain", "b", 2)
	}
	// The times differ; everything after them must not.
	strip := func(s string) string {
		var out bytes.Buffer
		for line := range bytes.Lines([]byte(s)) {
			_, rest, _ := bytes.Cut(line, []byte(`"level"`))
			out.Write(rest)
		}
		return out.String()
	}
	if strip(got.String()) != strip(want.String()) {
		t.Fatalf("got\n%swant\n%s", got.String(), want.String())
	}
}
