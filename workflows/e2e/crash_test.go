package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/workflows"
)

const helperWorkerEnv = "AVO_TEST_HELPER_WORKER"

// helperWorker is a worker in a process of its own, which a test can kill.
func helperWorker() int {
	var cfg config.Config
	if err := json.Unmarshal([]byte(os.Getenv(helperWorkerEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	c, err := connect(context.Background(), cfg, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := c.NewWorker(sdkworker.Options{}, nil).Run(make(chan any)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func startHelperWorker(t testing.TB, cfg config.Config) *exec.Cmd {
	t.Helper()
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperWorkerEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// state is what a harvest leaves in the index and in S3, without what
// differs between runs (harvest ids, times).
func (f *fixture) state(t testing.TB, source string) (docs []string, records []string) {
	t.Helper()
	if err := f.clients.Indices.Refresh(f.ctx, esindex.Catalog); err != nil {
		t.Fatal(err)
	}
	res, err := f.clients.Indices.ES.Search(
		f.clients.Indices.ES.Search.WithContext(f.ctx), f.clients.Indices.ES.Search.WithIndex(f.clients.Indices.Alias(esindex.Catalog)),
		f.clients.Indices.ES.Search.WithSize(10000))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				ID     string      `json:"_id"`
				Source esindex.Doc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, h := range out.Hits.Hits {
		docs = append(docs, h.ID+" "+h.Source.Title+" "+h.Source.Provenance.Identifier)
	}
	slices.Sort(docs)
	return docs, f.keys(t, "records/"+source+"/")
}

// A worker killed in the middle of a harvest loses nothing: another worker
// takes over, and the index and S3 end as after an uninterrupted run.
func TestKilledWorkerLosesNothing(t *testing.T) {
	recs := oaitest.Records(300)
	slow := make([]int, 0, 40)
	for i := 1; i <= 40; i++ {
		slow = append(slow, i)
	}
	opts := workflows.HarvestOptions{Timeouts: workflows.Timeouts{RetryBase: 50 * time.Millisecond, Heartbeat: 2 * time.Second, Page: time.Minute}}

	// The uninterrupted run.
	ref := newFixture(t)
	p1 := oaitest.New(t, oaitest.Records(300), oaitest.Faults{PageSize: 10})
	ref.harvest(t, oaiSource("crash", p1), opts)
	wantDocs, wantRecords := ref.state(t, "crash")
	if len(wantDocs) != 300 || len(wantRecords) != 300 {
		t.Fatalf("uninterrupted run: %d documents, %d records", len(wantDocs), len(wantRecords))
	}

	// The interrupted one: a worker process, killed at page 10.
	f := newFixtureWorker(t, false)
	p2 := oaitest.New(t, recs, oaitest.Faults{PageSize: 10, Slow: slow, SlowDelay: 100 * time.Millisecond})
	first := startHelperWorker(t, f.clients.Config)
	run, err := f.clients.StartHarvest(f.ctx, oaiSource("crash", p2), opts)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := f.clients.HarvestStatus(f.ctx, "crash", "")
		if err == nil && st.Progress != nil && st.Progress.Page >= 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the harvest did not reach page 10: %+v %v", st, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	t.Logf("worker killed after %d list requests", p2.Lists())
	startHelperWorker(t, f.clients.Config)
	res, err := run.Result(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	docs, records := f.state(t, "crash")
	if !slices.Equal(docs, wantDocs) {
		t.Errorf("index differs from the uninterrupted run's: %d documents, want %d", len(docs), len(wantDocs))
	}
	if !slices.Equal(records, wantRecords) {
		t.Errorf("S3 records differ from the uninterrupted run's: %d, want %d", len(records), len(wantRecords))
	}
	if res.Counts.Pages < 30 || res.Counts.Indexed < 300 {
		t.Errorf("counts %+v", res.Counts)
	}
}
