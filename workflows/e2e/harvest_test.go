package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/mappings"

	sdkworker "go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/internal/demo"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

func TestMain(m *testing.M) {
	if os.Getenv(helperWorkerEnv) != "" {
		os.Exit(helperWorker())
	}
	os.Exit(testenv.Main(m))
}

type fixture struct {
	ctx     context.Context
	clients *clients
	partner *s3store.Store
}

// newFixture runs the pipeline on real servers: an in-process Temporal
// server, the test Elasticsearch node and versitygw, and a worker.
func newFixture(t testing.TB) *fixture { return newFixtureWith(t, fixtureOptions{}) }

func newFixtureWorker(t testing.TB, worker bool) *fixture {
	return newFixtureWith(t, fixtureOptions{noWorker: !worker})
}

// fixtureOptions change what the fixture's worker sees and does.
type fixtureOptions struct {
	noWorker bool
	// workerES turns the Elasticsearch URL into the one the worker uses
	// (a proxy that misbehaves); the test itself sees the real node.
	workerES func(url string) string
	// harvest adjusts the worker's harvest activities (test hooks).
	harvest func(*activities.Harvest)
	// timeout bounds the fixture's context (default 5 minutes).
	timeout time.Duration
}

func newFixtureWith(t testing.TB, o fixtureOptions) *fixture {
	t.Helper()
	if o.timeout == 0 {
		o.timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	t.Cleanup(cancel)
	ts := testenv.Temporal(t)
	cfg := testenv.Config(t)
	cfg.Temporal.Address = ts.GetFrontendHostPort()
	cfg.Temporal.Namespace = ts.GetDefaultNamespace()
	cfg.Temporal.TaskQueue = testenv.Name(t)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	c, err := connect(ctx, cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.setup(ctx); err != nil {
		t.Fatalf("setup: %v", err)
	}
	if !o.noWorker {
		wc := c
		if o.workerES != nil {
			wcfg := cfg
			wcfg.Elasticsearch.URLs = []string{o.workerES(cfg.Elasticsearch.URLs[0])}
			if wc, err = connect(ctx, wcfg, log); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(wc.Close)
		}
		w := wc.NewWorker(sdkworker.Options{}, o.harvest)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	partnerCfg := cfg.S3
	partnerCfg.Bucket = cfg.S3.Bucket + "-partner"
	partner, err := s3store.New(ctx, partnerCfg)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ctx: ctx, clients: c, partner: partner}
}

// demoSources serves the sample provider and bucket for this test.
func (f *fixture) demoSources(t testing.TB) (oai, s3 sources.Source) {
	t.Helper()
	p, err := demo.Serve(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if _, err := demo.SeedBucket(f.ctx, f.partner); err != nil {
		t.Fatal(err)
	}
	file, err := demo.Sources(p.URL, mappings.Known)
	if err != nil {
		t.Fatal(err)
	}
	oai, _ = file.Get("demo-oai")
	s3, _ = file.Get("demo-s3")
	s3.S3.Bucket = f.partner.Bucket
	return oai, s3
}

// education searches the education index as avo serve does.
func (f *fixture) education(t testing.TB) *search.Searcher {
	t.Helper()
	educ, err := search.NewSearcher(f.clients.Indices.ES, f.clients.Indices.Alias(esindex.Education))
	if err != nil {
		t.Fatal(err)
	}
	return educ
}

// signOn checks tokens of the test identity provider, whose issuer it
// returns, as avo serve configured for it does.
func signOn(t testing.TB) (*auth.Authenticator, string) {
	t.Helper()
	issuer := testenv.Issuer(t)
	a, err := auth.New(auth.Config{Issuers: []auth.Issuer{{URL: issuer, Audience: devstack.ClientID, RolesClaim: "roles"}}})
	if err != nil {
		t.Fatal(err)
	}
	return a, issuer
}

func (f *fixture) harvest(t testing.TB, src sources.Source, o workflows.HarvestOptions) workflows.HarvestResult {
	t.Helper()
	run, err := f.clients.StartHarvest(f.ctx, src, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(f.ctx)
	if err != nil {
		t.Fatalf("harvest of %s: %v", src.ID, err)
	}
	return res
}

// count is how many documents the catalog holds, the latest writes
// included.
func (f *fixture) count(t testing.TB) int {
	t.Helper()
	if err := f.clients.Indices.Refresh(f.ctx, esindex.Catalog); err != nil {
		t.Fatal(err)
	}
	n, err := f.clients.Indices.Count(f.ctx, esindex.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) keys(t testing.TB, prefix string) []string {
	t.Helper()
	objs, err := f.clients.Store.List(f.ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range objs {
		keys = append(keys, o.Key)
	}
	return keys
}

func TestHarvestBothSamplesEndToEnd(t *testing.T) {
	f := newFixture(t)
	oai, s3 := f.demoSources(t)

	got := f.harvest(t, oai, workflows.HarvestOptions{Limits: workflows.Limits{MaxPagesPerRun: 2}}) // 3 pages: continues as new once
	want := bucket.Counts{Pages: 3, Records: 12, Indexed: 10, Deleted: 1, Quarantined: 1, Warnings: 0}
	if got.Counts != want {
		t.Errorf("oai counts %+v, want %+v", got.Counts, want)
	}
	got = f.harvest(t, s3, workflows.HarvestOptions{})
	want = bucket.Counts{Pages: 1, Listed: 7, Records: 6, Indexed: 5, Quarantined: 1}
	if got.Counts != want {
		t.Errorf("s3 counts %+v, want %+v (the .mp4 essence must not be read)", got.Counts, want)
	}
	if n := f.count(t); n != 15 {
		t.Errorf("catalog holds %d documents, want 15", n)
	}

	// S3 keeps the truth: raw pages, one record per source record, the
	// quarantined records with their reasons, and the reports.
	if raw := f.keys(t, "raw/demo-oai/"); len(raw) != 3 {
		t.Errorf("raw OAI pages: %v", raw)
	}
	if recs := f.keys(t, "records/demo-oai/"); len(recs) != 10 {
		t.Errorf("%d OAI records in S3, want 10", len(recs))
	}
	if recs := f.keys(t, "records/demo-s3/"); len(recs) != 5 {
		t.Errorf("%d S3 records in S3, want 5", len(recs))
	}
	reasons := map[string]string{}
	for _, k := range f.keys(t, "quarantine/") {
		var e bucket.QuarantineEntry
		if err := f.clients.Store.GetJSON(f.ctx, k, &e); err != nil {
			t.Fatal(err)
		}
		if e.Raw == "" || e.RawPage == "" {
			t.Errorf("quarantine entry %s lacks the raw record or its page", k)
		}
		reasons[e.Identifier] = e.Kind + ": " + strings.Join(e.Errors, "; ")
	}
	if r := reasons["oai:demo.archief.local:dm12leeg01"]; r != "invalid: missing-title: empty title" {
		t.Errorf("quarantine of the empty title: %q", r)
	}
	if r := reasons["sidecars/dm26kapot01.xml"]; !strings.HasPrefix(r, "unmappable: malformed XML") {
		t.Errorf("quarantine of the truncated sidecar: %q", r)
	}
	var rep bucket.Report
	if err := f.clients.Store.GetJSON(f.ctx, bucket.LatestReportKey("demo-oai", ""), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != bucket.StatusCompleted || rep.Counts.Records != 12 || rep.Quarantine["invalid: missing-title"].Count != 1 {
		t.Errorf("report %+v", rep)
	}

	// The indexed document carries the profile fields.
	res, err := f.clients.Indices.ES.Get(f.clients.Indices.Alias(esindex.Catalog), "dm22karre01")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var doc struct {
		Source esindex.Doc `json:"_source"`
	}
	if err := json.NewDecoder(res.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	d := doc.Source
	if d.Title != "Waarom fietsen kinderen minder naar school?" || d.Series != "Karrewiet" || d.SourceID != "demo-s3" ||
		len(d.DegreeIDs) != 1 || d.OriginalCPID != "OR-rf5kf25" || !strings.HasSuffix(d.Provenance.Record, "records/demo-s3/sidecars%2Fdm22karre01.xml.json") {
		t.Errorf("document %+v", d)
	}

	// And the search finds records of both sources.
	sr, err := search.Run(f.ctx, f.clients.Indices.ES, f.clients.Indices.Alias(esindex.Catalog), search.Request{Text: "fietsen"})
	if err != nil {
		t.Fatal(err)
	}
	from := map[string]bool{}
	for _, h := range sr.Hits {
		from[h.Source] = true
	}
	if sr.Total != 3 || !from["demo-oai"] || !from["demo-s3"] {
		t.Errorf("search fietsen: %+v", sr)
	}
}

// Harvesting again changes nothing: stable ids and keys, no duplicates.
func TestReharvestIsIdempotent(t *testing.T) {
	f := newFixture(t)
	oai, _ := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	before, recs := f.count(t), len(f.keys(t, "records/"))
	stamps := func() map[string]string {
		objs, err := f.clients.Store.List(f.ctx, "records/")
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for _, o := range objs {
			m[o.Key] = o.ETag + " " + o.LastModified.String()
		}
		return m
	}
	written := stamps()
	time.Sleep(1100 * time.Millisecond) // S3 times are in seconds
	// The same records mapped the same: nothing is written again.
	res := f.harvest(t, oai, workflows.HarvestOptions{Full: true})
	if res.Counts.Records != 12 || res.Counts.Unchanged != 10 || res.Counts.Indexed != 0 {
		t.Fatalf("a full harvest of unchanged records: %+v, want 12 seen, 10 unchanged, none indexed", res.Counts)
	}
	if again := stamps(); !maps.Equal(again, written) {
		t.Errorf("unchanged records were written to S3 again")
	}
	if after := f.count(t); after != before || before != 10 {
		t.Errorf("documents %d then %d, want 10 both times", before, after)
	}
	if n := len(f.keys(t, "records/")); n != recs {
		t.Errorf("records in S3 %d then %d", recs, n)
	}
}

// A record the provider marks deleted leaves the index and S3.
func TestDeletedRecordsLeaveIndexAndS3(t *testing.T) {
	f := newFixture(t)
	repo, err := demo.Repository("http://127.0.0.1/oai")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&oaipmh.Provider{Repo: repo, PageSize: 5})
	defer srv.Close()
	src := sources.Source{ID: "del", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: srv.URL, MetadataPrefix: "oai_dc"}}
	f.harvest(t, src, workflows.HarvestOptions{})
	if n := f.count(t); n != 10 {
		t.Fatalf("%d documents after the first harvest", n)
	}
	// The provider deletes dm03klim001.
	for i, r := range repo.Records {
		if r.Header.Identifier == "oai:demo.archief.local:dm03klim001" {
			repo.Records[i].Header.Deleted = true
			repo.Records[i].Header.Datestamp = "2026-10-01T00:00:00Z"
			repo.Records[i].Metadata = nil
		}
	}
	res := f.harvest(t, src, workflows.HarvestOptions{From: "2026-09-30T00:00:00Z"})
	if res.Counts.Records != 1 || res.Counts.Deleted != 1 {
		t.Errorf("incremental harvest counts %+v, want the one deletion", res.Counts)
	}
	if n := f.count(t); n != 9 {
		t.Errorf("%d documents after the deletion, want 9", n)
	}
	for _, k := range f.keys(t, "records/del/") {
		if strings.Contains(k, "dm03klim001") {
			t.Errorf("record %s still in S3", k)
		}
	}
}

// A second harvest of a running source and set is refused; cancelling the
// first ends it with a report that says so.
func TestConcurrentHarvestRefusedAndCancel(t *testing.T) {
	f := newFixture(t)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer slow.Close()
	defer close(release)
	src := sources.Source{ID: "slow", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: slow.URL, MetadataPrefix: "oai_dc"}}
	run, err := f.clients.StartHarvest(f.ctx, src, workflows.HarvestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.clients.StartHarvest(f.ctx, src, workflows.HarvestOptions{}); !errors.Is(err, workflows.ErrAlreadyRunning) {
		t.Fatalf("second start: %v, want ErrAlreadyRunning", err)
	}
	st, err := f.clients.HarvestStatus(f.ctx, "slow", "")
	if err != nil || st.Status != "running" {
		t.Fatalf("status %+v, %v", st, err)
	}
	if _, err := f.clients.CancelHarvest(f.ctx, "slow", ""); err != nil {
		t.Fatal(err)
	}
	if err := run.Get(f.ctx, nil); err == nil {
		t.Fatal("a cancelled harvest reported success")
	}
	var rep bucket.Report
	if err := f.clients.Store.GetJSON(f.ctx, bucket.LatestReportKey("slow", ""), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != bucket.StatusCancelled {
		t.Errorf("report status %q, want cancelled", rep.Status)
	}
	st, err = f.clients.HarvestStatus(f.ctx, "slow", "")
	if err != nil || st.Status != "cancelled" || st.Report == nil {
		t.Errorf("status after cancel %+v, %v", st, err)
	}
	// Temporal's list of workflows follows the close a moment later.
	var rows []workflows.HarvestListing
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		rows, err = f.clients.ListHarvests(f.ctx, "slow", 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 1 && rows[0].Status != "running" || time.Now().After(deadline) {
			break
		}
	}
	if len(rows) != 1 || rows[0].Source != "slow" || rows[0].Status != "cancelled" || rows[0].Outcome != "cancelled" {
		t.Errorf("list %+v", rows)
	}
}

// A provider that refuses the format fails the harvest at once (no
// retries), with the provider's message, and the run reports failure.
func TestPermanentProviderErrorFailsTheRun(t *testing.T) {
	f := newFixture(t)
	repo, err := demo.Repository("http://127.0.0.1/oai")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&oaipmh.Provider{Repo: repo})
	defer srv.Close()
	src := sources.Source{ID: "badfmt", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: srv.URL, MetadataPrefix: "marc21"}}
	run, err := f.clients.StartHarvest(f.ctx, src, workflows.HarvestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = run.Get(f.ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "cannotDisseminateFormat") {
		t.Fatalf("run error %v, want the provider's cannotDisseminateFormat", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("a permanent error took %s: it was retried", time.Since(start))
	}
	var rep bucket.Report
	if err := f.clients.Store.GetJSON(f.ctx, bucket.LatestReportKey("badfmt", ""), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Status != bucket.StatusFailed || !strings.Contains(rep.Error, "cannotDisseminateFormat") {
		t.Errorf("report %+v", rep)
	}
}

// Cancelling a source of several sets stops its run of the sets in turn:
// the set being harvested stops and reports so, the next never starts.
func TestCancelMultiSetSource(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(6, "kunst", "film"), oaitest.Faults{PageSize: 2, Slow: []int{2, 3, 4, 5, 6}, SlowDelay: 20 * time.Second})
	src := oaiSource("multi", p, "kunst", "film")
	run, err := f.clients.StartHarvest(f.ctx, src, fast)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); p.Lists() < 2; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the harvest never reached its second page")
		}
	}
	id, err := f.clients.CancelHarvest(f.ctx, "multi", "")
	if err != nil || id != workflows.SourceWorkflowID("multi") {
		t.Fatalf("cancel asked %s: %v; want the source's run", id, err)
	}
	if err := run.Get(f.ctx, nil); err == nil {
		t.Fatal("a cancelled source harvest reported success")
	}
	rep, err := bucket.LatestReport(f.ctx, f.clients.Store, "multi", "kunst")
	if err != nil || rep.Status != bucket.StatusCancelled {
		t.Errorf("report of set kunst: %+v, %v; want cancelled", rep, err)
	}
	if _, err := bucket.LatestReport(f.ctx, f.clients.Store, "multi", "film"); err == nil {
		t.Error("set film was harvested after the source was cancelled")
	}
	if _, err := f.clients.CancelHarvest(f.ctx, "multi", ""); !errors.Is(err, workflows.ErrNotFound) {
		t.Errorf("cancelling again: %v, want not found", err)
	}
}
