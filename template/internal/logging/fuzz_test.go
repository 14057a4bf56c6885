package logging

import (
	"bytes"
	"context"
	"log/slog"
	"math"
	"runtime"
	"testing"
	"time"
)

// FuzzJSONHandler checks that the JSON handler, fast path or not, writes
// exactly what slog.JSONHandler writes. `go test` runs the seeds below; `go
// test -fuzz FuzzJSONHandler ./internal/logging/` looks for more.
func FuzzJSONHandler(f *testing.F) {
	f.Add("request", "route", "/v1/notes/{id}", int64(200), 0.123, true, int64(0), int64(1764196801), int64(123456789))
	f.Add(`say "hi"`, `a"b`, "a\nb\tc\x00", int64(-3), -2.5, false, int64(4), int64(0), int64(0))
	f.Add("héllo", "k", "\u2028 ü a\xffb", int64(math.MinInt64), 1e-7, true, int64(-4), int64(-62135596800), int64(0)) // the zero time
	f.Add("x", "", "<script>&", int64(math.MaxInt64), 1e21, false, int64(8), int64(253402300800), int64(0))            // year 10000
	f.Add("x", "f", "", int64(1), math.Inf(-1), true, int64(2), int64(-62198755200), int64(5))                         // year -1
	f.Add("x", "f", "", int64(1), math.NaN(), true, int64(-8), int64(-1), int64(999999999))
	f.Add("x", "f", "", int64(1), math.Copysign(0, -1), true, int64(1), int64(1e12), int64(1))
	opts := &slog.HandlerOptions{Level: slog.LevelDebug - 8}
	f.Fuzz(func(t *testing.T, msg, key, s string, i int64, fl float64, b bool, level, sec, nsec int64) {
		r := slog.NewRecord(time.Unix(sec, nsec).UTC(), slog.Level(level), msg, 0)
		r.AddAttrs(slog.String(key, s), slog.Int64("i", i), slog.Float64("f", fl), slog.Bool("b", b),
			slog.Uint64("u", uint64(i)), slog.String("s", msg))
		var got, want bytes.Buffer
		gotErr := newJSONHandler(&got, opts).Handle(context.Background(), r)
		wantErr := slog.NewJSONHandler(&want, opts).Handle(context.Background(), r)
		if (gotErr == nil) != (wantErr == nil) || got.String() != want.String() {
			t.Fatalf("got  %s (%v)\nwant %s (%v)", got.String(), gotErr, want.String(), wantErr)
		}
	})
}

// TestJSONHandlerHonoursReplaceAttrAndAddSource: with either option set,
// every record must come out as slog.JSONHandler writes it, including those
// the fast path would otherwise take.
func TestJSONHandlerHonoursReplaceAttrAndAddSource(t *testing.T) {
	redact := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == "path" {
			a.Value = slog.StringValue("[redacted]")
		}
		return a
	}
	tests := []struct {
		name string
		opts *slog.HandlerOptions
	}{
		{"ReplaceAttr", &slog.HandlerOptions{ReplaceAttr: redact}},
		{"AddSource", &slog.HandlerOptions{AddSource: true}},
	}
	pc, _, _, _ := runtime.Caller(0)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := slog.NewRecord(time.Date(2026, 11, 25, 22, 40, 1, 0, time.UTC), slog.LevelInfo, "request", pc)
			r.AddAttrs(slog.String("route", "/v1/notes/{id}"), slog.String("path", "/v1/notes/42"), slog.Int("status", 200))
			var got, want bytes.Buffer
			if err := newJSONHandler(&got, tt.opts).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if err := slog.NewJSONHandler(&want, tt.opts).Handle(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("got  %s want %s", got.String(), want.String())
			}
		})
	}
}
