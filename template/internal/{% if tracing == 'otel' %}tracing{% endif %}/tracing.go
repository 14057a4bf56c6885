// Package tracing sets up OpenTelemetry tracing: the tracer provider that
// samples and exports spans over OTLP/HTTP, and the W3C propagators that
// carry a trace across services. It knows nothing of HTTP routes or of the
// service's dependencies: they start their spans with the Tracer it gives.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Options are the settings of tracing, from the standard OTEL_* variables
// (the service's configuration reads and validates them).
type Options struct {
	// Endpoint is the URL spans are sent to, http://collector:4318/v1/traces;
	// empty sends none, and tracing is off.
	Endpoint string
	// Headers go with every export, such as a vendor's API key.
	Headers map[string]string
	// Resource describes the process: service.name and service.version,
	// and what OTEL_RESOURCE_ATTRIBUTES adds.
	Resource []attribute.KeyValue
	// Sampler is one of the OTEL_TRACES_SAMPLER names (Samplers()), Ratio
	// the share of traces the ratio samplers keep, from 0 to 1.
	Sampler string
	Ratio   float64
}

// Samplers lists the OTEL_TRACES_SAMPLER values the service accepts.
func Samplers() []string {
	return []string{
		"always_on", "always_off", "traceidratio",
		"parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio",
	}
}

// Tracing is the service's tracer provider and propagator.
type Tracing struct {
	provider trace.TracerProvider
	sdk      *sdktrace.TracerProvider // nil when tracing is off
	prop     propagation.TextMapPropagator
}

// instrumentation names the spans this service's own code makes.
const instrumentation = "service"

// New returns the tracing opts describe. Without an endpoint it is off:
// spans cost next to nothing, nothing is sent, and nothing is logged about
// it. Export failures are logged at WARN through logger, which holds back a
// flood of them.
func New(ctx context.Context, opts Options, logger *slog.Logger) (*Tracing, error) {
	if opts.Endpoint == "" {
		return Off(), nil
	}
	// The exporter dials nothing here: the first batch connects, so the
	// service starts while the collector is down.
	exp, err := otlptracehttp.New(ctx,
		otlptracehttp.WithEndpointURL(opts.Endpoint),
		otlptracehttp.WithHeaders(opts.Headers),
	)
	if err != nil {
		return nil, fmt.Errorf("trace exporter: %w", err)
	}
	return WithExporter(ctx, loggedExporter{exp, logger}, opts)
}

// Off returns tracing that is off: no span records, and the HTTP middleware
// is not installed.
func Off() *Tracing {
	return &Tracing{provider: noop.NewTracerProvider(), prop: propagator()}
}

// WithExporter returns tracing that sends spans to exp, sampled and
// described as opts say (its Endpoint and Headers unused). New gives it the
// OTLP exporter; tests and benchmarks give one of their own.
func WithExporter(ctx context.Context, exp sdktrace.SpanExporter, opts Options) (*Tracing, error) {
	sampler, err := newSampler(opts.Sampler, opts.Ratio)
	if err != nil {
		return nil, err
	}
	// Built from opts alone, rather than with resource.Default, which reads
	// the process's environment behind the configuration's back.
	res, err := resource.New(ctx,
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithTelemetrySDK(),
		resource.WithAttributes(opts.Resource...),
	)
	if err != nil {
		return nil, fmt.Errorf("trace resource: %w", err)
	}
	// The batch processor's queue is bounded (OTEL_BSP_MAX_QUEUE_SIZE,
	// 2048 spans): while the collector is down spans are dropped, never
	// held without limit.
	sdk := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	)
	return &Tracing{provider: sdk, sdk: sdk, prop: propagator()}, nil
}

// propagator reads and writes W3C trace context and baggage.
func propagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

// newSampler returns the sampler OTEL_TRACES_SAMPLER names.
func newSampler(name string, ratio float64) (sdktrace.Sampler, error) {
	switch name {
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio":
		return sdktrace.TraceIDRatioBased(ratio), nil
	case "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "parentbased_traceidratio":
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(ratio)), nil
	default:
		return nil, fmt.Errorf("unknown sampler %q", name)
	}
}

// Tracer returns the tracer of the service's own spans.
func (t *Tracing) Tracer() trace.Tracer { return t.provider.Tracer(instrumentation) }

// Propagator reads and writes W3C trace context and baggage.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return t.prop }

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t.sdk != nil }

// Shutdown exports the spans still queued and stops the exporter. It is a
// step of the service's shutdown: after the server and the jobs, whose spans
// it sends, and before the log flush, so that a failure to send is logged.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	if err := t.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("trace flush: %w", err)
	}
	return nil
}

// ForceFlush exports every span ended until now, without waiting for the
// batch: tests read what they made after it.
func (t *Tracing) ForceFlush(ctx context.Context) error {
	if t.sdk == nil {
		return nil
	}
	return t.sdk.ForceFlush(ctx)
}

// loggedExporter logs what the exporter fails to send, through the
// service's logger, instead of leaving it to OpenTelemetry's global error
// handler, which writes plain text to stderr beside the JSON log.
type loggedExporter struct {
	sdktrace.SpanExporter
	logger *slog.Logger
}

func (e loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.SpanExporter.ExportSpans(ctx, spans)
	if err != nil && !errors.Is(err, context.Canceled) {
		e.logger.WarnContext(ctx, "trace export failed", slog.Int("spans", len(spans)), slog.Any("error", err))
	}
	// Logged, and dropped: the exporter has retried already, and the
	// batch processor has nothing better to do with the error.
	return nil
}
