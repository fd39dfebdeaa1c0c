package e2e

import (
	"context"
	"encoding/hex"
	"net"
	"strings"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// collector is an OTLP trace receiver: what an exporter sends it, it keeps.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
}

func (c *collector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// TestTracesReachTheCollector: with an OTLP endpoint configured, a
// harvest's workflow and activities are traced, and within an activity
// its provider, S3 and Elasticsearch requests are spans of its trace.
func TestTracesReachTheCollector(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &collector{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, col)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	stop, err := telemetry.StartTracing(context.Background(), "avo-test")
	if err != nil {
		t.Fatal(err)
	}

	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	col.mu.Lock()
	defer col.mu.Unlock()
	activityTraces := map[string]bool{}
	names := map[string]int{}
	for _, s := range col.spans {
		names[s.GetName()]++
		if strings.HasPrefix(s.GetName(), "RunActivity:") {
			activityTraces[hex.EncodeToString(s.GetTraceId())] = true
		}
	}
	if len(activityTraces) == 0 || names["RunWorkflow:Harvest"] == 0 {
		t.Fatalf("no workflow or activity traced: %v", names)
	}
	// Bulk requests go from the bulk indexer's own workers: traced, but as
	// spans of their own.
	if names["elasticsearch _bulk"] == 0 {
		t.Errorf("no bulk request traced: %v", names)
	}
	for _, want := range []string{"oai-pmh ListRecords", "s3 PUT", "elasticsearch _mget"} {
		within := 0
		for _, s := range col.spans {
			if s.GetName() == want && len(s.GetParentSpanId()) > 0 && activityTraces[hex.EncodeToString(s.GetTraceId())] {
				within++
			}
		}
		if within == 0 {
			t.Errorf("no %q span within an activity's trace (%d such spans in all): %v", want, names[want], names)
		}
	}
}
