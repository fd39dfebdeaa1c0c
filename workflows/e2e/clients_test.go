// Package e2e runs avo's workflows end to end on real servers: an
// in-process Temporal server, the test Elasticsearch node and versitygw,
// with workers in this process or in processes of their own.
package e2e

import (
	"context"
	"errors"
	"log/slog"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// clients are the tests' connections to the three servers, as the CLI
// makes them.
type clients struct {
	*workflows.Client
	Config  config.Config
	Logger  *slog.Logger
	Store   *s3store.Store
	Indices esindex.Indices
}

func connect(ctx context.Context, cfg config.Config, log *slog.Logger) (*clients, error) {
	st, err := s3store.New(ctx, cfg.S3)
	if err != nil {
		return nil, err
	}
	es, err := esindex.NewClient(cfg.Elasticsearch)
	if err != nil {
		return nil, err
	}
	tc, err := workflows.Dial(ctx, cfg.Temporal, log)
	if err != nil {
		return nil, err
	}
	c := &clients{Client: workflows.NewClient(tc, cfg), Config: cfg, Logger: log, Store: st,
		Indices: esindex.Indices{ES: es, Prefix: cfg.Elasticsearch.IndexPrefix}}
	c.Reports = func(ctx context.Context, source, set string) (*bucket.Report, error) {
		return bucket.LatestReport(ctx, st, source, set)
	}
	return c, nil
}

func (c *clients) setup(ctx context.Context) error {
	return errors.Join(c.Client.Setup(ctx), c.Store.EnsureBucket(ctx), c.Indices.Setup(ctx, esindex.Kinds...))
}

// NewWorker returns a worker on the clients; adjust, when set, changes the
// harvest activities (test hooks).
func (c *clients) NewWorker(opts sdkworker.Options, adjust func(*activities.Harvest)) sdkworker.Worker {
	h := &activities.Harvest{Store: c.Store, Index: c.Indices, S3: c.Config.S3, UserAgent: "avo-test", Logger: c.Logger, Writers: c.Config.Harvest.Writers,
		Temporal: c.Temporal, TaskQueue: c.TaskQueue}
	if adjust != nil {
		adjust(h)
	}
	return workflows.NewWorker(c.Temporal, c.TaskQueue, opts, h, &activities.Indexing{Store: c.Store, Index: c.Indices, Logger: c.Logger})
}

func (c *clients) Decide(ctx context.Context, id string, d editorial.Decision) (*editorial.ItemState, error) {
	return (&editorial.Desk{Store: c.Store, Indices: c.Indices}).Decide(ctx, id, d)
}

func (c *clients) ValidateSource(ctx context.Context, src sources.Source) sources.Check {
	return sources.Validate(ctx, src, c.Config.S3, "avo-test")
}
