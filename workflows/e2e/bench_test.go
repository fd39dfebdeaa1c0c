package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.temporal.io/api/workflowservice/v1"
)

// benchSizes are the harvests BenchmarkHarvest runs, in records
// (AVO_BENCH_RECORDS, a comma-separated list; default 50,000 and 200,000).
func benchSizes() []int {
	var out []int
	for _, f := range strings.Split(os.Getenv("AVO_BENCH_RECORDS"), ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		out = []int{50_000, 200_000}
	}
	return out
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
