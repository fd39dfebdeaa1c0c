package e2e

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// writeSourcesFile writes a sources file with one OAI-PMH source.
func writeSourcesFile(t testing.TB, path, id, url string) {
	t.Helper()
	yaml := "sources:\n  - id: " + id + "\n    kind: oai-pmh\n    mapping: oai_dc\n    oai:\n      url: " + url + "\n      metadata_prefix: oai_dc\n"
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSchedules(t *testing.T) {
	sourcesFile := filepath.Join(t.TempDir(), "sources.yaml")
	f := newFixtureWith(t, fixtureOptions{harvest: func(h *activities.Harvest) { h.SourcesFile = sourcesFile }})
	p := oaitest.New(t, oaitest.Records(5), oaitest.Faults{PageSize: 10})
	src := oaiSource("sched", p)
	writeSourcesFile(t, sourcesFile, "sched", p.URL)
	if err := f.clients.SetSchedule(f.ctx, src, workflows.ScheduleOptions{Every: 30 * time.Second}); err == nil {
		t.Error("a schedule every 30s was accepted")
	}
	if err := f.clients.SetSchedule(f.ctx, src, workflows.ScheduleOptions{Every: 6 * time.Hour, Note: "nightly"}); err != nil {
		t.Fatal(err)
	}
	info, err := f.clients.Schedule(f.ctx, "sched")
	if err != nil {
		t.Fatal(err)
	}
	if info.Every != 6*time.Hour || info.Paused || info.Overlap != "Skip" || info.CatchupWindow != 6*time.Hour || len(info.NextRuns) == 0 {
		t.Errorf("schedule %+v", info)
	}

	// Running it now harvests the source through the scheduled action.
	if err := f.clients.TriggerSchedule(f.ctx, "sched"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := f.clients.HarvestStatus(f.ctx, "sched", "")
		if err == nil && st.Status == "completed" && st.Report != nil {
			if st.Report.Counts.Indexed != 5 {
				t.Errorf("scheduled harvest indexed %d, want 5", st.Report.Counts.Indexed)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the triggered harvest did not complete: %+v %v", st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// The source moves to another provider after the schedule was made:
	// the next run harvests it there, with the settings of the moment.
	future := time.Now().UTC().Add(time.Hour).Format("2006-01-02T15:04:05Z")
	moved := oaitest.New(t, []oaipmh.Record{oaitest.Record(101, future), oaitest.Record(102, future)}, oaitest.Faults{})
	writeSourcesFile(t, sourcesFile, "sched", moved.URL)
	first, err := f.clients.HarvestStatus(f.ctx, "sched", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.clients.TriggerSchedule(f.ctx, "sched"); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		st, err := f.clients.HarvestStatus(f.ctx, "sched", "")
		if err == nil && st.RunID != first.RunID && st.Status == "completed" && st.Report != nil {
			if st.Report.Counts.Indexed != 2 || moved.CountRequests("ListRecords") == 0 {
				t.Errorf("the second scheduled run indexed %d (want the 2 of the new provider), asked it %d times",
					st.Report.Counts.Indexed, moved.CountRequests("ListRecords"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second triggered harvest did not complete: %+v %v", st, err)
		}
	}

	if err := f.clients.PauseSchedule(f.ctx, "sched", true, "provider maintenance"); err != nil {
		t.Fatal(err)
	}
	all, err := f.clients.Schedules(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || !all[0].Paused || all[0].Note != "provider maintenance" || all[0].LastRun == nil {
		t.Errorf("schedules %+v", all)
	}
	// Creating it again replaces it.
	if err := f.clients.SetSchedule(f.ctx, src, workflows.ScheduleOptions{Every: 12 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	if info, err := f.clients.Schedule(f.ctx, "sched"); err != nil || info.Every != 12*time.Hour || info.Paused {
		t.Errorf("replaced schedule %+v %v", info, err)
	}
	if err := f.clients.DeleteSchedule(f.ctx, "sched"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.clients.Schedule(f.ctx, "sched"); !errors.Is(err, workflows.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
}

func TestValidateSource(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(3, "kunst"), oaitest.Faults{})
	good := oaiSource("v", p, "kunst")
	if ck := f.clients.ValidateSource(f.ctx, good); !ck.OK || len(ck.Facts) == 0 {
		t.Errorf("good source: %+v", ck)
	}
	bad := oaiSource("v", p, "kunst", "nosuchset")
	bad.OAI.MetadataPrefix = "lido"
	ck := f.clients.ValidateSource(f.ctx, bad)
	if ck.OK || len(ck.Problems) != 2 {
		t.Errorf("bad source: %+v", ck)
	}
	down := oaiSource("v", p)
	down.OAI.URL = "http://127.0.0.1:1/oai"
	if ck := f.clients.ValidateSource(f.ctx, down); ck.OK {
		t.Errorf("unreachable source: %+v", ck)
	}
	nobucket := sources.Source{ID: "nb", Kind: sources.KindS3, Mapping: "mediahaven-sidecar", S3: &sources.S3{Bucket: "avo-no-such-partner-bucket"}}
	if ck := f.clients.ValidateSource(f.ctx, nobucket); ck.OK || len(ck.Problems) != 1 || ck.Problems[0] != "bucket avo-no-such-partner-bucket does not exist (at this endpoint and region)" {
		t.Errorf("missing bucket: %+v", ck)
	}
}
