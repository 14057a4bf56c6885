package web

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
)

// errLateWrite is what a response writer answers once its handler returned.
var errLateWrite = errors.New("web: the response was written to after its handler returned")

// A handler that leaves a goroutine holding its ResponseWriter may have it
// write after the handler returned. Whatever that writer forwards to may by
// then serve another request: net/http hands a streamed response's buffer to
// a later response, gin and echo their whole per-request context, writer
// included. lateGuard stands between a handler and such a writer: it forwards
// until closed, when the handler returned, and drops everything after, so
// that a late write reaches no response at all.
//
// Writes hold a lock, which closing takes too: a write under way when the
// handler returns finishes in its own response before the writer below can
// be reused.
type lateGuard struct {
	w      http.ResponseWriter
	mu     sync.Mutex
	closed atomic.Bool // written under mu; read without it by Unwrap
}

// open makes g forward to w, which serves one request.
func (g *lateGuard) open(w http.ResponseWriter) {
	g.w = w
	g.closed.Store(false)
}

// close makes g drop what is written to it from now on.
func (g *lateGuard) close() {
	g.mu.Lock()
	g.closed.Store(true)
	g.mu.Unlock()
}

// Header is the header map of the response while the handler runs; after, a
// map of its own that no response sends.
func (g *lateGuard) Header() http.Header {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return http.Header{}
	}
	return g.w.Header()
}

func (g *lateGuard) WriteHeader(code int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed.Load() {
		g.w.WriteHeader(code)
	}
}

func (g *lateGuard) Write(b []byte) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return 0, errLateWrite
	}
	return g.w.Write(b)
}

// FlushError lets streaming handlers flush through the guard (it is what
// http.ResponseController calls first).
func (g *lateGuard) FlushError() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed.Load() {
		return errLateWrite
	}
	return http.NewResponseController(g.w).Flush()
}

// Flush makes the guard an http.Flusher, for handlers that look for one.
func (g *lateGuard) Flush() { _ = g.FlushError() }

// Unwrap gives http.ResponseController and the stack's middleware access to
// the writer below while the handler runs, and nothing after.
func (g *lateGuard) Unwrap() http.ResponseWriter {
	if g.closed.Load() {
		return nil
	}
	return g.w
}

// GuardLateWrites serves h with a writer of its own for each request, which
// stops forwarding to the writer it was given when h returns: what a
// goroutine h left behind writes after that reaches no response. A router
// whose framework reuses its writers for later requests (gin's and echo's
// come from a pool with their contexts) wraps each net/http handler in it,
// where it adapts the handler to the framework.
func GuardLateWrites(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// In the request's state when RequestID is above in the stack, so
		// that the guard costs no allocation; a handler served twice in one
		// request gets a new one the second time.
		var g *lateGuard
		if s, ok := r.Context().(*requestState); ok && !s.handlerGuarded {
			s.handlerGuarded = true
			g = &s.handler
		} else {
			g = new(lateGuard)
		}
		g.open(w)
		defer g.close()
		h.ServeHTTP(g, r)
	})
}
