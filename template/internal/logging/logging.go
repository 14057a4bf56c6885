// Package logging builds the service's structured logger and carries the
// request ID through contexts, so that every line logged while serving a
// request names the request.
package logging

import (
	"context"
	"fmt"
	"io"
	"log/slog"
)

// New returns a logger writing one record per line to w, as JSON (format
// "json") or logfmt-style text (format "text"), at the given level ("debug",
// "info", "warn" or "error"), and setLevel, which changes that level under
// the running logger, safely while other goroutines log (a configuration
// reload calls it). Records logged with a context that carries a request ID
// get a request_id attribute.
func New(w io.Writer, format, level string) (logger *slog.Logger, setLevel func(string) error, err error) {
	lvl := new(slog.LevelVar)
	setLevel = func(level string) error {
		var l slog.Level
		if err := l.UnmarshalText([]byte(level)); err != nil {
			return fmt.Errorf("log level: %w", err)
		}
		lvl.Set(l)
		return nil
	}
	if err := setLevel(level); err != nil {
		return nil, nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl}
	var h slog.Handler
	switch format {
	case "json":
		h = newJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(contextHandler{h}), setLevel, nil
}

// RequestIDContext is a context carrying a request ID: WithRequestID makes
// one. It does the work of context.WithValue in one allocation instead of two
// (the context and the boxed string), and answers its own key with itself,
// which costs none. It is exported so that middleware can allocate it
// together with other values of the request, as one allocation.
type RequestIDContext struct {
	context.Context
	ID string
}

type requestIDKey struct{}

// Value answers the request ID's key with c, and every other key as the
// parent context does.
func (c *RequestIDContext) Value(key any) any {
	if _, ok := key.(requestIDKey); ok {
		return c
	}
	return c.Context.Value(key)
}

// WithRequestID returns a copy of ctx carrying the request ID id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return &RequestIDContext{Context: ctx, ID: id}
}

// RequestID returns the request ID carried by ctx, or "" if there is none.
func RequestID(ctx context.Context) string {
	if c, ok := ctx.Value(requestIDKey{}).(*RequestIDContext); ok {
		return c.ID
	}
	return ""
}

// RequestIDKey is the attribute that names the request a record was logged
// for.
const RequestIDKey = "request_id"

// contextHandler adds the context's request ID to every record, so call sites
// only need to log with their context (logger.InfoContext(ctx, ...)).
type contextHandler struct {
	slog.Handler
}

// Handle leaves a record that already leads with the request ID as it is:
// the access log adds it first itself, so that the record's attributes grow
// once, not twice.
func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" && !leadsWithRequestID(r) {
		r.AddAttrs(slog.String(RequestIDKey, id))
	}
	return h.Handler.Handle(ctx, r)
}

func leadsWithRequestID(r slog.Record) bool {
	leads := false
	r.Attrs(func(a slog.Attr) bool {
		leads = a.Key == RequestIDKey
		return false
	})
	return leads
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}
