package web

import (
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the HTTP server's Prometheus metrics. Route labels are route
// patterns, never raw paths, so that a flood of random URLs cannot grow them.
type Metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	inFlight  prometheus.Gauge
	openConns prometheus.Gauge
}

// NewMetrics registers the HTTP metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
		openConns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "http_open_connections",
			Help: "Client connections open now.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.openConns)
	return m
}

// ConnState keeps the open-connections gauge; set it as http.Server.ConnState.
func (m *Metrics) ConnState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		m.openConns.Inc()
	case http.StateHijacked, http.StateClosed:
		m.openConns.Dec()
	default:
	}
}

// Observe records every request in the metrics and in one access-log line.
// routeOf names the route that served the request once the router has run
// (its pattern), or "" when no route matched; that is reported as
// "unmatched".
func Observe(logger *slog.Logger, m *Metrics, routeOf func(*http.Request) string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			m.inFlight.Inc()
			sw := &statusWriter{ResponseWriter: w}
			// Deferred so that a handler aborted with http.ErrAbortHandler
			// is still counted and logged.
			defer func() {
				m.inFlight.Dec()
				elapsed := time.Since(start)
				status := sw.status
				if status == 0 {
					status = http.StatusOK
				}
				route := routeOf(r)
				if route == "" {
					route = "unmatched"
				}
				method := methodLabel(r.Method)
				m.requests.WithLabelValues(method, route, strconv.Itoa(status)).Inc()
				m.duration.WithLabelValues(method, route).Observe(elapsed.Seconds())
				level := slog.LevelInfo
				if status >= http.StatusInternalServerError {
					level = slog.LevelError
				}
				logger.LogAttrs(r.Context(), level, "request",
					slog.String("method", r.Method),
					slog.String("route", route),
					slog.String("path", r.URL.Path),
					slog.Int("status", status),
					slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
					slog.Int64("bytes", sw.bytes),
				)
			}()
			next.ServeHTTP(sw, r)
		})
	}
}

// methodLabel keeps the method label bounded: a client can send any token as
// a method.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	default:
		return "OTHER"
	}
}

// statusWriter records the status code and body size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= http.StatusOK {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streaming handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// headerWritten reports whether the response has started, after which its
// status can no longer change.
func (w *statusWriter) headerWritten() bool { return w.status != 0 }
