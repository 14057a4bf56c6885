package web

import (
	"net/http"
	"strings"
)

// CanonicalPath answers 404, before any router, to a request whose path is
// not in canonical form: one that does not start with "/" (OPTIONS *), or
// that has an empty segment ("//") or a "." or ".." segment, written as such
// or percent-encoded. Routers disagree about such paths (ServeMux redirects
// them to the cleaned path, gin and echo route them as they are), and a
// client has no reason to send one: a proxy in front may have judged the path
// as written, the service would serve the one it names. A single trailing
// slash is left to the routers.
//
// Pair it with CanonicalRoute, so that a request it would refuse is never
// labelled with a route by a middleware that answers first.
func CanonicalPath(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isCanonical(r.URL.Path) {
			SetRoute(w, "")
			WriteProblem(w, r, Problem{Status: http.StatusNotFound, Detail: "the path is not in canonical form"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CanonicalRoute wraps routeOf, which names the route a request would take,
// so that a request whose path CanonicalPath refuses takes none.
func CanonicalRoute(routeOf func(*http.Request) string) func(*http.Request) string {
	return func(r *http.Request) string {
		if !isCanonical(r.URL.Path) {
			return ""
		}
		return routeOf(r)
	}
}

// isCanonical reports whether path, as decoded from the request line, starts
// with "/" and has no empty, "." or ".." segment but perhaps the last. It
// runs on every request: a search for "//" and one for "/." clear most
// paths, which have no segment starting with a dot.
func isCanonical(path string) bool {
	if !strings.HasPrefix(path, "/") || strings.Contains(path, "//") {
		return false
	}
	for rest := path; ; {
		i := strings.Index(rest, "/.")
		if i < 0 {
			return true
		}
		rest = rest[i+1:] // the segment, which starts with a dot, and what follows
		if rest == "." || rest == ".." || strings.HasPrefix(rest, "./") || strings.HasPrefix(rest, "../") {
			return false
		}
	}
}
