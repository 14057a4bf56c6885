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
//
// A handler that panics after its response started cannot be answered 500:
// the client already has a status line, and maybe part of the body. Recover
// then aborts the response with http.ErrAbortHandler, so that the client sees
// a broken response rather than a complete-looking truncated one, and Observe
// counts and logs it as the server error it is.
func Recover(logger *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					answerPanic(logger, w, r, v)
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// answerPanic logs the panic v of the handler serving r and answers it.
func answerPanic(logger *slog.Logger, w http.ResponseWriter, r *http.Request, v any) {
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	logger.ErrorContext(r.Context(), "panic recovered",
		slog.Any("panic", v),
		slog.String("stack", string(debug.Stack())),
	)
	if sw := statusWriterOf(w); sw != nil && sw.headerWritten() {
		sw.fail()
		panic(http.ErrAbortHandler)
	}
	WriteProblem(w, r, Problem{
		Status: http.StatusInternalServerError,
		Detail: "the server could not complete the request",
	})
}
