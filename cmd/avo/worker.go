package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/worker"
)

func newWorkerCmd(a *app) *cobra.Command {
	var activities int
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run a worker: it executes harvest workflows and activities until interrupted",
		Long: `Run a worker on the configured task queue. Workers hold the S3 and
Elasticsearch clients; run as many as the load needs, on any machines that
reach Temporal, S3, Elasticsearch and the providers.

On worker.listen (default 127.0.0.1:9464; empty serves none) it serves
/metrics (Prometheus: records per source and outcome, quarantines per kind,
provider, S3 and Elasticsearch latency, the Temporal SDK's workflow and
activity metrics), /healthz (alive) and /readyz (Temporal, S3 and
Elasticsearch reachable, each named when not).

Traces go by OTLP (gRPC) when OTEL_EXPORTER_OTLP_ENDPOINT (or
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set: workflows and activities
(Temporal's tracing interceptor), and within them every provider, S3 and
Elasticsearch request.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			stopTracing, err := telemetry.StartTracing(ctx, "avo-worker")
			if err != nil {
				return err
			}
			defer func() { _ = stopTracing(context.WithoutCancel(ctx)) }()
			return a.with(ctx, allClients, func(c *clients) error {
				if err := c.ready(ctx); err != nil {
					return fmt.Errorf("the worker does not start: %w", err)
				}
				if err := a.serveWorkerHealth(ctx, c); err != nil {
					return err
				}
				w := c.newWorker(worker.Options{MaxConcurrentActivityExecutionSize: activities})
				a.log.Info("worker started", "task_queue", a.cfg.Temporal.TaskQueue, "namespace", a.cfg.Temporal.Namespace)
				stop := make(chan any)
				go func() { <-ctx.Done(); close(stop) }()
				return w.Run(stop)
			})
		},
	}
	cmd.Flags().IntVar(&activities, "activities", 4, "activities (pages) this worker runs at once")
	return cmd
}

// serveWorkerHealth serves the worker's /metrics, /healthz, /readyz and
// /debug/pprof/ on worker.listen until ctx ends.
func (a *app) serveWorkerHealth(ctx context.Context, c *clients) error {
	if a.cfg.Worker.Listen == "" {
		return nil
	}
	m, err := telemetry.Start()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", a.cfg.Worker.Listen)
	if err != nil {
		return fmt.Errorf("worker.listen %s (metrics and health; empty serves none): %w", a.cfg.Worker.Listen, err)
	}
	mux := http.NewServeMux()
	m.Health(mux, c.checks())
	// Profiles of a busy worker, on the same private port as its metrics.
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	a.log.Info("worker metrics and health", "url", "http://"+ln.Addr().String()+"/metrics")
	return nil
}
