package activities

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/archiefvooronderwijs/avo/internal/telemetry"
)

// The pipeline's own metrics, per source (a bounded set: the sources
// file's ids, never a record's). A page is counted when it is done, so
// the totals of a run equal its report.
var (
	recordsMetric = telemetry.Counter("avo.harvest.records", "{record}",
		"Records of harvests, by source and outcome: received, indexed, visible (education index), unchanged, deleted, swept, quarantined, superseded")
	quarantineMetric = telemetry.Counter("avo.harvest.quarantined", "{record}",
		"Records quarantined, by source and kind of problem (the rule or failure)")
	pagesMetric = telemetry.Counter("avo.harvest.pages", "{page}", "Pages harvested, by source")
	// providerLatency times requests to OAI-PMH providers.
	providerLatency = telemetry.Histogram("avo.provider.request.duration",
		"Latency of requests to OAI-PMH providers, by source and HTTP status")
)

// recordPage counts a page that is done.
func recordPage(ctx context.Context, source string, res PageResult) {
	src := attribute.String("source", source)
	pagesMetric.Add(ctx, 1, metric.WithAttributes(src))
	c := res.Counts
	for outcome, n := range map[string]int{
		"received": c.Records, "indexed": c.Indexed, "visible": c.Visible, "unchanged": c.Unchanged,
		"deleted": c.Deleted, "quarantined": c.Quarantined, "superseded": c.Superseded,
	} {
		if n > 0 {
			recordsMetric.Add(ctx, int64(n), metric.WithAttributes(src, attribute.String("outcome", outcome)))
		}
	}
	for kind, s := range res.Quarantine {
		quarantineMetric.Add(ctx, int64(s.Count), metric.WithAttributes(src, attribute.String("kind", kind)))
	}
}

// recordSwept counts records a complete run deleted because the source no
// longer has them.
func recordSwept(ctx context.Context, source string, n int) {
	if n > 0 {
		recordsMetric.Add(ctx, int64(n), metric.WithAttributes(attribute.String("source", source), attribute.String("outcome", "swept")))
	}
}
