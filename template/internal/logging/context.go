// Package logging builds the service's structured logger and carries the
// request ID through contexts, so that every line logged while serving a
// request names the request.
package logging

import (
	"context"
	"time"
)

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

// accessMessage is the message of every access-log record.
const accessMessage = "request"

// Access is what the access log records of one request, beside its request
// ID: the fields of the runtime contract, in its order.
type Access struct {
	Time    time.Time // when the response was done
	Method  string
	Route   string
	Path    string
	Status  int
	Elapsed time.Duration
	Bytes   int64
}

// durationMS is a duration in milliseconds with microsecond precision, the
// unit of every duration_ms field.
func durationMS(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}
