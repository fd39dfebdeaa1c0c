package e2e

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// benchKeys is how many keys BenchmarkS3Manifest seeds at most
// (AVO_BENCH_KEYS, default 1,000,000).
func benchKeys() int {
	if n, err := strconv.Atoi(os.Getenv("AVO_BENCH_KEYS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// essenceExts name the four essence objects beside each sidecar.
var essenceExts = []string{".mp4", ".mxf", ".jpg", ".wav"}

// seedArchive puts items from..to-1 into the bucket: a sidecar and four
// essence objects each (1 key in 5 is metadata), 64 requests at a time.
func seedArchive(b *testing.B, f *fixture, tmpl []byte, from, to int) {
	b.Helper()
	var wg sync.WaitGroup
	ch := make(chan int)
	var failed error
	var once sync.Once
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range ch {
				pid := fmt.Sprintf("bench%07d", i)
				dir := fmt.Sprintf("archive/%03d/%s/", i%1000, pid)
				err := f.partner.Put(f.ctx, dir+pid+".xml", bytes.ReplaceAll(tmpl, []byte("dm22karre01"), []byte(pid)), "application/xml")
				for _, ext := range essenceExts {
					if err == nil {
						err = f.partner.Put(f.ctx, dir+pid+ext, []byte("essence"), "application/octet-stream")
					}
				}
				if err != nil {
					once.Do(func() { failed = err })
				}
			}
		}()
	}
	for i := from; i < to; i++ {
		ch <- i
	}
	close(ch)
	wg.Wait()
	if failed != nil {
		b.Fatal(failed)
	}
}

// bareList lists every key under prefix with ListObjectsV2, 1,000 a
// request, and returns keys/s.
func bareList(b *testing.B, f *fixture, st *s3store.Store, prefix string) (int, float64) {
	b.Helper()
	start := time.Now()
	n, token := 0, ""
	for {
		objs, next, err := st.ListPage(f.ctx, prefix, token, 1000)
		if err != nil {
			b.Fatal(err)
		}
		n += len(objs)
		if next == "" {
			break
		}
		token = next
	}
	return n, float64(n) / time.Since(start).Seconds()
}

// bareGets reads keys with concurrency requests at once and returns
// objects/s.
func bareGets(b *testing.B, f *fixture, st *s3store.Store, keys []string, concurrency int) float64 {
	b.Helper()
	start := time.Now()
	var wg sync.WaitGroup
	ch := make(chan string)
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				if _, err := st.Get(f.ctx, k, 0); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	return float64(len(keys)) / time.Since(start).Seconds()
}

// BenchmarkS3Manifest measures harvesting a partner bucket by manifest,
// each figure beside the bare S3 operation on the same bucket in the same
// run, with the worker in a process of its own:
//
//   - at 100,000 keys (1 in 5 a sidecar, the rest essence) the first run
//     reads all 20,000 sidecars: objects/s beside a bare loop of GETs of
//     the same objects with the run's concurrency (batches × reads);
//   - a run without changes at 100,000 and at benchKeys() keys: keys
//     listed and compared per second beside a bare ListObjectsV2 loop,
//     and the peak RSS of a worker that ran only that;
//   - the largest history of a workflow run.
//
// The keys added between the two sizes become part of the manifest by a
// listing committed as a completed run's is (in this process), so the
// no-change run at full size compares with a manifest of every key.
func BenchmarkS3Manifest(b *testing.B) {
	total := benchKeys()
	small := min(100_000, total)
	tmpl := sidecar(b, "dm22karre01", "Aflevering")
	for range b.N {
		b.StopTimer()
		f := newFixtureWith(b, fixtureOptions{noWorker: true, timeout: time.Hour})
		if err := f.partner.EnsureBucket(f.ctx); err != nil {
			b.Fatal(err)
		}
		worker := startAvoWorker(b, f.clients.Config)
		src := sources.Source{ID: "bench-s3", Kind: sources.KindS3, Mapping: "mediahaven-sidecar",
			S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "archive/"}}
		concurrency, _, parallel := src.S3.Limits()
		run := func(what string) (workflows.HarvestResult, float64, int) {
			b.Helper()
			start := time.Now()
			res := f.harvest(b, src, workflows.HarvestOptions{})
			secs := time.Since(start).Seconds()
			_, events := historySizes(b, f, workflows.HarvestWorkflowID(src.ID, ""))
			b.Logf("%s: %+v in %.1f s, %d history events", what, res.Counts, secs, events)
			return res, secs, events
		}

		seedArchive(b, f, tmpl, 0, small/5)
		b.StartTimer()
		first, secs, events := run("first run")
		if first.Counts.Indexed != small/5 {
			b.Fatalf("first run indexed %d of %d sidecars", first.Counts.Indexed, small/5)
		}
		runRate := float64(first.Counts.Records) / secs
		var keys []string
		for i := range small / 5 {
			pid := fmt.Sprintf("bench%07d", i)
			keys = append(keys, fmt.Sprintf("archive/%03d/%s/%s.xml", i%1000, pid, pid))
		}
		_, processingPeak := rssKB(worker.Process.Pid)
		getRate := bareGets(b, f, f.partner, keys, concurrency*parallel)
		b.ReportMetric(runRate, "objects/s@20k-changed")
		b.ReportMetric(runRate/getRate, "ratio-to-bare-GET")
		b.ReportMetric(float64(processingPeak)/1024, "worker-peak-MB@20k-changed")
		maxEvents := events

		measure := func(n int) {
			// A worker of its own: its peak is the no-change run's.
			_ = worker.Process.Kill()
			_ = worker.Wait()
			worker = startAvoWorker(b, f.clients.Config)
			listed, bare := bareList(b, f, f.partner, "archive/")
			res, secs, events := run(fmt.Sprintf("no-change run at %d keys", n))
			if res.Counts.Records != 0 || res.Counts.Listed != listed || listed != n {
				b.Fatalf("no-change run at %d keys: %+v (bare listing %d)", n, res.Counts, listed)
			}
			rate := float64(listed) / secs
			_, peak := rssKB(worker.Process.Pid)
			maxEvents = max(maxEvents, events)
			b.ReportMetric(rate, fmt.Sprintf("keys/s@%d", n))
			b.ReportMetric(rate/bare, fmt.Sprintf("ratio-to-bare-list@%d", n))
			b.ReportMetric(float64(peak)/1024, fmt.Sprintf("worker-peak-MB@%d", n))
			b.Logf("%d keys: no-change run %.0f keys/s, bare ListObjectsV2 %.0f keys/s (%.2f); worker peak RSS %.0f MB",
				n, rate, bare, rate/bare, float64(peak)/1024)
		}
		measure(small)

		if total > small {
			b.StopTimer()
			seedArchive(b, f, tmpl, small/5, total/5)
			// The new sidecars join the manifest as a completed run's
			// listing would (reading 180,000 of them is not what this
			// measures).
			h := &activities.Harvest{Store: f.clients.Store, Index: f.clients.Indices, S3: f.clients.Config.S3, Logger: f.clients.Logger}
			env := (&testsuite.WorkflowTestSuite{}).NewTestActivityEnvironment()
			env.RegisterActivity(h)
			if _, err := env.ExecuteActivity(h.ListS3, activities.ListInput{Source: src, HarvestID: "bench-seed"}); err != nil {
				b.Fatal(err)
			}
			if _, err := env.ExecuteActivity(h.CommitManifest, activities.CommitInput{Source: src.ID, HarvestID: "bench-seed"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			measure(total)
		}
		b.ReportMetric(float64(maxEvents), "max-history-events/run")
		b.Logf("first run: %d sidecars at %.0f objects/s, bare GETs (%d at once) %.0f objects/s (%.2f), worker peak RSS %.0f MB; at most %d history events a run",
			first.Counts.Records, runRate, concurrency*parallel, getRate, runRate/getRate, float64(processingPeak)/1024, maxEvents)
	}
}
