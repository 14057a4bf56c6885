package web

import (
	"fmt"
	"net/http"
	"sync/atomic"
)

// BodyBudget bounds the request body bytes that every request together may
// hold at once. A limit on each body alone bounds nothing: a client opening
// a few hundred connections, each sending most of a body and then waiting,
// holds a few hundred bodies in memory for as long as the read timeout.
type BodyBudget struct {
	limit int64
	used  atomic.Int64
}

// NewBodyBudget returns a budget of limit bytes.
func NewBodyBudget(limit int64) *BodyBudget {
	return &BodyBudget{limit: limit}
}

// reserve takes n bytes from the budget, or reports that fewer are left.
func (b *BodyBudget) reserve(n int64) bool {
	for {
		used := b.used.Load()
		if used+n > b.limit {
			return false
		}
		if b.used.CompareAndSwap(used, used+n) {
			return true
		}
	}
}

func (b *BodyBudget) release(n int64) { b.used.Add(-n) }

// LimitBody bounds request bodies, each to maxBytes and all of them together
// to budget. A body larger than maxBytes is refused with 413: at once when its
// declared Content-Length is too large, or when a handler reads past the
// limit (ReadJSONBody turns that into a 413). Before the handler runs, a body
// reserves its declared length, or maxBytes when the length is unknown
// (chunked), and gives it back when the handler returns; when the budget
// cannot cover it, the request is refused with 503 and Retry-After at once,
// counted in m's http_body_budget_refusals_total.
//
// Both refusals close the connection rather than read the body they refuse:
// net/http would otherwise read up to 256 KiB of it before answering, as long
// as the client cares to take sending it.
func LimitBody(maxBytes int64, budget *BodyBudget, m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// A request without a body (most GETs) has nothing to limit.
			if r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > maxBytes {
				w.Header().Set("Connection", "close")
				WriteProblem(w, r, Problem{
					Status: http.StatusRequestEntityTooLarge,
					Detail: fmt.Sprintf("the body must not exceed %d bytes", maxBytes),
				})
				return
			}
			size := maxBytes
			if r.ContentLength >= 0 {
				size = r.ContentLength
			}
			if !budget.reserve(size) {
				m.bodyBudgetRefusals.Inc()
				h := w.Header()
				h.Set("Connection", "close")
				// The bodies holding the budget are read within the read
				// timeout; most are done far sooner.
				h.Set("Retry-After", "1")
				WriteProblem(w, r, Problem{
					Status: http.StatusServiceUnavailable,
					Detail: "the server is reading as many request bodies as it can hold; retry after the number of seconds in Retry-After",
				})
				return
			}
			m.bodyBudgetUsed.Add(float64(size))
			defer func() {
				budget.release(size)
				m.bodyBudgetUsed.Sub(float64(size))
			}()
			r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			next.ServeHTTP(w, r)
		})
	}
}
