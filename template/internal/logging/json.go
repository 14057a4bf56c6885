package logging

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strconv"
	"sync"
	"time"
)

// jsonHandler writes the records of the JSON log format. Most records, the
// access log's among them, hold only plain strings and numbers: it writes
// those itself, several times faster than slog.JSONHandler, whose float
// encoding alone goes through encoding/json. It hands every other record to
// slog.JSONHandler, and the output is the same either way.
//
// With a ReplaceAttr function or AddSource in the options, every record goes
// to slog.JSONHandler: the fast path applies neither, and a redacting
// ReplaceAttr must see every record.
type jsonHandler struct {
	slow slog.Handler
	out  *lockedWriter
	bufs *sync.Pool
}

func newJSONHandler(w io.Writer, opts *slog.HandlerOptions) slog.Handler {
	if opts != nil && (opts.ReplaceAttr != nil || opts.AddSource) {
		return slog.NewJSONHandler(w, opts)
	}
	out := &lockedWriter{w: w}
	return jsonHandler{
		slow: slog.NewJSONHandler(out, opts),
		out:  out,
		bufs: &sync.Pool{New: func() any { return new([]byte) }},
	}
}

func (h jsonHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.slow.Enabled(ctx, level)
}

// WithAttrs and WithGroup give up the fast path: slog.JSONHandler formats
// the attributes and groups once, up front.
func (h jsonHandler) WithAttrs(attrs []slog.Attr) slog.Handler { return h.slow.WithAttrs(attrs) }

func (h jsonHandler) WithGroup(name string) slog.Handler { return h.slow.WithGroup(name) }

func (h jsonHandler) Handle(ctx context.Context, r slog.Record) error {
	bp := h.bufs.Get().(*[]byte)
	defer h.bufs.Put(bp)
	line, ok := appendPlainRecord((*bp)[:0], r)
	*bp = line
	if !ok {
		return h.slow.Handle(ctx, r)
	}
	_, err := h.out.Write(line)
	return err
}

// appendPlainRecord appends r as slog.JSONHandler would write it, or reports
// false when r holds anything beyond plain strings, numbers and booleans.
func appendPlainRecord(b []byte, r slog.Record) ([]byte, bool) {
	if y := r.Time.Year(); r.Time.IsZero() || y < 0 || y > 9999 || !plain(r.Message) {
		return b, false
	}
	b = append(b, `{"time":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, r.Level.String()...)
	b = append(b, `","msg":"`...)
	b = append(b, r.Message...)
	b = append(b, '"')
	ok := true
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "" || !plain(a.Key) {
			ok = false
			return false
		}
		b = append(b, `,"`...)
		b = append(b, a.Key...)
		b = append(b, `":`...)
		b, ok = appendPlainValue(b, a.Value)
		return ok
	})
	return append(b, "}\n"...), ok
}

func appendPlainValue(b []byte, v slog.Value) ([]byte, bool) {
	switch v.Kind() {
	case slog.KindString:
		s := v.String()
		if !plain(s) {
			return b, false
		}
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"'), true
	case slog.KindInt64:
		return strconv.AppendInt(b, v.Int64(), 10), true
	case slog.KindUint64:
		return strconv.AppendUint(b, v.Uint64(), 10), true
	case slog.KindFloat64:
		// encoding/json writes these floats in this form; smaller and
		// larger ones with an exponent, and it refuses NaN and infinities.
		f := v.Float64()
		if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21 || math.IsNaN(f)) {
			return b, false
		}
		return strconv.AppendFloat(b, f, 'f', -1, 64), true
	case slog.KindBool:
		return strconv.AppendBool(b, v.Bool()), true
	default:
		return b, false
	}
}

// plain reports whether s needs no escaping in a JSON string: printable
// ASCII but for the quote and the backslash.
func plain(s string) bool {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// lockedWriter serializes the writes of both handlers, so that their lines
// never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
