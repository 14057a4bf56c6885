package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// otherQuery labels the queries that carry no name.
const otherQuery = "other"

// maxQueryName bounds a query name's length.
const maxQueryName = 63

// QueryName returns the name a query gives itself on its first line,
// "-- name: get_note", or "other".
func QueryName(sql string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(sql), "\n")
	name, ok := strings.CutPrefix(strings.TrimSpace(first), "-- name:")
	if !ok {
		return otherQuery
	}
	name = strings.TrimSpace(name)
	if !validQueryName(name) {
		return otherQuery
	}
	return name
}

// validQueryName reports whether name is lower-case letters, digits and
// underscores, starting with a letter. Names come from the code, never from
// requests; checking them keeps a typo from creating a label value per query
// text.
func validQueryName(name string) bool {
	if name == "" || len(name) > maxQueryName || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// queryTracer measures every query's duration, labelled by its name.
type queryTracer struct {
	duration *prometheus.HistogramVec
}

func newQueryTracer() *queryTracer {
	return &queryTracer{duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "db_query_duration_seconds",
		Help:    "Duration of database queries, by the name on their first line (-- name: x), other when they have none.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"query"})}
}

type queryStartKey struct{}

type queryStart struct {
	name  string
	start time.Time
}

// TraceQueryStart implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, queryStartKey{}, queryStart{name: QueryName(data.SQL), start: time.Now()})
}

// TraceQueryEnd implements pgx.QueryTracer.
func (t *queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryEndData) {
	if s, ok := ctx.Value(queryStartKey{}).(queryStart); ok {
		t.duration.WithLabelValues(s.name).Observe(time.Since(s.start).Seconds())
	}
}

// poolCollector reads the pool's statistics at each scrape.
type poolCollector struct {
	pool                                       *pgxpool.Pool
	conns, maxConns, acquires, empty, waitTime *prometheus.Desc
}

func newPoolCollector(pool *pgxpool.Pool) poolCollector {
	return poolCollector{
		pool: pool,
		conns: prometheus.NewDesc("db_pool_connections",
			"Connections in the pool, by state.", []string{"state"}, nil),
		maxConns: prometheus.NewDesc("db_pool_max_connections",
			"Most connections the pool opens.", nil, nil),
		acquires: prometheus.NewDesc("db_pool_acquires_total",
			"Connections taken from the pool.", nil, nil),
		empty: prometheus.NewDesc("db_pool_empty_acquires_total",
			"Connections taken from the pool that had to wait for one, or open one.", nil, nil),
		waitTime: prometheus.NewDesc("db_pool_acquire_wait_seconds_total",
			"Time spent waiting for a connection from the pool.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.conns, c.maxConns, c.acquires, c.empty, c.waitTime} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.pool.Stat()
	for state, n := range map[string]int32{
		"idle":         s.IdleConns(),
		"acquired":     s.AcquiredConns(),
		"constructing": s.ConstructingConns(),
	} {
		ch <- prometheus.MustNewConstMetric(c.conns, prometheus.GaugeValue, float64(n), state)
	}
	ch <- prometheus.MustNewConstMetric(c.maxConns, prometheus.GaugeValue, float64(s.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.empty, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitTime, prometheus.CounterValue, s.AcquireDuration().Seconds())
}
