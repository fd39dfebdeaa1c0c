package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/republish"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/archiefvooronderwijs/avo/mappings"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// version is avo's version, set at build time with -ldflags.
var version = "dev"

// userAgent is how avo names itself to providers.
func userAgent() string { return "avo/" + version + " (Archive for Education harvester)" }

// need says which systems a command needs, so `avo search` does not need
// Temporal and `avo harvest status` does not need Elasticsearch.
type need struct {
	temporal, s3, elasticsearch bool
}

// allClients is what the worker and setup need.
var allClients = need{temporal: true, s3: true, elasticsearch: true}

// clients are the connections a command works with; the workflows'
// client (nil without Temporal) brings the harvest, rebuild and schedule
// operations.
type clients struct {
	*workflows.Client
	cfg     config.Config
	log     *slog.Logger
	Store   *s3store.Store
	Indices esindex.Indices
}

// connect opens the connections in n.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger, n need) (*clients, error) {
	c := &clients{cfg: cfg, log: log}
	if n.s3 {
		st, err := s3store.New(ctx, cfg.S3)
		if err != nil {
			return nil, err
		}
		c.Store = st
	}
	if n.elasticsearch {
		es, err := esindex.NewClient(cfg.Elasticsearch)
		if err != nil {
			return nil, err
		}
		c.Indices = esindex.Indices{ES: es, Prefix: cfg.Elasticsearch.IndexPrefix}
	}
	if n.temporal {
		tc, err := workflows.Dial(ctx, cfg.Temporal, log)
		if err != nil {
			return nil, err
		}
		c.Client = workflows.NewClient(tc, cfg)
		if c.Store != nil {
			c.Reports = func(ctx context.Context, source, set string) (*bucket.Report, error) {
				return bucket.LatestReport(ctx, c.Store, source, set)
			}
		}
	}
	return c, nil
}

// Close closes the Temporal connection.
func (c *clients) Close() {
	if c.Client != nil {
		c.Client.Close()
	}
}

// with connects what a command needs, runs it, and closes the connections.
func (a *app) with(ctx context.Context, n need, f func(c *clients) error) error {
	c, err := connect(ctx, a.cfg, a.log, n)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

// setup prepares every system for avo, idempotently: Temporal's search
// attributes and schedules, the S3 bucket, the Elasticsearch indices.
func (c *clients) setup(ctx context.Context) error {
	if c.Client != nil {
		if err := c.Client.Setup(ctx); err != nil {
			return err
		}
	}
	if c.Store != nil {
		if err := c.Store.EnsureBucket(ctx); err != nil {
			return err
		}
	}
	if c.Indices.ES != nil {
		return c.Indices.Setup(ctx, esindex.Kinds...)
	}
	return nil
}

// ready fails, naming what is missing, when avo's own bucket, indices or
// namespace are not there: a worker that started anyway would fail every
// page instead.
// checks are what /readyz asks of the clients a process holds.
func (c *clients) checks() []telemetry.Check {
	var out []telemetry.Check
	if c.Client != nil {
		out = append(out, telemetry.Check{Name: "temporal " + c.cfg.Temporal.Address, Probe: c.CheckNamespace})
	}
	if c.Store != nil {
		out = append(out, telemetry.Check{Name: "s3 " + c.Store.Bucket, Probe: func(ctx context.Context) error {
			ok, err := c.Store.BucketExists(ctx)
			if err == nil && !ok {
				err = fmt.Errorf("bucket %s does not exist", c.Store.Bucket)
			}
			return err
		}})
	}
	if c.Indices.ES != nil {
		out = append(out, telemetry.Check{Name: "elasticsearch", Probe: func(ctx context.Context) error {
			missing, err := c.Indices.Missing(ctx, esindex.Kinds...)
			if err == nil && len(missing) > 0 {
				err = fmt.Errorf("no alias %s", strings.Join(missing, ", "))
			}
			return err
		}})
	}
	return out
}

func (c *clients) ready(ctx context.Context) error {
	var missing []string
	if c.Client != nil {
		if err := c.CheckNamespace(ctx); err != nil {
			return err
		}
	}
	if c.Store != nil {
		ok, err := c.Store.BucketExists(ctx)
		if err != nil {
			return err
		}
		if !ok {
			missing = append(missing, "S3 bucket "+c.Store.Bucket)
		}
	}
	if c.Indices.ES != nil {
		aliases, err := c.Indices.Missing(ctx, esindex.Kinds...)
		if err != nil {
			return err
		}
		for _, a := range aliases {
			missing = append(missing, "Elasticsearch alias "+a)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s missing; run avo setup", strings.Join(missing, ", "))
	}
	return nil
}

// newWorker returns a worker with every workflow and activity registered.
func (c *clients) newWorker(opts worker.Options) worker.Worker {
	h := &activities.Harvest{Store: c.Store, Index: c.Indices, S3: c.cfg.S3, UserAgent: userAgent(), SourcesFile: c.cfg.Sources, Logger: c.log, Writers: c.cfg.Harvest.Writers,
		Temporal: c.Temporal, TaskQueue: c.TaskQueue}
	x := &activities.Indexing{Store: c.Store, Index: c.Indices, Logger: c.log}
	return workflows.NewWorker(c.Temporal, c.TaskQueue, opts, h, x)
}

// desk records editors' decisions; teachers' pieces holding an item
// follow a decision about it.
func (c *clients) desk() *editorial.Desk {
	return &editorial.Desk{Store: c.Store, Indices: c.Indices, Changed: func(ctx context.Context, ids []string) error {
		_, err := c.content().Refresh(ctx, ids)
		return err
	}}
}

// oaiProvider is the OAI-PMH provider over the education index, at
// base/oai: tokens good for a day, lists bounded at their first request.
func (c *clients) oaiProvider(base string) *oaipmh.Provider {
	repo := &republish.Repository{Indices: c.Indices, BaseURL: base + "/oai", Namespace: republish.DefaultNamespace,
		Landing: func(id string) string { return base + "/items/" + url.PathEscape(id) }}
	return &oaipmh.Provider{Repo: repo, PageSize: 100, TokenTTL: 24 * time.Hour, Snapshot: true}
}

// browseCopies presigns browse copies in partners' buckets, with the S3
// settings of the sources file.
func (c *clients) browseCopies() *sources.Copies {
	return &sources.Copies{S3: c.cfg.S3, Load: func() (*sources.File, error) { return sources.Load(c.cfg.Sources, mappings.Known) }}
}

// content returns the desk of teachers' collections, bundles and assignments.
func (c *clients) content() *content.Desk {
	return content.NewDesk(c.Store, c.Indices)
}

// sets returns the curated sets' desk; their publications are told of
// changes through Temporal (an error says so when it cannot be reached).
func (c *clients) sets() *curation.Desk {
	d := curation.NewDesk(c.Store, c.Indices)
	d.Notify = func(ctx context.Context, id string) error {
		if c.Client == nil {
			return errors.New("Temporal cannot be reached: the publication starts with the set's next change")
		}
		return c.Client.NotifySet(ctx, id)
	}
	return d
}

// itemHistory is the change log of the decisions about an item.
func (c *clients) itemHistory(ctx context.Context, id string) ([]audit.Entry, error) {
	return editorial.History(ctx, c.Store, id)
}

// validate checks that a source can be harvested.
func (c *clients) validate(ctx context.Context, src sources.Source) sources.Check {
	return sources.Validate(ctx, src, c.cfg.S3, userAgent())
}

// indexState is one kind of index as `avo index status` shows it.
type indexState struct {
	Kind    string                  `json:"kind"`
	Alias   string                  `json:"alias"`
	Current string                  `json:"current,omitempty"`
	Docs    int                     `json:"docs"`
	Indices []esindex.PhysicalIndex `json:"indices"`
	Rebuild *workflows.RebuildState `json:"rebuild,omitempty"`
}

// indexStatus describes every kind of index: its alias, physical indices
// with their counts, and its newest rebuild when Temporal is at hand.
func (c *clients) indexStatus(ctx context.Context) ([]indexState, error) {
	var out []indexState
	for _, kind := range esindex.Kinds {
		phys, err := c.Indices.Physical(ctx, kind)
		if err != nil {
			return nil, err
		}
		st := indexState{Kind: kind, Alias: c.Indices.Alias(kind), Indices: phys}
		for _, p := range phys {
			if p.Current {
				st.Current, st.Docs = p.Name, p.Docs
			}
		}
		if c.Client != nil {
			st.Rebuild = c.RebuildStatus(ctx, kind)
		}
		out = append(out, st)
	}
	return out, nil
}

// loadSources reads the sources file, its mappings checked.
func (a *app) loadSources() (*sources.File, error) {
	f, err := sources.Load(a.cfg.Sources, mappings.Known)
	if err != nil {
		return nil, usageError{err}
	}
	return f, nil
}
