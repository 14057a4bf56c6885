package web

import (
	"fmt"
	"net/http"
)

// LimitBody refuses request bodies larger than maxBytes with 413: at once when
// the declared Content-Length is too large, or when a handler reads past the
// limit (DecodeJSON turns that into a 413).
func LimitBody(maxBytes int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.ContentLength > maxBytes {
				WriteProblem(w, r, Problem{
					Status: http.StatusRequestEntityTooLarge,
					Detail: fmt.Sprintf("the body must not exceed %d bytes", maxBytes),
				})
				return
			}
			// A request without a body (most GETs) has nothing to limit.
			if r.Body != http.NoBody {
				r.Body = http.MaxBytesReader(w, r.Body, maxBytes)
			}
			next.ServeHTTP(w, r)
		})
	}
}
