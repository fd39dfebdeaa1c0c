package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"gopkg.in/yaml.v3"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
)

// avoBinary builds the avo command once, so that the benchmarks measure a
// worker as it is deployed (the test binary also carries a Temporal server).
var avoBinary = sync.OnceValues(func() (string, error) {
	root, err := devstack.ModuleRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "avo-bench-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "avo")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/avo")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/avo: %v\n%s", err, out)
	}
	return bin, nil
})

// startAvoWorker runs `avo worker` on cfg in a process of its own.
func startAvoWorker(b testing.TB, cfg config.Config) *exec.Cmd {
	b.Helper()
	bin, err := avoBinary()
	if err != nil {
		b.Fatal(err)
	}
	cfg.Log.Level = "error"
	// The fixture leaves zero for "the default"; the file must say it.
	def := config.Default()
	if cfg.S3.Connections == 0 {
		cfg.S3.Connections = def.S3.Connections
	}
	if cfg.Harvest.Writers == 0 {
		cfg.Harvest.Writers = def.Harvest.Writers
	}
	if cfg.Worker.Listen == "" {
		cfg.Worker.Listen = freeAddr(b) // its metrics and profiles, to look at under load
	}
	y, err := yaml.Marshal(cfg)
	if err != nil {
		b.Fatal(err)
	}
	file := filepath.Join(b.TempDir(), "avo.yaml")
	if err := os.WriteFile(file, y, 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin, "worker", "--config", file)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Logf("worker %d: profiles at http://%s/debug/pprof/", cmd.Process.Pid, cfg.Worker.Listen)
	b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

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
		// Counted from the history itself: the listing's length can lag
		// behind a run that just closed.
		it := f.clients.Temporal.GetWorkflowHistory(f.ctx, workflowID, e.GetExecution().GetRunId(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		n := 0
		for it.HasNext() {
			if _, err := it.Next(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		maxEvents = max(maxEvents, n)
	}
	return runs, maxEvents
}
