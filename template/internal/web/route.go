package web

import (
	"net/http"
	"strings"
)

// Router routes requests with a ServeMux and records, for Observe, the route
// that served each one. Only the patterns registered through Handle become
// route labels: ServeMux can report a pattern made of the client's own path
// (it does for CONNECT redirects), and a label must never be one a client
// chose. ServeMux's own 404 and 405 answers, which are plain text, become RFC
// 9457 problems like every other error.
type Router struct {
	mux    *http.ServeMux
	labels map[string]string // the route label of each registered pattern
}

// NewRouter returns a Router that registers its routes on mux.
func NewRouter(mux *http.ServeMux) *Router {
	return &Router{mux: mux, labels: make(map[string]string)}
}

// Handle registers h for pattern, as ServeMux.Handle does.
func (rt *Router) Handle(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h)
	rt.labels[pattern] = routeLabel(pattern)
}

// HandleFunc registers f for pattern, as ServeMux.HandleFunc does.
func (rt *Router) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	rt.Handle(pattern, http.HandlerFunc(f))
}

// Route returns the route label of the pattern that would serve r, or "" when
// none would. Observe asks it about requests answered before routing.
func (rt *Router) Route(r *http.Request) string {
	_, pattern := rt.mux.Handler(r)
	return rt.labels[pattern]
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := statusWriterOf(w)
	var uw *unmatchedWriter
	if sw != nil {
		uw = &sw.unmatched
		// ServeMux records the matched pattern on the request it routes,
		// which is r; deferred so that a panicking handler keeps its label.
		defer func() { sw.route, sw.routed = rt.labels[r.Pattern], true }()
	} else {
		uw = new(unmatchedWriter)
	}
	*uw = unmatchedWriter{ResponseWriter: w, r: r}
	rt.mux.ServeHTTP(uw, r)
}

// SetRoute records, for Observe above, the route label of the request w
// answers: the pattern of the route that serves it, written the way ServeMux
// writes it ("/v1/notes/{id}"), or "" when no route matches. It is the seam of
// a router that is not a Router: it calls SetRoute once routing has decided.
// Without Observe above (or with a writer between that does not unwrap) it
// does nothing.
func SetRoute(w http.ResponseWriter, route string) {
	if sw := statusWriterOf(w); sw != nil {
		sw.route, sw.routed = route, true
	}
}

// routeLabel is a pattern without its method: "GET /v1/notes/{id}" gives
// "/v1/notes/{id}".
func routeLabel(pattern string) string {
	if _, rest, found := strings.Cut(pattern, " "); found {
		return strings.TrimLeft(rest, " \t")
	}
	return pattern
}

// unmatchedWriter turns ServeMux's answers to requests no route matched into
// problems.
type unmatchedWriter struct {
	http.ResponseWriter
	r       *http.Request
	problem bool
}

func (w *unmatchedWriter) WriteHeader(code int) {
	if w.r.Pattern == "" && code >= http.StatusBadRequest {
		w.problem = true
		w.Header().Del("Content-Type")
		WriteProblem(w.ResponseWriter, w.r, Problem{Status: code})
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *unmatchedWriter) Write(b []byte) (int, error) {
	if w.problem {
		return len(b), nil // the problem body replaces ServeMux's text
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *unmatchedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
