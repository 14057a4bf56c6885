package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// counterValue is the value of the counter name with exactly the labels
// given, or -1 when there is none.
func counterValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// accessLogs returns the access-log records among the JSON lines of logs.
func accessLogs(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var records []map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == "request" {
			records = append(records, rec)
		}
	}
	return records
}

// TestLateWriteReachesNoOtherResponse: a handler that leaks its
// ResponseWriter to a goroutine that writes after the handler returned must
// not write into the response of a later request.
func TestLateWriteReachesNoOtherResponse(t *testing.T) {
	var leaked http.ResponseWriter
	router := NewRouter(http.NewServeMux())
	router.Handle("GET /leak", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		leaked = w
	}))
	router.Handle("GET /next", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = leaked.Write([]byte("late "))
		_, _ = w.Write([]byte("mine"))
	}))
	h := Observe(slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()), router.Route)(router)
	// Reuse, if there were any, would show on the first round or soon after.
	for i := range 20 {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/leak", nil))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/next", nil))
		if rec.Body.String() != "mine" {
			t.Fatalf("round %d: the next request's body is %q, want %q", i, rec.Body.String(), "mine")
		}
	}
}

// TestPanicAfterResponseStarted: the client must see a broken response, and
// the logs and metrics a server error, though the status line said 200.
func TestPanicAfterResponseStarted(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	reg := prometheus.NewRegistry()
	router := NewRouter(http.NewServeMux())
	router.Handle("GET /stream", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("partial"))
		_ = http.NewResponseController(w).Flush()
		panic("late")
	}))
	h := Observe(logger, NewMetrics(reg), router.Route)(Recover(logger)(router))
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("reading the body: %v, want io.ErrUnexpectedEOF (a cut response)", err)
	}
	srv.Close() // waits for the handler, and so for its access-log line

	var panicLogged bool
	for line := range strings.Lines(logs.String()) {
		panicLogged = panicLogged || strings.Contains(line, `"level":"ERROR","msg":"panic recovered"`)
	}
	if !panicLogged {
		t.Errorf("no ERROR record of the panic in %s", logs.String())
	}
	records := accessLogs(t, &logs)
	if len(records) != 1 || records[0]["status"] != 500.0 || records[0]["level"] != "ERROR" {
		t.Errorf("access log = %v, want one ERROR record with status 500", records)
	}
	labels := map[string]string{"method": "GET", "route": "/stream", "code": "500"}
	if got := counterValue(t, reg, "http_requests_total", labels); got != 1 {
		t.Errorf("http_requests_total%v = %v, want 1", labels, got)
	}
}

func TestRouteLabels(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	router := NewRouter(http.NewServeMux())
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	router.Handle("GET /items/{id}", ok)
	router.HandleFunc("/tree/", ok)
	router.Handle("/dirs/{name}/", ok)
	// A middleware below Observe that replaces the request, as auth and
	// tracing middleware do.
	withValue := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), withValueKey{}, 1)))
		})
	}
	h := Observe(logger, NewMetrics(prometheus.NewRegistry()), router.Route)(withValue(router))
	tests := []struct {
		method, target, want string
	}{
		{http.MethodGet, "/items/42", "/items/{id}"},
		{http.MethodGet, "/tree/a/b", "/tree/"},
		{http.MethodGet, "/nothing", "unmatched"},
		{http.MethodDelete, "/items/42", "unmatched"},
		// ServeMux reports the client's path as the pattern of the
		// redirect it answers a CONNECT to a subtree without its slash.
		{http.MethodConnect, "/dirs/chosen-by-the-client", "unmatched"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			logs.Reset()
			r := httptest.NewRequest(tt.method, tt.target, nil)
			if tt.method == http.MethodConnect {
				r.URL.Path = tt.target
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			records := accessLogs(t, &logs)
			if len(records) != 1 || records[0]["route"] != tt.want {
				t.Fatalf("access log = %v, want route %q", records, tt.want)
			}
		})
	}
}

type withValueKey struct{}

// TestSetRoute: a router that is not a Router reports the route label through
// SetRoute, below writers that unwrap; a request it never reports is named by
// the routeOf function Observe was given.
func TestSetRoute(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, nil))
	routeOf := func(*http.Request) string { return "/from/route-of" }
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    string
	}{
		{"recorded", func(w http.ResponseWriter, _ *http.Request) {
			SetRoute(&unwrapper{w}, "/items/{id}")
			w.WriteHeader(http.StatusNoContent)
		}, "/items/{id}"},
		{"no route", func(w http.ResponseWriter, _ *http.Request) {
			SetRoute(w, "")
			w.WriteHeader(http.StatusNotFound)
		}, "unmatched"},
		{"never reported", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, "/from/route-of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			h := Observe(logger, NewMetrics(prometheus.NewRegistry()), routeOf)(tt.handler)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/items/1", nil))
			records := accessLogs(t, &logs)
			if len(records) != 1 || records[0]["route"] != tt.want {
				t.Fatalf("access log = %v, want route %q", records, tt.want)
			}
		})
	}
	// Without Observe above there is nothing to record into.
	SetRoute(httptest.NewRecorder(), "/items/{id}")
}

// unwrapper is a writer of some middleware, which gives access to the one it
// wraps.
type unwrapper struct{ http.ResponseWriter }

func (w *unwrapper) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestRouteOfRequestsAnsweredBeforeRouting: a 429 or 413 sent by a
// middleware above the router is labelled with the route it was sent to.
func TestRouteOfRequestsAnsweredBeforeRouting(t *testing.T) {
	var logs bytes.Buffer
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	router := NewRouter(http.NewServeMux())
	router.Handle("POST /items", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}))
	h := Observe(slog.New(slog.NewJSONHandler(&logs, nil)), m, router.Route)(
		RateLimit(NewRateLimits(1, 1), m)(LimitBody(4)(router)))
	for _, body := range []string{"{}", "{}", "too large"} {
		r := httptest.NewRequest(http.MethodPost, "/items", strings.NewReader(body))
		r.RemoteAddr = "192.0.2.1:1000"
		if body == "too large" {
			r.RemoteAddr = "192.0.2.2:1000"
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	for _, code := range []string{"201", "429", "413"} {
		labels := map[string]string{"method": "POST", "route": "/items", "code": code}
		if got := counterValue(t, reg, "http_requests_total", labels); got != 1 {
			t.Errorf("http_requests_total%v = %v, want 1", labels, got)
		}
	}
	for _, rec := range accessLogs(t, &logs) {
		if rec["route"] != "/items" {
			t.Errorf("access log of a %v: route %v, want /items", rec["status"], rec["route"])
		}
	}
}

func TestRouteLabel(t *testing.T) {
	tests := []struct{ pattern, want string }{
		{"GET /v1/notes/{id}", "/v1/notes/{id}"},
		{"GET  example.com/x", "example.com/x"},
		{"/static/", "/static/"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := routeLabel(tt.pattern); got != tt.want {
			t.Errorf("routeLabel(%q) = %q, want %q", tt.pattern, got, tt.want)
		}
	}
}

func TestLimiterTimeOnlyMovesForward(t *testing.T) {
	l := newLimiter(NewRateLimits(1, 1), maxClients, func() {})
	key := clientKey("192.0.2.1:1000")
	start := time.Now()
	// Requests that arrived at 10 s and 5 s reach the limiter in that
	// order: the 5 s to 10 s interval must not refill the bucket twice.
	steps := []struct {
		at   time.Duration
		want time.Duration
	}{
		{10 * time.Second, 0},
		{5 * time.Second, time.Second},
		{10 * time.Second, time.Second},
		{11 * time.Second, 0},
	}
	for i, s := range steps {
		if got := l.wait(key, start.Add(s.at)); got != s.want {
			t.Fatalf("step %d at %v: wait = %v, want %v", i, s.at, got, s.want)
		}
	}
}

func TestRateLimitAtATinyRate(t *testing.T) {
	// The configuration refuses such a rate; the limiter must still not
	// overflow into letting everything through.
	h := RateLimit(NewRateLimits(1e-10, 1), NewMetrics(prometheus.NewRegistry()))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	for i, want := range []int{http.StatusNoContent, http.StatusTooManyRequests, http.StatusTooManyRequests} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		if rec.Code != want {
			t.Fatalf("request %d got %d, want %d", i, rec.Code, want)
		}
	}
}

func TestLimiterIsBounded(t *testing.T) {
	evictions := 0
	l := newLimiter(NewRateLimits(1, 1), 3, func() { evictions++ })
	now := time.Now()
	for _, addr := range []string{"192.0.2.1:1", "192.0.2.2:1", "192.0.2.3:1", "[2001:db8:1::1]:1", "[2001:db8:2::1]:1"} {
		if got := l.wait(clientKey(addr), now); got != 0 {
			t.Fatalf("first request of %s: wait = %v", addr, got)
		}
		if len(l.clients) > 3 {
			t.Fatalf("%d buckets, want at most 3", len(l.clients))
		}
	}
	if evictions != 2 {
		t.Fatalf("%d evictions counted, want 2", evictions)
	}
}

func TestRateLimitsChangeWhileServing(t *testing.T) {
	limits := NewRateLimits(0, 1)
	h := RateLimit(limits, NewMetrics(prometheus.NewRegistry()))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	do := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Code
	}
	// Requests in flight while the limits change: go test -race checks the
	// change is safe.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				do()
			}
		})
	}
	for i := range 100 {
		limits.Set(float64(i%3), 1+i%5)
	}
	wg.Wait()

	limits.Set(1000, 1000)
	for i := range 20 {
		if code := do(); code != http.StatusNoContent {
			t.Fatalf("request %d under a high limit got %d", i, code)
		}
	}
	// Lowering the limits takes effect at the next request, for a bucket
	// already full too.
	limits.Set(0.001, 2)
	got := []int{do(), do(), do()}
	if got[0] != http.StatusNoContent || got[1] != http.StatusNoContent || got[2] != http.StatusTooManyRequests {
		t.Fatalf("after lowering the burst to 2: %v, want 204 204 429", got)
	}
	limits.Set(0, 1)
	if code := do(); code != http.StatusNoContent {
		t.Fatalf("with limiting turned off: %d", code)
	}
}
