package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"
	"go.opentelemetry.io/otel/trace"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
	"go.temporal.io/sdk/interceptor"
)

// tracer makes avo's own spans (provider, S3 and Elasticsearch requests);
// without StartTracing they go nowhere.
var tracer = otel.Tracer(Scope)

// TracingEnabled reports whether the standard OpenTelemetry variables
// name an OTLP endpoint for traces.
func TracingEnabled() bool {
	return os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != ""
}

// StartTracing exports traces by OTLP (gRPC) when the standard variables
// name an endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or ..._TRACES_ENDPOINT,
// with OTEL_EXPORTER_OTLP_INSECURE, ..._HEADERS as the exporter reads
// them); otherwise tracing stays off. service names this process in the
// traces. The returned function flushes and stops the export.
func StartTracing(ctx context.Context, service string) (func(context.Context) error, error) {
	if !TracingEnabled() {
		return func(context.Context) error { return nil }, nil
	}
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(service)))
	if err != nil && !errors.Is(err, resource.ErrSchemaURLConflict) {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	slog.Info("traces exported by OTLP", "service", service)
	return tp.Shutdown, nil
}

// TemporalTracing is the Temporal SDK's tracing interceptor on the global
// tracer provider: workflows and activities become spans, and avo's
// requests within an activity its children.
func TemporalTracing() (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{})
}

// span starts a client span for a request; end closes it with its status.
func span(ctx context.Context, name string, attrs []attribute.KeyValue) (context.Context, func(status int, err error)) {
	ctx, s := tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx, func(status int, err error) {
		if status > 0 {
			s.SetAttributes(attribute.Int("http.response.status_code", status))
		}
		if err != nil {
			s.RecordError(err)
			s.SetStatus(codes.Error, err.Error())
		} else if status >= 500 {
			s.SetStatus(codes.Error, fmt.Sprintf("HTTP %d", status))
		}
		s.End()
	}
}
