package workflows

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
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
)

// Client starts, follows and cancels avo's workflows, and keeps their
// schedules: the one way the CLI and the APIs reach Temporal.
type Client struct {
	Temporal  client.Client
	Namespace string
	TaskQueue string
	// IndexPrefix and KeepIndices name the indices a rebuild fills and
	// how many previous ones stay for rollback.
	IndexPrefix string
	KeepIndices int
	// Reports reads the report of a source and set's newest finished
	// harvest (nil: statuses carry no report).
	Reports func(ctx context.Context, source, set string) (*bucket.Report, error)
}

// NewClient returns a client on a Temporal connection, configured by cfg.
func NewClient(tc client.Client, cfg config.Config) *Client {
	return &Client{
		Temporal: tc, Namespace: cfg.Temporal.Namespace, TaskQueue: cfg.Temporal.TaskQueue,
		IndexPrefix: cfg.Elasticsearch.IndexPrefix, KeepIndices: cfg.Elasticsearch.KeepIndices,
	}
}

// Close closes the Temporal connection.
func (c *Client) Close() { c.Temporal.Close() }

func (c *Client) alias(kind string) string { return esindex.Indices{Prefix: c.IndexPrefix}.Alias(kind) }

// Dial connects to a Temporal frontend, with mTLS or an API key
// when configured (self-hosted clusters and Temporal Cloud).
func Dial(ctx context.Context, t config.Temporal, logger *slog.Logger) (client.Client, error) {
	opts := client.Options{
		HostPort:  t.Address,
		Namespace: t.Namespace,
		Logger:    sdklog.NewStructuredLogger(logger),
		Identity:  "avo@" + hostname(),
		// The SDK's metrics join avo's on /metrics of processes that serve them.
		MetricsHandler: telemetry.Temporal(),
	}
	if telemetry.TracingEnabled() {
		tr, err := telemetry.TemporalTracing()
		if err != nil {
			return nil, err
		}
		opts.Interceptors = append(opts.Interceptors, tr)
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
	SourceAttribute.GetName():  enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	SetAttribute.GetName():     enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	OutcomeAttribute.GetName(): enumspb.INDEXED_VALUE_TYPE_KEYWORD,
}

// Setup prepares Temporal for avo, idempotently: the search attributes
// and the publish-window schedule.
func (c *Client) Setup(ctx context.Context) error {
	return errors.Join(c.registerSearchAttributes(ctx), c.ensureWindowsSchedule(ctx))
}

func (c *Client) registerSearchAttributes(ctx context.Context) error {
	ns := c.Namespace
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

// NewWorker returns a worker for avo's task queue with every workflow and
// the activities registered; the caller starts and stops it.
func NewWorker(tc client.Client, taskQueue string, opts worker.Options, h *activities.Harvest, x *activities.Indexing) worker.Worker {
	w := worker.New(tc, taskQueue, opts)
	w.RegisterWorkflow(Harvest)
	w.RegisterWorkflow(HarvestSource)
	w.RegisterWorkflow(Rebuild)
	w.RegisterWorkflow(Windows)
	w.RegisterWorkflow(Remap)
	w.RegisterWorkflow(ProviderLock)
	w.RegisterWorkflow(Rollback)
	w.RegisterWorkflow(Publication)
	w.RegisterActivity(h)
	w.RegisterActivity(x)
	return w
}

// CheckNamespace fails, naming it, when the namespace does not exist.
func (c *Client) CheckNamespace(ctx context.Context) error {
	_, err := c.Temporal.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: c.Namespace})
	var nf *serviceerror.NamespaceNotFound
	if errors.As(err, &nf) {
		return fmt.Errorf("Temporal namespace %s does not exist: create it (temporal operator namespace create %s)", c.Namespace, c.Namespace)
	}
	if err != nil {
		return fmt.Errorf("Temporal namespace %s: %w", c.Namespace, err)
	}
	return nil
}
