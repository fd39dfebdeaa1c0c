package main

import (
	"fmt"

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
reach Temporal, S3, Elasticsearch and the providers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			return a.with(ctx, allClients, func(c *clients) error {
				if err := c.ready(ctx); err != nil {
					return fmt.Errorf("the worker does not start: %w", err)
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
