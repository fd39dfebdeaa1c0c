package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/workflows"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/progress/*.golden from the output")

// TestProgressInThreeModes feeds one harvest's and one rebuild's progress
// to each mode and holds the output to golden files: a line redrawn in
// place on a terminal (cleared at the end), plain lines at most every
// three seconds and only when what they count changed, a JSON object a
// change.
func TestProgressInThreeModes(t *testing.T) {
	t0 := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	harvest := func(page, records, quarantined int, retry *workflows.Retry) *workflows.HarvestState {
		return &workflows.HarvestState{Retry: retry, Progress: &workflows.Status{Source: "vrt", Set: "onderwijs", Page: page, ListSize: 400,
			Counts: bucket.Counts{Records: records, Indexed: records - quarantined, Quarantined: quarantined}, StartedAt: t0}}
	}
	retry := &workflows.Retry{Activity: "FetchPages", Attempt: 2, LastError: "HTTP 503"}
	next := t0.Add(9 * time.Second)
	retry.NextAttempt = &next
	steps := []struct {
		at time.Duration
		st *workflows.HarvestState
	}{
		{1 * time.Second, harvest(1, 100, 1, nil)},
		{2 * time.Second, harvest(1, 100, 1, nil)}, // unchanged
		{3 * time.Second, harvest(2, 200, 1, nil)}, // within 3 s of the last plain line
		{5 * time.Second, harvest(3, 300, 2, nil)},
		{7 * time.Second, harvest(3, 300, 2, retry)},
	}
	for _, c := range []struct {
		name string
		mode progressMode
	}{{"terminal", progressTerminal}, {"plain", progressPlain}, {"json", progressJSON}} {
		var out bytes.Buffer
		p := &progress{mode: c.mode, out: &out, every: 3 * time.Second}
		for _, s := range steps {
			now := t0.Add(s.at)
			p.update(now, "harvest", progressKey(s.st), progressLine(s.st, now), measure(s.st, now))
		}
		p.done()
		rb := &progress{mode: c.mode, out: &out, every: 3 * time.Second}
		in := workflows.RebuildInput{Kind: "education", Index: "avo-education-20260901t080000000", Pages: 12, StartedAt: t0,
			Loaded: activities.LoadResult{Read: 12000, Indexed: 4000, Skipped: 8000}}
		rb.update(t0.Add(4*time.Second), "rebuild", "12", rebuildLine(in, t0.Add(4*time.Second)), in)
		rb.done()

		golden := filepath.Join("testdata", "progress", c.name+".golden")
		if *updateGolden {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (go test ./cmd/avo -run TestProgress -update-golden writes it)", err)
		}
		if !bytes.Equal(out.Bytes(), want) {
			t.Errorf("%s progress:\n%q\nwant\n%q", c.name, out.String(), want)
		}
	}
}
