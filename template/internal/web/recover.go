package web

import (
	"errors"
	"log/slog"
	"net/http"
	"runtime/debug"
)

// Recover turns a panicking handler into a logged error (with its stack) and
// a 500 answer, so one bad request never takes the service down.
// http.ErrAbortHandler is let through: net/http uses it to abort a response on
// purpose.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				logger.ErrorContext(r.Context(), "panic recovered",
					slog.Any("panic", v),
					slog.String("stack", string(debug.Stack())),
				)
				if sw, ok := w.(*statusWriter); ok && sw.headerWritten() {
					return // too late to change the answer; the client sees a cut response
				}
				WriteProblem(w, r, Problem{
					Status: http.StatusInternalServerError,
					Detail: "the server could not complete the request",
				})
			}()
			next.ServeHTTP(w, r)
		})
	}
}
