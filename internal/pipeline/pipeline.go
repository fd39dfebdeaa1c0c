// Package pipeline wires avo's parts together from a configuration: the
// Temporal, S3 and Elasticsearch clients, the worker that runs workflows
// and activities, and the operations the CLI offers on harvests.
package pipeline

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// Version is avo's version, set at build time with -ldflags.
var Version = "dev"

// Need says which clients a command needs, so `avo search` does not need
// Temporal and `avo harvest status` does not need Elasticsearch.
type Need struct {
	Temporal, S3, Elasticsearch bool
}

// Clients are connections to the three systems avo works with.
type Clients struct {
	Config   config.Config
	Logger   *slog.Logger
	Temporal client.Client
	Store    *s3store.Store
	Indices  esindex.Indices
}

// Connect opens the clients in need.
func Connect(ctx context.Context, cfg config.Config, logger *slog.Logger, need Need) (*Clients, error) {
	c := &Clients{Config: cfg, Logger: logger}
	if need.Temporal {
		tc, err := DialTemporal(ctx, cfg.Temporal, logger)
		if err != nil {
			return nil, err
		}
		c.Temporal = tc
	}
	if need.S3 {
		st, err := s3store.New(ctx, cfg.S3)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Store = st
	}
	if need.Elasticsearch {
		es, err := esindex.NewClient(cfg.Elasticsearch)
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Indices = esindex.Indices{ES: es, Prefix: cfg.Elasticsearch.IndexPrefix}
	}
	return c, nil
}

// Close closes the Temporal connection.
func (c *Clients) Close() {
	if c.Temporal != nil {
		c.Temporal.Close()
	}
}

// DialTemporal connects to a Temporal frontend, with mTLS or an API key
// when configured (self-hosted clusters and Temporal Cloud).
func DialTemporal(ctx context.Context, t config.Temporal, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
		Identity:  "avo@" + hostname(),
	}
	if t.TLS.Enabled || t.TLS.CertFile != "" || t.TLS.CAFile != "" || t.APIKey != "" {
		tc, err := tlsConfig(t.TLS)
		if err != nil {
			return nil, err
		}
		opts.ConnectionOptions.TLS = tc
	}
	if t.APIKey != "" {
		opts.Credentials = client.NewAPIKeyStaticCredentials(t.APIKey)
	}
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to Temporal at %s (namespace %s): %w", t.Address, t.Namespace, err)
	}
	return c, nil
}

func tlsConfig(t config.TLS) (*tls.Config, error) {
	tc := &tls.Config{ServerName: t.ServerName, MinVersion: tls.VersionTLS12}
	if t.CertFile != "" || t.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("temporal client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal CA %s: no certificate found", t.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// SearchAttributes are the custom search attributes avo's workflows set.
var SearchAttributes = map[string]enumspb.IndexedValueType{
	workflows.SourceAttribute.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	workflows.SetAttribute.GetName():    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// Setup prepares the systems in c for avo, idempotently: the Temporal
// search attributes and the publish-window schedule, the S3 bucket and
// the Elasticsearch indices.
func (c *Clients) Setup(ctx context.Context) error {
	var errs []error
	if c.Temporal != nil {
		if err := c.registerSearchAttributes(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := c.ensureWindowsSchedule(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Store != nil {
		if err := c.Store.EnsureBucket(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.Indices.ES != nil {
		if err := c.Indices.Setup(ctx, esindex.Kinds...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (c *Clients) registerSearchAttributes(ctx context.Context) error {
	ns := c.Config.Temporal.Namespace
	have, err := c.Temporal.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		return fmt.Errorf("list Temporal search attributes of %s: %w", ns, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range SearchAttributes {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	_, err = c.Temporal.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: ns, SearchAttributes: missing,
	})
	if err != nil {
		names := make([]string, 0, len(missing))
		for n := range missing {
			names = append(names, n)
		}
		return fmt.Errorf("register Temporal search attributes %s (Keyword) in %s: %w; where this is not allowed (Temporal Cloud), create them with the cluster's admin tools",
			strings.Join(names, ", "), ns, err)
	}
	return nil
}

// NewActivities builds the activity structs on c's clients.
func (c *Clients) NewActivities() *activities.Harvest {
	return &activities.Harvest{
		Store: c.Store, Index: c.Indices, S3: c.Config.S3,
		UserAgent: "avo/" + Version + " (Archive for Education harvester)",
		Logger:    c.Logger,
	}
}

// NewWorker returns a worker for avo's task queue with every workflow and
// activity registered; the caller starts and stops it.
func (c *Clients) NewWorker(opts worker.Options) worker.Worker {
	w := worker.New(c.Temporal, c.Config.Temporal.TaskQueue, opts)
	w.RegisterWorkflow(workflows.Harvest)
	w.RegisterWorkflow(workflows.HarvestSource)
	w.RegisterWorkflow(workflows.Rebuild)
	w.RegisterWorkflow(workflows.Windows)
	w.RegisterActivity(c.NewActivities())
	w.RegisterActivity(&activities.Indexing{Store: c.Store, Index: c.Indices, Logger: c.Logger})
	return w
}
