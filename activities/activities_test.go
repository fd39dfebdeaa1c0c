package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/manifest"

	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/mappings"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// servers gives a test the activity structs on the real S3 and
// Elasticsearch test servers, with its own bucket and indices.
func servers(t *testing.T) (*Harvest, *Indexing) {
	t.Helper()
	cfg := testenv.Config(t)
	st := testenv.Store(t, cfg)
	ix := testenv.Indices(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := ix.Setup(ctx, esindex.Kinds...); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	return &Harvest{Store: st, Index: ix, S3: cfg.S3, UserAgent: "avo-test", Logger: log},
		&Indexing{Store: st, Index: ix, Logger: log}
}

// activityEnv runs activities of structs as a worker would (heartbeats,
// activity info), without a Temporal server.
func activityEnv(structs ...any) *testsuite.TestActivityEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	env := s.NewTestActivityEnvironment()
	for _, st := range structs {
		env.RegisterActivity(st)
	}
	return env
}

func TestToGranularity(t *testing.T) {
	for _, c := range []struct {
		in, gran string
		until    bool
		want     string
	}{
		{"2026-03-04", SecondsGranularity, false, "2026-03-04T00:00:00Z"},
		{"2026-03-04", SecondsGranularity, true, "2026-03-04T23:59:59Z"},
		{"2026-03-04T10:11:12+02:00", SecondsGranularity, false, "2026-03-04T08:11:12Z"},
		{"2026-03-04T23:30:00Z", DayGranularity, false, "2026-03-04"},
		{"", DayGranularity, false, ""},
	} {
		got, err := ToGranularity(c.in, c.gran, c.until)
		if err != nil || got != c.want {
			t.Errorf("ToGranularity(%q, %s, %v) = %q, %v; want %q", c.in, c.gran, c.until, got, err, c.want)
		}
	}
	if _, err := ToGranularity("yesterday", DayGranularity, false); err == nil || !strings.Contains(err.Error(), "not a date") {
		t.Errorf("a word is not a date: %v", err)
	}
}

// Errors keep their type; permanent ones stay permanent; a provider's
// Retry-After is never undercut.
func TestWithBackoff(t *testing.T) {
	perm := temporal.NewNonRetryableApplicationError("gone", "OAI-badArgument", nil)
	var pe *temporal.ApplicationError
	if got := withBackoff(context.Background(), perm, 0); !errors.As(got, &pe) || !pe.NonRetryable() || pe.Type() != "OAI-badArgument" || pe.Message() != "gone (1 attempt)" {
		t.Errorf("a permanent error: %v", got)
	}
	later := temporal.NewApplicationErrorWithOptions("busy", "HTTP-503", temporal.ApplicationErrorOptions{NextRetryDelay: 10 * time.Minute})
	var appErr *temporal.ApplicationError
	if err := withBackoff(context.Background(), later, time.Second); !errors.As(err, &appErr) || appErr.Type() != "HTTP-503" || appErr.NextRetryDelay() != 10*time.Minute {
		t.Errorf("Retry-After lost: %v", err)
	}
	plain := errors.New("connection reset")
	if err := withBackoff(context.Background(), plain, time.Second); !errors.As(err, &appErr) || appErr.Type() != "Transient" ||
		appErr.NextRetryDelay() < 500*time.Millisecond || appErr.NextRetryDelay() > 1500*time.Millisecond {
		t.Errorf("first retry of a transient error: %v (delay %s)", err, appErr.NextRetryDelay())
	}
}

func TestClassifyOAI(t *testing.T) {
	in := PageInput{Source: sources.Source{ID: "vrt"}, Page: 7}
	var appErr *temporal.ApplicationError
	cases := []struct {
		err       error
		typ       string
		retryable bool
	}{
		{&oaipmh.Error{Code: oaipmh.BadResumptionToken}, ErrBadResumptionToken, false},
		{&oaipmh.Error{Code: oaipmh.CannotDisseminateFormat}, "OAI-cannotDisseminateFormat", false},
		{&oaipmh.HTTPError{Status: 503, RetryAfter: time.Minute}, "HTTP-503", true},
		{&oaipmh.HTTPError{Status: 404}, "HTTP-404", false},
	}
	for _, c := range cases {
		err := classifyOAI(in, c.err)
		if !errors.As(err, &appErr) || appErr.Type() != c.typ || appErr.NonRetryable() == c.retryable {
			t.Errorf("%v: got %v (type %s, non-retryable %v)", c.err, err, appErr.Type(), appErr.NonRetryable())
			continue
		}
		if !strings.Contains(err.Error(), "source vrt page 7") {
			t.Errorf("%v: the error does not name source and page: %v", c.err, err)
		}
	}
}

// A mapper that panics on hostile input fails that one record.
func TestMapRecordNeverPanics(t *testing.T) {
	if _, _, err := mapRecord("oai_dc", []byte("   "), mappingOrigin()); err == nil || !strings.Contains(err.Error(), "no metadata") {
		t.Errorf("empty metadata: %v", err)
	}
	if _, _, err := mapRecord("oai_dc", []byte("<oai_dc:dc"), mappingOrigin()); err == nil {
		t.Error("broken XML mapped")
	}
}

// The watermark of the last completed run is where an incremental harvest
// starts; --full ignores it and a window the operator gives wins over it.
func TestPrepareHarvestWindow(t *testing.T) {
	h, _ := servers(t)
	p := oaitest.New(t, oaitest.Records(3), oaitest.Faults{})
	src := sources.Source{ID: "prep", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: p.URL, MetadataPrefix: "oai_dc"}}
	env := activityEnv(h)
	prepare := func(in PrepareInput) (PrepareResult, error) {
		v, err := env.ExecuteActivity(h.PrepareHarvest, in)
		var out PrepareResult
		if err == nil {
			err = v.Get(&out)
		}
		return out, err
	}
	got, err := prepare(PrepareInput{Source: src})
	if err != nil || got.From != "" || !got.Complete || got.FromWatermark {
		t.Fatalf("first harvest: %+v, %v", got, err)
	}
	wm := bucket.Watermark{ResponseDate: "2026-11-02T10:00:00Z", Granularity: SecondsGranularity, HarvestID: "h1"}
	if err := h.Store.PutJSON(context.Background(), bucket.WatermarkKey("prep", ""), wm); err != nil {
		t.Fatal(err)
	}
	if got, err = prepare(PrepareInput{Source: src}); err != nil || got.From != "2026-11-02T10:00:00Z" || !got.FromWatermark || got.Complete {
		t.Errorf("incremental: %+v, %v", got, err)
	}
	if got, err = prepare(PrepareInput{Source: src, Full: true}); err != nil || got.From != "" || !got.Complete {
		t.Errorf("full: %+v, %v", got, err)
	}
	if got, err = prepare(PrepareInput{Source: src, From: "2026-01-01", Until: "2026-01-31"}); err != nil ||
		got.From != "2026-01-01T00:00:00Z" || got.Until != "2026-01-31T23:59:59Z" || got.FromWatermark {
		t.Errorf("manual window: %+v, %v", got, err)
	}
	_, err = prepare(PrepareInput{Source: src, From: "2026-02-01", Until: "2026-01-01"})
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "BadWindow" || !appErr.NonRetryable() {
		t.Errorf("from after until: %v", err)
	}
}

// Only a completed run moves the watermark; every run leaves a report and
// the newest copy of it.
func TestFinishHarvestMovesWatermarkOnlyWhenCompleted(t *testing.T) {
	h, _ := servers(t)
	ctx := context.Background()
	env := activityEnv(h)
	start := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	failed := bucket.Report{Source: "fin", HarvestID: "h1", Status: bucket.StatusFailed, Error: "provider down",
		Watermark: "2026-11-03T08:00:00Z", StartedAt: start, FinishedAt: start.Add(time.Minute)}
	if _, err := env.ExecuteActivity(h.FinishHarvest, failed); err != nil {
		t.Fatal(err)
	}
	var wm bucket.Watermark
	if err := h.Store.GetJSON(ctx, bucket.WatermarkKey("fin", ""), &wm); err == nil {
		t.Errorf("a failed run moved the watermark to %+v", wm)
	}
	latest, err := bucket.LatestReport(ctx, h.Store, "fin", "")
	if err != nil || latest.Status != bucket.StatusFailed || latest.Seconds != 60 {
		t.Errorf("latest report %+v, %v", latest, err)
	}
	done := failed
	done.HarvestID, done.Status, done.Error = "h2", bucket.StatusCompleted, ""
	if _, err := env.ExecuteActivity(h.FinishHarvest, done); err != nil {
		t.Fatal(err)
	}
	if err := h.Store.GetJSON(ctx, bucket.WatermarkKey("fin", ""), &wm); err != nil || wm.ResponseDate != "2026-11-03T08:00:00Z" || wm.HarvestID != "h2" {
		t.Errorf("watermark after a completed run: %+v, %v", wm, err)
	}
	var first bucket.Report
	if err := h.Store.GetJSON(ctx, bucket.ReportKey("fin", "", "h1"), &first); err != nil || first.Status != bucket.StatusFailed {
		t.Errorf("the failed run's own report: %+v, %v", first, err)
	}
}

// After a complete run the sweep deletes, from S3 and both indices, what
// the set held and the run no longer saw, but keeps a record still in
// another set, and refuses to delete more than MassDeleteShare unless
// allowed.
func TestSweep(t *testing.T) {
	h, _ := servers(t)
	ctx := context.Background()
	now := time.Now().UTC()
	// Ten records of set "a", all visible to teachers.
	var ids []string
	for i := range 10 {
		id := "oai:x:" + string(rune('0'+i))
		ids = append(ids, id)
		rec := profile.Record{ExternalID: "pid" + string(rune('0'+i)), Title: "t", Rights: profile.Rights{Licenses: []string{profile.EducationLicence}, Published: true},
			Provenance: profile.Provenance{Source: "sw", Set: "a", Format: "oai_dc", Identifier: id, Raw: "s3://x/raw", Harvest: "h0", Mapping: profile.MappingVersion, MappedAt: now}}
		key := bucket.RecordKey("sw", id)
		if err := h.Store.PutJSON(ctx, key, rec); err != nil {
			t.Fatal(err)
		}
		cat, edu, err := esindex.Project(rec, h.Store.URI(key), now)
		if err != nil {
			t.Fatal(err)
		}
		for kind, op := range map[string]esindex.Op{esindex.Catalog: cat, esindex.Education: edu} {
			if out, err := h.Index.Write(ctx, kind, []esindex.Op{op}); err != nil || out.Indexed != 1 {
				t.Fatalf("index %s: %+v, %v", kind, out, err)
			}
		}
	}
	for _, kind := range esindex.Kinds {
		if err := h.Index.Refresh(ctx, kind); err != nil {
			t.Fatal(err)
		}
	}
	members := strings.Join(ids, "\n")
	if err := h.Store.PutGzip(ctx, bucket.MembersKey("sw", "a"), []byte(members), "text/plain"); err != nil {
		t.Fatal(err)
	}
	// Set "b" still holds the first record.
	if err := h.Store.PutGzip(ctx, bucket.MembersKey("sw", "b"), []byte(ids[0]), "text/plain"); err != nil {
		t.Fatal(err)
	}
	run := bucket.Run{Source: "sw", Set: "a", Harvest: "h1"}
	seen := func(present []string) {
		lines := make([]string, len(present))
		for i, id := range present {
			lines[i] = "+" + id
		}
		if err := writeSeen(ctx, h.Store, run, 1, lines); err != nil {
			t.Fatal(err)
		}
	}
	env := activityEnv(h)
	in := SweepInput{Source: "sw", Set: "a", HarvestID: "h1", Complete: true, OtherSets: []string{"a", "b"}}

	// The run saw 7 of 10: deleting 3 (30%) is refused.
	seen(ids[3:])
	_, err := env.ExecuteActivity(h.Sweep, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrMassDelete || !strings.Contains(err.Error(), "3 of the 10") {
		t.Fatalf("want a refused mass delete, got %v", err)
	}
	if n, _ := h.Index.Count(ctx, esindex.Catalog); n != 10 {
		t.Errorf("a refused sweep deleted documents: %d left", n)
	}
	// Allowed: ids[1] and ids[2] go everywhere; ids[0] stays (set b).
	in.AllowMassDelete = true
	v, err := env.ExecuteActivity(h.Sweep, in)
	if err != nil {
		t.Fatal(err)
	}
	var res SweepResult
	if err := v.Get(&res); err != nil || res.Removed != 2 || res.KeptInOtherSets != 1 || res.Members != 7 {
		t.Errorf("sweep %+v, %v", res, err)
	}
	for _, kind := range esindex.Kinds {
		if err := h.Index.Refresh(ctx, kind); err != nil {
			t.Fatal(err)
		}
		if n, _ := h.Index.Count(ctx, kind); n != 8 {
			t.Errorf("%s holds %d documents after the sweep, want 8", kind, n)
		}
	}
	for i, id := range ids[:3] {
		_, err := h.Store.Get(ctx, bucket.RecordKey("sw", id), 0)
		if gone := err != nil; gone != (i > 0) {
			t.Errorf("record %s: gone %v, err %v", id, gone, err)
		}
	}
}

func mappingOrigin() mappings.Origin {
	return mappings.Origin{Source: "t", Identifier: "oai:t:1", Raw: "s3://x/raw#oai:t:1", Harvest: "h", Now: time.Now()}
}

// The count check compares the new index with what S3 says it can hold:
// documents refused (and quarantined) are expected to be missing, any
// other difference stops the rebuild.
func TestFinishRebuildCountCheck(t *testing.T) {
	_, x := servers(t)
	ctx := context.Background()
	env := activityEnv(x)
	v, err := env.ExecuteActivity(x.BeginRebuild, esindex.Catalog)
	if err != nil {
		t.Fatal(err)
	}
	var index string
	if err := v.Get(&index); err != nil {
		t.Fatal(err)
	}
	w, err := x.Index.IndexWriter(index)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(ctx, esindex.Op{ID: "a1", Doc: []byte(`{"external_id":"a1","dc_title":"t","source_id":"s"}`)}); err != nil {
		t.Fatal(err)
	}
	if out, err := w.Close(ctx); err != nil || out.Indexed != 1 {
		t.Fatalf("load: %+v, %v", out, err)
	}
	in := FinishRebuildInput{Kind: esindex.Catalog, Index: index, Expected: 2}
	_, err = env.ExecuteActivity(x.FinishRebuild, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrCountMismatch || !strings.Contains(err.Error(), "holds 1 documents where S3 says 2") {
		t.Fatalf("a missing document: %v", err)
	}
	// The missing one was refused by Elasticsearch: the check expects that.
	if err := x.Store.Put(ctx, bucket.RebuildRejectedPrefix(index)+"a2", nil, "text/plain"); err != nil {
		t.Fatal(err)
	}
	v, err = env.ExecuteActivity(x.FinishRebuild, in)
	var res FinishRebuildResult
	if err == nil {
		err = v.Get(&res)
	}
	if err != nil || res.Docs != 1 || res.Expected != 1 || res.Refused != 1 {
		t.Errorf("with the refused document: %+v, %v", res, err)
	}
}

// An incremental run of many pages: the sweep merges their seen lists in
// rounds, a deletion on any page wins over a sighting, and the set keeps
// what it held before and the run did not see.
func TestSweepMergesManyPages(t *testing.T) {
	h, _ := servers(t)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[string]bool{}
	before := manifest.NewWriter(h.Store, "before/", 50)
	for i := range 300 {
		id := fmt.Sprintf("oai:m:%05d", i*3)
		want[id] = true
		if err := before.Add(ctx, manifest.Entry{Key: id}); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := before.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Store.PutJSON(ctx, bucket.ManifestKey("many", ""), bucket.Current{Harvest: "h0", Manifest: idx}); err != nil {
		t.Fatal(err)
	}
	run := bucket.Run{Source: "many", Harvest: "h1"}
	deleted := map[string]bool{}
	for page := 1; page <= 150; page++ {
		var lines []string
		for range 20 {
			id := fmt.Sprintf("oai:m:%05d", rng.IntN(1200))
			if rng.IntN(5) == 0 {
				lines = append(lines, "-"+id)
				deleted[id] = true
			} else {
				lines = append(lines, "+"+id)
				want[id] = true
			}
		}
		if err := writeSeen(ctx, h.Store, run, page, lines); err != nil {
			t.Fatal(err)
		}
	}
	for id := range deleted {
		delete(want, id)
	}
	v, err := activityEnv(h).ExecuteActivity(h.Sweep, SweepInput{Source: "many", HarvestID: "h1"})
	if err != nil {
		t.Fatal(err)
	}
	var res SweepResult
	if err := v.Get(&res); err != nil || res.Members != len(want) || res.Removed != 0 {
		t.Fatalf("sweep %+v %v, want %d members", res, err, len(want))
	}
	var cur bucket.Current
	if err := h.Store.GetJSON(ctx, bucket.ManifestKey("many", ""), &cur); err != nil || cur.Harvest != "h1" {
		t.Fatalf("members not committed: %+v %v", cur, err)
	}
	got := map[string]bool{}
	if err := manifest.Each(ctx, h.Store, cur.Manifest, func(e manifest.Entry) error { got[e.Key] = true; return nil }); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got, want) {
		t.Errorf("members: %d ids, want %d", len(got), len(want))
	}
}

// Kept pages processed together write what each alone would, and count it
// summed; when one of them fails, the error carries what the others wrote.
func TestProcessPagesTogether(t *testing.T) {
	h, _ := servers(t)
	p := oaitest.New(t, oaitest.Records(25), oaitest.Faults{PageSize: 10})
	src := sources.Source{ID: "pair", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: p.URL, MetadataPrefix: "oai_dc"}}
	env := activityEnv(h)
	v, err := env.ExecuteActivity(h.FetchPages, PageInput{Source: src, HarvestID: "hp", Page: 1, Pages: 3})
	var fetched FetchBatch
	if err == nil {
		err = v.Get(&fetched)
	}
	if err != nil || len(fetched.Pages) != 3 {
		t.Fatalf("fetch: %+v, %v", fetched, err)
	}
	keys := []string{fetched.Pages[0].RawKey, fetched.Pages[1].RawKey, fetched.Pages[2].RawKey}
	v, err = env.ExecuteActivity(h.ProcessPage, PageInput{Source: src, HarvestID: "hp", Page: 1, RawKeys: keys})
	var res PageResult
	if err == nil {
		err = v.Get(&res)
	}
	if err != nil || res.Counts.Records != 25 || res.Counts.Indexed != 25 {
		t.Fatalf("three pages together: %+v, %v", res.Counts, err)
	}
	ctx := context.Background()
	if err := h.Index.Refresh(ctx, esindex.Catalog); err != nil {
		t.Fatal(err)
	}
	if n, err := h.Index.Count(ctx, esindex.Catalog); err != nil || n != 25 {
		t.Errorf("the catalog holds %d documents (%v), want 25", n, err)
	}
	// The second of a pair is not kept: the first is written and the
	// error says so.
	_, err = env.ExecuteActivity(h.ProcessPage, PageInput{Source: src, HarvestID: "hp2", Page: 1,
		RawKeys: []string{keys[0], "runs/none/raw/page-2.xml.gz"}})
	var appErr *temporal.ApplicationError
	var wrote PageResult
	if !errors.As(err, &appErr) || !strings.Contains(appErr.Error(), "page 2") || appErr.Details(&wrote) != nil {
		t.Fatalf("a pair with a missing page: %v", err)
	}
	// Page 1 is as the first harvest left it: unchanged.
	if wrote.Counts.Records != 10 || wrote.Counts.Unchanged != 10 {
		t.Errorf("the failed pair says it wrote %+v, want page 1's 10 records", wrote.Counts)
	}
}

// A page is processed from what its fetch parsed, on the worker that
// fetched it, only for the digest the fetch reported and only once; else
// from what S3 holds.
func TestProcessPageFromWhatTheFetchParsed(t *testing.T) {
	h, _ := servers(t)
	p := oaitest.New(t, oaitest.Records(25), oaitest.Faults{PageSize: 10})
	src := sources.Source{ID: "parsed", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: p.URL, MetadataPrefix: "oai_dc"}}
	env := activityEnv(h)
	ctx := context.Background()
	fetch := func(harvest string) FetchResult {
		t.Helper()
		v, err := env.ExecuteActivity(h.FetchPages, PageInput{Source: src, HarvestID: harvest, Page: 1, Pages: 1})
		var fetched FetchBatch
		if err == nil {
			err = v.Get(&fetched)
		}
		if err != nil || len(fetched.Pages) != 1 || fetched.Pages[0].Digest == "" {
			t.Fatalf("fetch: %+v, %v", fetched, err)
		}
		// What S3 holds under the key is no page at all now.
		if err := h.Store.Put(ctx, fetched.Pages[0].RawKey, []byte("not a page"), "text/xml"); err != nil {
			t.Fatal(err)
		}
		return fetched.Pages[0]
	}
	process := func(harvest string, page FetchResult, digest string) (PageResult, error) {
		v, err := env.ExecuteActivity(h.ProcessPage, PageInput{Source: src, HarvestID: harvest, Page: 1, RawKey: page.RawKey, RawDigest: digest})
		var res PageResult
		if err == nil {
			err = v.Get(&res)
		}
		return res, err
	}
	page := fetch("pp1")
	if res, err := process("pp1", page, page.Digest); err != nil || res.Counts.Records != 10 || res.Counts.Indexed != 10 {
		t.Fatalf("processed from what the fetch parsed: %+v, %v", res.Counts, err)
	}
	// Once: a retry reads S3.
	if _, err := process("pp1", page, page.Digest); err == nil {
		t.Error("the page was processed a second time from memory, not from S3")
	}
	// Another attempt's digest: S3.
	page = fetch("pp2")
	if _, err := process("pp2", page, "another attempt's digest"); err == nil {
		t.Error("a page was processed from memory for another digest")
	}
}

func TestParsedPagesStayWithinBudget(t *testing.T) {
	var p parsedPages
	record := oaipmh.Record{Metadata: make([]byte, 1<<20)}
	page := slices.Repeat([]oaipmh.Record{record}, 4) // 4 MiB
	for i := range 20 {
		p.put(fmt.Sprint(i), "d", page)
	}
	if p.bytes > parsedPagesBudget {
		t.Errorf("%d bytes held, budget %d", p.bytes, parsedPagesBudget)
	}
	if _, ok := p.take("0", "d"); ok {
		t.Error("the oldest page outlived the budget")
	}
	if recs, ok := p.take("19", "d"); !ok || len(recs) != 4 {
		t.Errorf("the newest page: %d records, %v", len(recs), ok)
	}
	// A page larger than a quarter of the budget is not held.
	p.put("big", "d", slices.Repeat([]oaipmh.Record{record}, 9))
	if _, ok := p.take("big", "d"); ok {
		t.Error("a page of 9 MiB was held")
	}
	held := p.bytes
	for k := range p.pages {
		p.take(k, "d")
	}
	if p.bytes != 0 || len(p.order) != 0 || held == 0 {
		t.Errorf("after taking all: %d bytes, %d keys (held %d)", p.bytes, len(p.order), held)
	}
}
