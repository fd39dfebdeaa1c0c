package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// activityTimeline says where a harvest's time went, from its histories:
// from the start to the first ProcessPage begun, from the last one ended
// to the close, and how many ProcessPage activities ran at once on average
// in between (and for how long none did).
type activityTimeline struct {
	startup, tail, idle time.Duration
	meanProcessing      float64
	fetches             int
	fetching            time.Duration
}

func (t activityTimeline) String() string {
	return fmt.Sprintf("%.1fs to the first page processed, %.1fs from the last to the end, %.2f pages' activities at once on average (%.1fs with none), %d fetches taking %.1fs",
		t.startup.Seconds(), t.tail.Seconds(), t.meanProcessing, t.idle.Seconds(), t.fetches, t.fetching.Seconds())
}

func harvestTimeline(b *testing.B, f *fixture, workflowID string) activityTimeline {
	b.Helper()
	resp, err := f.clients.Temporal.ListWorkflow(f.ctx, &workflowservice.ListWorkflowExecutionsRequest{
		Namespace: f.clients.Config.Temporal.Namespace, Query: fmt.Sprintf("WorkflowId = '%s'", workflowID), PageSize: 1000,
	})
	if err != nil {
		b.Fatal(err)
	}
	type span struct {
		kind       string
		start, end time.Time
	}
	var spans []span
	var first, last time.Time
	for _, e := range resp.GetExecutions() {
		it := f.clients.Temporal.GetWorkflowHistory(f.ctx, workflowID, e.GetExecution().GetRunId(), false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		kinds := map[int64]string{}
		open := map[int64]time.Time{}
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				b.Fatal(err)
			}
			at := ev.GetEventTime().AsTime()
			if first.IsZero() || at.Before(first) {
				first = at
			}
			if at.After(last) {
				last = at
			}
			switch ev.GetEventType() {
			case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				kinds[ev.GetEventId()] = ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName()
			case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				open[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()] = at
			case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				id := ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
				spans = append(spans, span{kinds[id], open[id], at})
			}
		}
	}
	var t activityTimeline
	var pStart, pEnd time.Time
	type edge struct {
		at time.Time
		d  int
	}
	var edges []edge
	for _, s := range spans {
		switch s.kind {
		case "FetchPages":
			t.fetches++
			t.fetching += s.end.Sub(s.start)
		case "ProcessPage":
			if pStart.IsZero() || s.start.Before(pStart) {
				pStart = s.start
			}
			if s.end.After(pEnd) {
				pEnd = s.end
			}
			edges = append(edges, edge{s.start, 1}, edge{s.end, -1})
		}
	}
	if len(edges) == 0 {
		return t
	}
	slices.SortFunc(edges, func(a, b edge) int { return a.at.Compare(b.at) })
	var busy float64
	n := 0
	for i, e := range edges {
		if i > 0 {
			d := e.at.Sub(edges[i-1].at)
			busy += float64(n) * d.Seconds()
			if n == 0 {
				t.idle += d
			}
		}
		n += e.d
	}
	t.startup, t.tail = pStart.Sub(first), last.Sub(pEnd)
	t.meanProcessing = busy / pEnd.Sub(pStart).Seconds()
	return t
}

// workerMemory reads a worker's memory figures from its heap profile
// (runtime.MemStats, in MB): where its resident set goes.
func workerMemory(addr string) string {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap?debug=1")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out []string
	for _, line := range strings.Split(string(body), "\n") {
		name, v, ok := strings.Cut(strings.TrimPrefix(line, "# "), " = ")
		if !ok || !strings.HasPrefix(line, "# ") {
			continue
		}
		switch name {
		case "Sys", "HeapAlloc", "HeapInuse", "HeapIdle", "HeapReleased", "StackInuse", "NextGC", "GCSys", "OtherSys":
			if n, err := strconv.ParseFloat(v, 64); err == nil {
				out = append(out, fmt.Sprintf("%s %.0f", name, n/(1<<20)))
			}
		}
	}
	return strings.Join(out, ", ")
}
