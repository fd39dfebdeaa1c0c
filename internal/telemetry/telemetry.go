// Package telemetry makes what avo does visible to operators: metrics in
// the Prometheus exposition format, recorded through OpenTelemetry (the
// pipeline's own and the Temporal SDK's), and health checks that name what
// cannot be reached.
package telemetry

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.temporal.io/sdk/client"
	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Scope names avo's own instruments.
const Scope = "github.com/archiefvooronderwijs/avo"

// Metrics is a process's metrics: an OpenTelemetry meter provider read by
// a Prometheus registry, served by Handler.
type Metrics struct {
	Provider *sdkmetric.MeterProvider
	registry *prometheus.Registry
}

var (
	once   sync.Once
	global *Metrics
	errNew error
)

// Start sets up the process's metrics once and makes them the global
// OpenTelemetry meter provider, which the pipeline's instruments use.
func Start() (*Metrics, error) {
	once.Do(func() { global, errNew = start() })
	return global, errNew
}

func start() (*Metrics, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo(), otelprom.WithoutTargetInfo())
	if err != nil {
		return nil, fmt.Errorf("prometheus exporter: %w", err)
	}
	// Latencies from a millisecond (a local S3 PUT) to a minute (a slow
	// provider page).
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp), sdkmetric.WithView(sdkmetric.NewView(
		sdkmetric.Instrument{Kind: sdkmetric.InstrumentKindHistogram, Unit: "s"},
		sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: buckets}},
	)))
	otel.SetMeterProvider(mp)
	return &Metrics{Provider: mp, registry: reg}, nil
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Temporal is the Temporal SDK's metrics handler on the global meter
// provider (workflow and activity latencies, failures, task slots): it
// records once Start has run.
func Temporal() client.MetricsHandler {
	return temporalotel.NewMetricsHandler(temporalotel.MetricsHandlerOptions{
		Meter:                otel.Meter("temporal-sdk-go"),
		UseMonotonicCounters: true,
		OnError:              func(err error) { slog.Warn("temporal metric not recorded", "err", err) },
	})
}

// Meter is avo's meter on the global provider: instruments made from it
// before Start record once Start has run.
func Meter() metric.Meter { return otel.Meter(Scope) }

// Since returns the seconds since start, for a latency histogram.
func Since(start time.Time) float64 { return time.Since(start).Seconds() }

// Check is one dependency a ready process needs.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// Probe runs checks at once, each within two seconds, and returns each
// one's result: "ok" or why not.
func Probe(ctx context.Context, checks []Check) map[string]string {
	results := make([]string, len(checks))
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			results[i] = "ok"
			if err := c.Probe(ctx); err != nil {
				results[i] = err.Error()
			}
		})
	}
	wg.Wait()
	out := make(map[string]string, len(checks))
	for i, c := range checks {
		out[c.Name] = results[i]
	}
	return out
}

// Health serves /healthz (the process answers), /readyz (every check
// passes; a 503 names those that do not) and /metrics on mux.
func (m *Metrics) Health(mux *http.ServeMux, checks []Check) {
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		results := Probe(r.Context(), checks)
		status, word := http.StatusOK, "ready"
		for _, res := range results {
			if res != "ok" {
				status, word = http.StatusServiceUnavailable, "unavailable"
			}
		}
		writeJSON(w, status, map[string]any{"status": word, "checks": results})
	})
	mux.Handle("GET /metrics", m.Handler())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Transport times the requests of next (http.DefaultTransport when nil)
// in hist, with attrs and the answer's status ("error" when none came),
// and traces each as a span called name.
func Transport(next http.RoundTripper, hist metric.Float64Histogram, name string, attrs ...attribute.KeyValue) http.RoundTripper {
	return TransportBy(next, hist, name, func(*http.Request) []attribute.KeyValue { return attrs })
}

// TransportBy is Transport with attributes drawn from each request (a
// bounded set: an operation, never an identifier); the span is called
// name and the first attribute's value.
func TransportBy(next http.RoundTripper, hist metric.Float64Histogram, name string, op func(*http.Request) []attribute.KeyValue) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &timed{next: next, hist: hist, name: name, op: op}
}

type timed struct {
	next http.RoundTripper
	hist metric.Float64Histogram
	name string
	op   func(*http.Request) []attribute.KeyValue
}

func (t *timed) RoundTrip(r *http.Request) (*http.Response, error) {
	attrs := slices.Clip(t.op(r))
	name := t.name + " " + r.Method
	if len(attrs) > 0 {
		name = t.name + " " + attrs[0].Value.Emit()
	}
	ctx, end := span(r.Context(), name, append(attrs, attribute.String("http.request.method", r.Method)))
	start := time.Now()
	res, err := t.next.RoundTrip(r.WithContext(ctx))
	status, code := "error", 0
	if err == nil {
		code = res.StatusCode
		status = strconv.Itoa(code)
	}
	end(code, err)
	t.hist.Record(r.Context(), Since(start), metric.WithAttributes(append(attrs, attribute.String("status", status))...))
	return res, err
}

// Timed times and traces one request made by other means than a
// RoundTripper (the AWS SDK's client): call the returned function with
// its status code (0 when no answer came) and error.
func Timed(ctx context.Context, hist metric.Float64Histogram, name string, attrs ...attribute.KeyValue) (context.Context, func(code int, err error)) {
	ctx, end := span(ctx, name, attrs)
	start := time.Now()
	return ctx, func(code int, err error) {
		end(code, err)
		status := "error"
		if err == nil {
			status = strconv.Itoa(code)
		}
		hist.Record(ctx, Since(start), metric.WithAttributes(append(slices.Clip(attrs), attribute.String("status", status))...))
	}
}

// Histogram makes a latency histogram in seconds on avo's meter.
func Histogram(name, description string) metric.Float64Histogram {
	h, err := Meter().Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(description))
	if err != nil {
		// OpenTelemetry hands back an instrument that records nothing.
		slog.Error("metric not recorded", "name", name, "err", err)
	}
	return h
}

// Counter makes a counter on avo's meter.
func Counter(name, unit, description string) metric.Int64Counter {
	c, err := Meter().Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(description))
	if err != nil {
		slog.Error("metric not recorded", "name", name, "err", err)
	}
	return c
}
