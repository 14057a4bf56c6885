package logging

import (
	"context"
	"log"
	"log/slog"
)

// Every logger of the service is a *slog.Logger, whichever library writes
// its records (the question logger: slog, zap or zerolog, in logging.go): the
// rest of the service logs with slog's API, and with its *Context methods
// where a request is in scope, so that the record names the request.

// ErrorLog returns a standard library logger, for http.Server.ErrorLog, that
// writes through l at WARN.
func ErrorLog(l *slog.Logger) *log.Logger {
	return slog.NewLogLogger(l.Handler(), slog.LevelWarn)
}

// LogSuppressed writes the summary of the access records held back of one
// route and status: INFO, or ERROR for a server error, as they were.
func LogSuppressed(l *slog.Logger, route string, status, count int) {
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	}
	l.LogAttrs(context.Background(), level, SuppressedMessage,
		slog.String("of", accessMessage), slog.String("route", route), slog.Int("status", status), slog.Int("count", count))
}

// accessLevel is the level of a request's access record: INFO, or ERROR for
// a server error.
func accessLevel(status int) slog.Level {
	if status >= 500 {
		return slog.LevelError
	}
	return slog.LevelInfo
}

// logAccessRecord writes the access record of one request through h as a
// slog.Record, built here rather than by logger.LogAttrs, which would read
// the clock again and walk the stack for a source location the record never
// shows. The request ID comes first, where the handlers find it and do not
// add it a second time.
func logAccessRecord(ctx context.Context, h slog.Handler, level slog.Level, id string, a Access) {
	attrs := [...]slog.Attr{
		slog.String(RequestIDKey, id),
		slog.String("method", a.Method),
		slog.String("route", a.Route),
		slog.String("path", a.Path),
		slog.Int("status", a.Status),
		slog.Float64("duration_ms", durationMS(a.Elapsed)),
		slog.Int64("bytes", a.Bytes),
	}
	all := attrs[:]
	if id == "" {
		all = all[1:]
	}
	rec := slog.NewRecord(a.Time, level, accessMessage, 0)
	rec.AddAttrs(all...)
	_ = h.Handle(ctx, rec) // as slog.Logger does: a log line that cannot be written has nowhere to go
}

// leadsWithRequestID reports whether the record's first attribute is the
// request ID: the access log's is, and a handler adding the context's would
// write it twice.
func leadsWithRequestID(r slog.Record) bool {
	leads := false
	r.Attrs(func(a slog.Attr) bool {
		leads = a.Key == RequestIDKey
		return false
	})
	return leads
}
