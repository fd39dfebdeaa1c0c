package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/workflowservice/v1"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// benchRecords is how many records BenchmarkHarvest harvests
// (AVO_BENCH_RECORDS, default 100,000).
func benchRecords() int {
	if n, err := strconv.Atoi(os.Getenv("AVO_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// rssKB reads a process's resident set (VmRSS) and its peak (VmHWM).
func rssKB(pid int) (rss, peak int) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.Atoi(f[1])
		case "VmHWM:":
			peak, _ = strconv.Atoi(f[1])
		}
	}
	return rss, peak
}

// BenchmarkHarvest harvests benchRecords() records from a fast local
// provider (100 records a page) through Temporal into S3 and Elasticsearch,
// with the worker in a process of its own, and reports records/s end to
// end, the worker's peak RSS at 10,000 records and at the end, and the
// largest history of a workflow run. Run it with -benchtime 1x.
func BenchmarkHarvest(b *testing.B) {
	n := benchRecords()
	for range b.N {
		b.StopTimer()
		f := newFixtureWorker(b, false)
		recs := make([]oaipmh.Record, n)
		for i := range recs {
			recs[i] = oaitest.Record(i+1, "2026-01-01T00:00:00Z")
		}
		p := oaitest.New(b, recs, oaitest.Faults{PageSize: 100})
		worker := startHelperWorker(b, f.clients.Config)
		src := oaiSource("bench", p)
		b.StartTimer()
		start := time.Now()
		run, err := f.clients.StartHarvest(f.ctx, src, workflows.HarvestOptions{})
		if err != nil {
			b.Fatal(err)
		}
		peak10k := 0
		done := make(chan error, 1)
		go func() { _, err := run.Result(f.ctx); done <- err }()
	wait:
		for {
			select {
			case err := <-done:
				if err != nil {
					b.Fatal(err)
				}
				break wait
			case <-time.After(200 * time.Millisecond):
				if peak10k == 0 {
					if st, err := f.clients.HarvestStatus(f.ctx, "bench", ""); err == nil && st.Progress != nil && st.Progress.Counts.Records >= 10_000 {
						_, peak10k = rssKB(worker.Process.Pid)
					}
				}
			}
		}
		elapsed := time.Since(start)
		b.StopTimer()
		_, peakEnd := rssKB(worker.Process.Pid)
		st, err := f.clients.HarvestStatus(f.ctx, "bench", "")
		if err != nil || st.Report == nil || st.Report.Counts.Indexed != n {
			b.Fatalf("harvest did not index all %d records: %+v %v", n, st, err)
		}
		if c := f.count(b); c != n {
			b.Fatalf("%d documents in the index, want %d", c, n)
		}
		runs, maxEvents := historySizes(b, f, workflows.HarvestWorkflowID("bench", ""))
		b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(peak10k)/1024, "worker-peak-MB@10k")
		b.ReportMetric(float64(peakEnd)/1024, "worker-peak-MB@end")
		b.ReportMetric(float64(maxEvents), "max-history-events/run")
		b.ReportMetric(float64(runs), "runs")
		b.Logf("%d records in %s: %.0f records/s; worker peak RSS %.0f MB at 10k records, %.0f MB at %d; %d runs, at most %d history events each",
			n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), float64(peak10k)/1024, float64(peakEnd)/1024, n, runs, maxEvents)
	}
}

// historySizes counts the runs of a workflow (continue-as-new makes a
// chain of them) and the largest history among them.
func historySizes(b *testing.B, f *fixture, workflowID string) (runs, maxEvents int) {
	resp, err := f.clients.Temporal.ListWorkflow(f.ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: f.clients.Config.Temporal.Namespace, Query: fmt.Sprintf("WorkflowId = '%s'", workflowID), PageSize: 1000,
	})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range resp.GetExecutions() {
		runs++
		if l := int(e.GetHistoryLength()); l > maxEvents {
			maxEvents = l
		}
	}
	return runs, maxEvents
}
