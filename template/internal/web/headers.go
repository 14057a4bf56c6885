package web

import "net/http"

// SecurityHeaders sets the response headers every JSON API answer should
// carry: no MIME sniffing, no framing, no referrer, and a content security
// policy that allows nothing, since the service serves no documents.
func SecurityHeaders(next http.Handler) http.Handler {
	// Built once and assigned to the header map as they are: Header.Set
	// would canonicalize each key and allocate each value on every request.
	// The keys are in canonical form, and every value has no spare capacity,
	// so that an Add on one response cannot write into another's.
	headers := []struct {
		key   string
		value []string
	}{
		{"X-Content-Type-Options", []string{"nosniff"}},
		{"X-Frame-Options", []string{"DENY"}},
		{"Referrer-Policy", []string{"no-referrer"}},
		{"Content-Security-Policy", []string{"default-src 'none'; frame-ancestors 'none'"}},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		for _, hv := range headers {
			h[hv.key] = hv.value
		}
		next.ServeHTTP(w, r)
	})
}
