package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/testsuite"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// mhRecord is a MediaHaven JSON record with a duration.
func mhRecord(pid, title, duration string) []byte {
	b, _ := json.Marshal(map[string]any{
		"Technical":   map[string]any{"DurationTimeCode": duration},
		"Descriptive": map[string]any{"Title": title},
		"Dynamic": map[string]any{
			"PID": pid, "dc_title": title, "CP": "VRT", "type_viaa": "video",
			"dc_rights_licenses": map[string]any{"multiselect": []string{"VIAA-ONDERWIJS"}},
		},
	})
	return b
}

// A document Elasticsearch refuses (a duration beyond its integer field)
// is quarantined with the reason; the others of the bulk are indexed and
// the run says so.
func TestRefusedDocumentIsQuarantined(t *testing.T) {
	f := newFixture(t)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	for pid, dur := range map[string]string{"mh0001": "00:01:00", "mh0002": "999999:00:00", "mh0003": "00:02:30"} {
		if err := f.partner.Put(f.ctx, "mh/"+pid+".json", mhRecord(pid, "Titel "+pid, dur), "application/json"); err != nil {
			t.Fatal(err)
		}
	}
	src := sources.Source{ID: "mh", Kind: "s3", Mapping: "mediahaven-json",
		S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "mh/", Suffixes: []string{".json"}}}
	got := f.harvest(t, src, workflows.HarvestOptions{})
	if got.Counts.Records != 3 || got.Counts.Indexed != 2 || got.Counts.Quarantined != 1 || got.Counts.IndexRejected != 1 {
		t.Fatalf("counts %+v, want 3 records, 2 indexed, 1 quarantined", got.Counts)
	}
	// The run went through, but it did not complete: operators see so in
	// the result, the report and the list of harvests.
	if got.Status != bucket.StatusCompletedWithRejections {
		t.Errorf("status %q, want %s", got.Status, bucket.StatusCompletedWithRejections)
	}
	if rep, err := bucket.LatestReport(f.ctx, f.clients.Store, "mh", ""); err != nil || rep.Status != bucket.StatusCompletedWithRejections {
		t.Errorf("report %+v, %v", rep, err)
	}
	// Temporal's list of workflows follows a moment later.
	var rows []workflows.HarvestListing
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rows, err = f.clients.ListHarvests(f.ctx, "mh", 5)
		if err != nil || len(rows) == 1 && rows[0].Outcome != "" || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || len(rows) != 1 || rows[0].Outcome != bucket.StatusCompletedWithRejections {
		t.Errorf("harvest list %+v, %v", rows, err)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "mh"})
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine %+v, %v", q, err)
	}
	e := q[0]
	if e.Kind != "index-rejected" || e.Identifier != "mh/mh0002.json" || !strings.Contains(strings.Join(e.Errors, " "), "duration_seconds") || e.Document == "" {
		t.Errorf("quarantine entry %+v", e.QuarantineEntry)
	}
	if n := f.count(t); n != 2 {
		t.Errorf("catalog holds %d, want 2", n)
	}
}

// publish publishes an item through the pipeline, as `avo publish` does.
func (f *fixture) publish(t testing.TB, id string) {
	t.Helper()
	st, err := f.clients.Decide(f.ctx, id, editorial.Decision{Publish: true, By: "test"})
	if err != nil {
		t.Fatalf("publish %s: %v", id, err)
	}
	if !st.Visible {
		t.Fatalf("published %s is not visible: %s", id, st.Why)
	}
}

// educationIDs lists, sorted, what teachers find in the education index.
func (f *fixture) educationIDs(t testing.TB) []string {
	t.Helper()
	got, err := search.Run(f.ctx, f.clients.Indices.ES, f.clients.Indices.Alias(esindex.Education), search.Request{Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range got.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	return ids
}

// rollback returns the alias of kind to the previous index, as `avo index
// rollback` does.
func (f *fixture) rollback(t testing.TB, kind string) workflows.RollbackResult {
	t.Helper()
	run, err := f.clients.StartRollback(f.ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RollbackResult
	if err := run.Get(f.ctx, &res); err != nil {
		t.Fatalf("rollback of %s: %v", kind, err)
	}
	return res
}

func (f *fixture) rebuild(t testing.TB, kind string, o workflows.RebuildOptions) (workflows.RebuildResult, error) {
	t.Helper()
	run, err := f.clients.StartRebuild(f.ctx, kind, o)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RebuildResult
	err = run.Get(f.ctx, &res)
	return res, err
}

func (f *fixture) current(t testing.TB, kind string) (current string, all []esindex.PhysicalIndex) {
	t.Helper()
	phys, err := f.clients.Indices.Physical(f.ctx, kind)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range phys {
		if p.Current {
			current = p.Name
		}
	}
	return current, phys
}

// Rebuilds read S3 alone and swap with no moment without results, while
// searches run; rollback goes back; a count that differs from S3 stops
// the swap.
func TestRebuildSwapRollback(t *testing.T) {
	f := newFixture(t)
	oai, s3 := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	f.harvest(t, s3, workflows.HarvestOptions{})
	records := len(f.keys(t, "records/"))
	if records == 0 || f.count(t) != records {
		t.Fatalf("%d records in S3, %d in the catalog", records, f.count(t))
	}
	// Editorial decisions: two items published (both carry the education
	// licence in the samples).
	f.publish(t, "dm22karre01")
	f.publish(t, "dm21wk0001")
	before, _ := f.current(t, esindex.Catalog)

	// Searches run throughout: every one must answer with every record.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var searches, failures atomic.Int64
	var mu sync.Mutex
	var problems []string
	for _, kind := range esindex.Kinds {
		want := records
		if kind == esindex.Education {
			want = 2
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; !stop.Load() && i < 100000; i++ {
				res, err := search.Run(f.ctx, f.clients.Indices.ES, f.clients.Indices.Alias(kind), search.Request{Size: 1})
				searches.Add(1)
				if err != nil || res.Total != want {
					failures.Add(1)
					mu.Lock()
					problems = append(problems, fmt.Sprintf("%s: total %v, err %v", kind, res, err))
					mu.Unlock()
				}
			}
		}()
	}

	res, err := f.rebuild(t, esindex.Catalog, workflows.RebuildOptions{})
	if err != nil {
		t.Fatalf("rebuild catalog: %v", err)
	}
	if res.Docs != records || res.Expected != records || res.Records != records || !slices.Equal(res.Previous, []string{before}) {
		t.Errorf("catalog rebuild %+v, want %d documents, previous %s", res, records, before)
	}
	eres, err := f.rebuild(t, esindex.Education, workflows.RebuildOptions{})
	if err != nil {
		t.Fatalf("rebuild education: %v", err)
	}
	if eres.Docs != 2 || eres.Expected != 2 || eres.Skipped != records-2 {
		t.Errorf("education rebuild %+v, want 2 documents", eres)
	}
	stop.Store(true)
	wg.Wait()
	if failures.Load() > 0 || searches.Load() < 10 {
		t.Errorf("%d of %d searches during the rebuilds failed: %v", failures.Load(), searches.Load(), problems[:min(len(problems), 5)])
	}
	t.Logf("%d searches during two rebuilds, none failed", searches.Load())

	now, phys := f.current(t, esindex.Catalog)
	if now != res.Index || len(phys) != 2 {
		t.Fatalf("after the rebuild the alias points at %s of %+v, want %s and the previous kept", now, phys, res.Index)
	}
	cur, docs := "", 0
	for _, p := range phys {
		if p.Current {
			cur, docs = p.Name, p.Docs
		}
	}
	if rb := f.clients.RebuildStatus(f.ctx, esindex.Catalog); cur != res.Index || docs != records || rb == nil || rb.Status != "completed" {
		t.Errorf("status: current %s with %d documents, rebuild %+v", cur, docs, rb)
	}

	rb := f.rollback(t, esindex.Catalog)
	if rb.From != res.Index || rb.To != before {
		t.Fatalf("rollback: %s → %s", rb.From, rb.To)
	}
	if cur, _ := f.current(t, esindex.Catalog); cur != before || f.count(t) != records {
		t.Errorf("after rollback the alias points at %s with %d documents", cur, f.count(t))
	}

	// A record whose document Elasticsearch refuses: it is quarantined, and
	// the rebuild goes through, for the count check expects what can be
	// indexed: records less the refused.
	bad := profile.Record{ExternalID: "toolong1", Title: "Te lang", DurationSeconds: 1 << 40,
		Provenance: profile.Provenance{Source: "manual", Format: "test", Identifier: "toolong1", Raw: "s3://x/raw", Harvest: "h", Mapping: "1"}}
	if err := f.clients.Store.PutJSON(f.ctx, "records/manual/toolong1.json", bad); err != nil {
		t.Fatal(err)
	}
	res, err = f.rebuild(t, esindex.Catalog, workflows.RebuildOptions{})
	if err != nil || res.Docs != records || res.Expected != records || res.Records != records+1 || res.Rejected != 1 {
		t.Fatalf("rebuild with a refused document: %+v, %v", res, err)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "manual"})
	if err != nil || len(q) == 0 || q[0].Kind != "index-rejected" || !strings.Contains(q[0].Errors[0], "toolong1") {
		t.Errorf("quarantine after the refused document: %+v, %v", q, err)
	}
	// The refused document does not fail the rebuilds after it; keeping no
	// previous index prunes the others.
	res, err = f.rebuild(t, esindex.Catalog, workflows.RebuildOptions{Keep: new(0)})
	if err != nil || res.Docs != records || res.Rejected != 1 || len(res.Pruned) == 0 {
		t.Fatalf("second rebuild with the refused document: %+v, %v", res, err)
	}
	if _, phys := f.current(t, esindex.Catalog); len(phys) != 1 {
		t.Errorf("after pruning: %+v", phys)
	}
	// A second rebuild while one runs is refused.
	if _, err := f.clients.StartRebuild(f.ctx, esindex.Catalog, workflows.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.clients.StartRebuild(f.ctx, esindex.Catalog, workflows.RebuildOptions{}); !errors.Is(err, workflows.ErrRebuildRunning) {
		t.Errorf("second concurrent rebuild: %v", err)
	}
}

// Writes made while a rebuild loads reach the new index: those of writers
// that know of it through the -next alias, and those of a writer that
// opened before the rebuild began, through the catch-up.
func TestRebuildCatchesUpWithWritesMeanwhile(t *testing.T) {
	f := newFixtureWorker(t, false)
	oai, _ := f.demoSources(t)
	// A worker just for the harvest, stopped before the activities below.
	w := f.clients.NewWorker(sdkworker.Options{}, nil)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	f.harvest(t, oai, workflows.HarvestOptions{})
	w.Stop()
	f.publish(t, "dm01fiets01")

	var env testsuite.WorkflowTestSuite
	aenv := env.NewTestActivityEnvironment()
	x := &activities.Indexing{Store: f.clients.Store, Index: f.clients.Indices}
	aenv.RegisterActivity(x)
	call := func(fn any, in any, out any) {
		t.Helper()
		v, err := aenv.ExecuteActivity(fn, in)
		if err != nil {
			t.Fatalf("%T: %v", in, err)
		}
		if out != nil {
			if err := v.Get(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	started := time.Now()
	var index string
	call(x.BeginRebuild, esindex.Education, &index)

	// The load reads everything as it is now: one published item.
	var page activities.LoadResult
	call(x.LoadRecords, activities.LoadInput{Kind: esindex.Education, Index: index}, &page)
	if page.Next != "" || page.Indexed != 1 {
		t.Fatalf("load: %+v", page)
	}
	// Meanwhile an editor publishes another item: its writer sees the
	// rebuild and writes to both indices.
	f.publish(t, "dm02belg001")
	// And a change lands in S3 from a writer that never knew of the
	// rebuild: a third item published by its record alone.
	key := recordKey(t, f, "dm03klim001")
	var rec profile.Record
	if err := f.clients.Store.GetJSON(f.ctx, key, &rec); err != nil {
		t.Fatal(err)
	}
	if err := f.clients.Store.PutJSON(f.ctx, bucket.EditorialKey(rec.ExternalID), editorial.Editorial{Published: true, At: time.Now()}); err != nil {
		t.Fatal(err)
	}

	var cu activities.CatchUpResult
	call(x.CatchUp, activities.CatchUpInput{Kind: esindex.Education, Index: index, Since: started.Add(-time.Second), Pages: 1}, &cu)
	if cu.Expected != 3 || cu.Reloaded < 1 {
		t.Errorf("catch-up %+v, want 3 expected", cu)
	}
	var fin activities.FinishRebuildResult
	call(x.FinishRebuild, activities.FinishRebuildInput{Kind: esindex.Education, Index: index, Expected: cu.Expected}, &fin)
	if fin.Docs != 3 {
		t.Errorf("finish %+v", fin)
	}
	call(x.SwapIndex, activities.SwapInput{Kind: esindex.Education, Index: index, Keep: 1}, nil)
	res, err := search.Run(f.ctx, f.clients.Indices.ES, f.clients.Indices.Alias(esindex.Education), search.Request{Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range res.Hits {
		ids = append(ids, h.ID)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"dm01fiets01", "dm02belg001", "dm03klim001"}) {
		t.Errorf("education index after the rebuild: %v", ids)
	}
	if left := f.keys(t, "state/rebuild/"); len(left) != 0 {
		t.Errorf("rebuild manifests left: %v", left)
	}
}

// recordKey finds where S3 keeps the record of an item.
func recordKey(t testing.TB, f *fixture, id string) string {
	t.Helper()
	uri, err := f.clients.Indices.RecordURI(f.ctx, id)
	if err != nil || uri == "" {
		t.Fatalf("record of %s: %q, %v", id, uri, err)
	}
	return strings.TrimPrefix(uri, f.clients.Store.URI(""))
}

// Publishing: at once, from a moment on, until a moment; the schedule's
// workflow applies the windows when the clock passes them.
func TestPublishWindows(t *testing.T) {
	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	inEducation := func(id string) bool {
		t.Helper()
		res, err := search.Run(f.ctx, f.clients.Indices.ES, f.clients.Indices.Alias(esindex.Education), search.Request{Size: 100})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(res.Hits, func(h search.Hit) bool { return h.ID == id })
	}
	windows := func() activities.WindowsResult {
		t.Helper()
		run, err := f.clients.Temporal.ExecuteWorkflow(f.ctx, client.StartWorkflowOptions{TaskQueue: f.clients.Config.Temporal.TaskQueue},
			workflows.Windows, workflows.WindowsInput{Lookback: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var res activities.WindowsResult
		if err := run.Get(f.ctx, &res); err != nil {
			t.Fatalf("windows: %v", err)
		}
		return res
	}

	// Published from a moment just ahead: not yet visible.
	at := time.Now().Add(2 * time.Second)
	st, err := f.clients.Decide(f.ctx, "dm01fiets01", editorial.Decision{Publish: true, At: &at})
	if err != nil || st.Visible || !strings.HasPrefix(st.Why, "published from") || inEducation("dm01fiets01") {
		t.Fatalf("publish from %s: %+v, %v", at, st, err)
	}
	time.Sleep(time.Until(at) + 100*time.Millisecond)
	if res := windows(); res.Visible != 1 || !inEducation("dm01fiets01") {
		t.Fatalf("after the window opened: %+v, in the education index: %v", res, inEducation("dm01fiets01"))
	}
	// Published until a moment just ahead: visible, then gone.
	until := time.Now().Add(2 * time.Second)
	if st, err := f.clients.Decide(f.ctx, "dm01fiets01", editorial.Decision{Publish: true, Until: &until}); err != nil || !st.Visible {
		t.Fatalf("publish until %s: %+v, %v", until, st, err)
	}
	time.Sleep(time.Until(until) + 100*time.Millisecond)
	if res := windows(); res.Hidden != 1 || inEducation("dm01fiets01") {
		t.Fatalf("after the window closed: %+v", res)
	}
	// Depublish takes effect at once and keeps the reason.
	f.publish(t, "dm02belg001")
	st, err = f.clients.Decide(f.ctx, "dm02belg001", editorial.Decision{Reason: "rights withdrawn"})
	if err != nil || st.Visible || st.Editorial.DepublishReason != "rights withdrawn" || inEducation("dm02belg001") {
		t.Fatalf("depublish: %+v, %v", st, err)
	}
	// A harvest again does not undo the editors' decisions.
	f.publish(t, "dm03klim001")
	if res := f.harvest(t, oai, workflows.HarvestOptions{Full: true}); res.Counts.Unchanged != 10 {
		t.Errorf("re-harvest counts %+v, want the 10 records unchanged", res.Counts)
	}
	if !inEducation("dm03klim001") || inEducation("dm02belg001") {
		t.Errorf("after a re-harvest: dm03klim001 %v (want published), dm02belg001 %v (want depublished)", inEducation("dm03klim001"), inEducation("dm02belg001"))
	}
	if _, err := f.clients.Decide(f.ctx, "nosuchitem", editorial.Decision{Publish: true}); !errors.Is(err, editorial.ErrNotFound) {
		t.Errorf("publish of an unknown item: %v", err)
	}
}

// Only records teachers may see reach the education index: one record per
// branch of the visibility rule is kept in S3, the education index is
// rebuilt from S3, and it holds exactly the visible ones.
func TestLicenceGatingOnRebuild(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC()
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	cases := map[string]func(*profile.Rights){
		"visible1":   func(*profile.Rights) {},
		"fragment1":  func(r *profile.Rights) { r.Licenses = []string{profile.FragmentLicence} },
		"nolicence1": func(r *profile.Rights) { r.Licenses = []string{"VIAA-PUBLIEK-METADATA-ALL"} },
		"deleted1":   func(r *profile.Rights) { r.Deleted = true },
		"unpub1":     func(r *profile.Rights) { r.Published = false },
		"later1":     func(r *profile.Rights) { r.PublishAt = &future },
		"closed1":    func(r *profile.Rights) { r.DepublishAt = &past },
		"expired1":   func(r *profile.Rights) { r.ExpiryDate = &past },
	}
	for pid, edit := range cases {
		rec := profile.Record{ExternalID: pid, Title: "Titel " + pid, Rights: profile.Rights{Licenses: []string{profile.EducationLicence}, Published: true},
			Provenance: profile.Provenance{Source: "gate", Format: "test", Identifier: pid, Raw: "s3://x/raw", Harvest: "h", Mapping: profile.MappingVersion, MappedAt: now}}
		edit(&rec.Rights)
		if err := f.clients.Store.PutJSON(f.ctx, bucket.RecordKey("gate", pid), rec); err != nil {
			t.Fatal(err)
		}
	}
	res, err := f.rebuild(t, esindex.Education, workflows.RebuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Docs != 2 || res.Records != len(cases) || res.Skipped != len(cases)-2 {
		t.Errorf("rebuild %+v: want the 2 visible of %d records", res, len(cases))
	}
	if ids := f.educationIDs(t); fmt.Sprint(ids) != "[fragment1 visible1]" {
		t.Errorf("the education index holds %v, want [fragment1 visible1]", ids)
	}
}

// A rollback returns to an older index without bringing back what happened
// since: an item depublished after the rebuild stays hidden, a record its
// source deleted stays gone, an item published since stays visible.
func TestRollbackDoesNotResurrect(t *testing.T) {
	f := newFixture(t)
	src, del := deletionSource(t, "rollback")
	f.harvest(t, src, workflows.HarvestOptions{})
	for _, id := range []string{"dm01fiets01", "dm02belg001", "dm03klim001"} {
		f.publish(t, id)
	}
	if _, err := f.rebuild(t, esindex.Education, workflows.RebuildOptions{}); err != nil {
		t.Fatal(err)
	}
	// Since the rebuild: one item depublished, one deleted at the source,
	// one published.
	if _, err := f.clients.Decide(f.ctx, "dm01fiets01", editorial.Decision{Reason: "rights withdrawn", By: "test"}); err != nil {
		t.Fatal(err)
	}
	del("oai:demo.archief.local:dm02belg001")
	if res := f.harvest(t, src, workflows.HarvestOptions{From: "2026-09-30T00:00:00Z"}); res.Counts.Deleted != 1 {
		t.Fatalf("deletion harvest %+v", res.Counts)
	}
	f.publish(t, "dm09fiets02")

	rb := f.rollback(t, esindex.Education)
	if rb.Deleted != 1 || rb.Reloaded == 0 {
		t.Errorf("rollback %+v: want the deletion replayed and the changes loaded again", rb)
	}
	if ids := f.educationIDs(t); fmt.Sprint(ids) != "[dm03klim001 dm09fiets02]" {
		t.Errorf("after the rollback teachers find %v, want [dm03klim001 dm09fiets02]", ids)
	}
	if cur, _ := f.current(t, esindex.Education); cur != rb.To {
		t.Errorf("the alias points at %s, want %s", cur, rb.To)
	}
}
