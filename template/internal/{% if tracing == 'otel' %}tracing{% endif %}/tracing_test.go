package tracing

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func TestNewWithoutEndpointIsOff(t *testing.T) {
	traces, err := New(context.Background(), Options{Sampler: "always_on"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if traces.Enabled() {
		t.Error("tracing on without an endpoint")
	}
	_, span := traces.Tracer().Start(context.Background(), "op")
	if span.IsRecording() {
		t.Error("a span records with tracing off")
	}
}

func TestEverySamplerNameIsKnown(t *testing.T) {
	for _, name := range Samplers() {
		if _, err := newSampler(name, 0.5); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := newSampler("sometimes", 0.5); err == nil {
		t.Error("an unknown sampler was accepted")
	}
}

// collector is an OTLP/HTTP endpoint that records what it is sent, and
// answers with status.
type collector struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   [][]byte
	status   int
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.requests, c.bodies = append(c.requests, r), append(c.bodies, body)
	c.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.WriteHeader(c.status)
}

// TestSpansReachTheCollector sends a span over OTLP/HTTP: protobuf, to the
// endpoint's URL, with the configured headers and resource.
func TestSpansReachTheCollector(t *testing.T) {
	c := &collector{status: http.StatusOK}
	srv := httptest.NewServer(c)
	defer srv.Close()
	traces, err := New(context.Background(), Options{
		Endpoint: srv.URL + "/v1/traces",
		Headers:  map[string]string{"Api-Key": "k1"},
		Resource: []attribute.KeyValue{attribute.String("service.name", "svc")},
		Sampler:  "parentbased_always_on",
	}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	_, span := traces.Tracer().Start(context.Background(), "op", trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	if err := traces.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.requests) != 1 {
		t.Fatalf("the collector got %d requests, want 1", len(c.requests))
	}
	r := c.requests[0]
	if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" || r.Header.Get("Api-Key") != "k1" {
		t.Errorf("got %s with Content-Type %q and Api-Key %q", r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("Api-Key"))
	}
	// The protobuf holds the span's name and the resource's strings as
	// they are.
	for _, want := range []string{"op", "svc"} {
		if !bytes.Contains(c.bodies[0], []byte(want)) {
			t.Errorf("the export holds no %q", want)
		}
	}
}

// TestAFailedExportIsLoggedAndDropped checks that a collector refusing a
// batch costs one WARN record, and the shutdown does not fail for it.
func TestAFailedExportIsLoggedAndDropped(t *testing.T) {
	srv := httptest.NewServer(&collector{status: http.StatusBadRequest})
	defer srv.Close()
	var logs bytes.Buffer
	traces, err := New(context.Background(), Options{Endpoint: srv.URL + "/v1/traces", Sampler: "always_on"},
		slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, span := traces.Tracer().Start(context.Background(), "op")
	span.End()
	if err := traces.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v, want the failure logged, not returned", err)
	}
	if got := strings.Count(logs.String(), `"msg":"trace export failed"`); got != 1 {
		t.Errorf("%d records of the failure, want 1:\n%s", got, logs.String())
	}
}
