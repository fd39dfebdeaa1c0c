package e2e

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// fast makes retries and timeouts short enough for tests.
var fast = workflows.HarvestOptions{Timeouts: workflows.Timeouts{RetryBase: 50 * time.Millisecond, Heartbeat: 20 * time.Second, Page: time.Minute}}

func oaiSource(id string, p *oaitest.Provider, sets ...string) sources.Source {
	return sources.Source{ID: id, Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{
		URL: p.URL, MetadataPrefix: "oai_dc", Sets: sets, Timeout: sources.Duration(2 * time.Second),
	}}
}

func with(o workflows.HarvestOptions, f func(*workflows.HarvestOptions)) workflows.HarvestOptions {
	f(&o)
	return o
}

// fail runs a harvest that must fail, returning its error and report.
func (f *fixture) fail(t *testing.T, src sources.Source, o workflows.HarvestOptions) (error, bucket.Report) {
	t.Helper()
	run, err := f.clients.StartHarvest(f.ctx, src, o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err = run.Result(f.ctx); err == nil {
		t.Fatalf("harvest of %s succeeded", src.ID)
	}
	var rep bucket.Report
	if gerr := f.clients.Store.GetJSON(f.ctx, bucket.LatestReportKey(src.ID, o.Set), &rep); gerr != nil {
		t.Fatal(gerr)
	}
	if rep.Status != bucket.StatusFailed {
		t.Errorf("report status %q after a failure", rep.Status)
	}
	return err, rep
}

// A 503 with Retry-After is honoured: the next attempt waits that long.
func TestRetryAfterIsHonoured(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(12), oaitest.Faults{PageSize: 5, Unavailable: []int{2}, RetryAfter: 2 * time.Second})
	res := f.harvest(t, oaiSource("ratelimit", p), fast)
	if res.Counts.Records != 12 || res.Counts.Indexed != 12 {
		t.Errorf("counts %+v", res.Counts)
	}
	reqs, times := p.Requests(), p.Times()
	// Identify, page 1, page 2 refused, page 2 again, page 3.
	var refused, retried time.Time
	for i, r := range reqs {
		if strings.HasPrefix(r, "ListRecords resumptionToken=") {
			if refused.IsZero() {
				refused = times[i]
			} else if retried.IsZero() {
				retried = times[i]
			}
		}
	}
	if gap := retried.Sub(refused); gap < 2*time.Second {
		t.Errorf("retried %s after a Retry-After of 2s", gap)
	}
}

// A response slower than the source's timeout is abandoned and fetched again.
func TestSlowResponseTimesOut(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(8), oaitest.Faults{PageSize: 4, Slow: []int{2}, SlowDelay: 10 * time.Second})
	start := time.Now()
	res := f.harvest(t, oaiSource("slow", p), fast)
	if res.Counts.Records != 8 || p.Lists() != 3 {
		t.Errorf("counts %+v after %d list requests", res.Counts, p.Lists())
	}
	if took := time.Since(start); took > 9*time.Second {
		t.Errorf("took %s: the 2s timeout did not cut the slow response", took)
	}
}

// A truncated page is fetched again; nothing is lost or doubled.
func TestTruncatedPageIsFetchedAgain(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(12), oaitest.Faults{PageSize: 5, Truncate: []int{2}})
	res := f.harvest(t, oaiSource("trunc", p), fast)
	if res.Counts.Records != 12 || res.Counts.Indexed != 12 || res.Counts.Salvaged != 0 {
		t.Errorf("counts %+v", res.Counts)
	}
	if n := f.count(t); n != 12 {
		t.Errorf("%d documents, want 12", n)
	}
}

// A page that stays malformed is taken apart: its records come one by one
// through GetRecord, and the list goes on with its token.
func TestUnparsablePageIsSalvagedRecordByRecord(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(12), oaitest.Faults{PageSize: 4, BrokenRecord: "oai:test:6"})
	res := f.harvest(t, oaiSource("broken", p), fast)
	if res.Counts.Salvaged != 4 || res.Counts.Indexed != 12 || res.Counts.Quarantined != 0 {
		t.Errorf("counts %+v: want page 2's 4 records salvaged and all 12 indexed", res.Counts)
	}
	if gets := p.CountRequests("GetRecord"); gets != 4 {
		t.Errorf("%d GetRecord requests, want 4", gets)
	}
}

// Forbidden characters are dropped and counted; the records are indexed.
func TestControlCharactersAreRepaired(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(6), oaitest.Faults{PageSize: 10, ControlChars: true})
	res := f.harvest(t, oaiSource("ctrl", p), fast)
	if res.Counts.Indexed != 6 || res.Counts.Repaired != 12 {
		t.Errorf("counts %+v: want 6 indexed and 12 characters repaired", res.Counts)
	}
}

// An expired resumption token restarts the window; every record is kept
// once.
func TestExpiredTokenRestartsTheWindow(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(15), oaitest.Faults{PageSize: 4, ExpireTokenAfterPage: 2})
	res := f.harvest(t, oaiSource("expire", p), fast)
	if n := f.count(t); n != 15 {
		t.Errorf("%d documents, want 15", n)
	}
	if res.Counts.Indexed < 15 {
		t.Errorf("counts %+v", res.Counts)
	}
	if restarted := p.CountRequests("ListRecords metadataPrefix="); restarted != 2 {
		t.Errorf("the list was started %d times, want 2 (once more after the refusal)", restarted)
	}
}

func TestLoopingTokenStops(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(30), oaitest.Faults{PageSize: 3, RepeatTokenAtPage: 4})
	err, rep := f.fail(t, oaiSource("loop", p), fast)
	if !strings.Contains(err.Error(), "repeated resumption token") || !strings.Contains(rep.Error, "loops") {
		t.Errorf("error %v; report %q", err, rep.Error)
	}
}

func TestEndlessEmptyPagesStop(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(3), oaitest.Faults{EmptyPagesForever: true})
	err, _ := f.fail(t, oaiSource("empty", p), with(fast, func(o *workflows.HarvestOptions) { o.Limits.MaxEmptyPages = 5 }))
	if !strings.Contains(err.Error(), "5 empty pages in a row") || p.Lists() != 5 {
		t.Errorf("error %v after %d requests", err, p.Lists())
	}
}

func TestRequestCapStops(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(20), oaitest.Faults{PageSize: 2})
	err, _ := f.fail(t, oaiSource("cap", p), with(fast, func(o *workflows.HarvestOptions) { o.Limits.MaxRequests = 4 }))
	if !strings.Contains(err.Error(), "stopped after 4 requests") || p.Lists() != 4 {
		t.Errorf("error %v after %d requests", err, p.Lists())
	}
}

// Incremental by default: the second harvest starts at the first one's
// responseDate, in the provider's granularity, and sees only what changed.
func TestIncrementalHarvestFromWatermark(t *testing.T) {
	for _, day := range []bool{false, true} {
		t.Run(map[bool]string{false: "seconds", true: "days"}[day], func(t *testing.T) {
			f := newFixture(t)
			recs := oaitest.Records(10)
			p := oaitest.New(t, recs, oaitest.Faults{PageSize: 4, DayGranularity: day})
			src := oaiSource("incr", p)
			if res := f.harvest(t, src, fast); res.Counts.Records != 10 {
				t.Fatalf("first harvest: %+v", res.Counts)
			}
			var wm bucket.Watermark
			if err := f.clients.Store.GetJSON(f.ctx, bucket.WatermarkKey("incr", ""), &wm); err != nil {
				t.Fatal(err)
			}
			// One record changes after the first harvest.
			changed := time.Now().UTC().Add(time.Hour)
			stamp := changed.Format("2006-01-02T15:04:05Z")
			if day {
				stamp = stamp[:10]
			}
			p.Repo.Records[3].Header.Datestamp = stamp
			res := f.harvest(t, src, fast)
			reqs := p.Requests()
			var first string
			for _, r := range reqs {
				if strings.HasPrefix(r, "ListRecords metadataPrefix=oai_dc from=") {
					first = r
				}
			}
			wantFrom := wm.ResponseDate
			if day {
				wantFrom = wm.ResponseDate[:10]
			}
			if !strings.Contains(first, "from="+wantFrom) {
				t.Errorf("second harvest asked %q, want from=%s", first, wantFrom)
			}
			if day {
				// Day granularity overlaps by a day: today's records come again.
				if res.Counts.Records < 1 {
					t.Errorf("second harvest: %+v", res.Counts)
				}
			} else if res.Counts.Records != 1 {
				t.Errorf("second harvest saw %d records, want the 1 that changed", res.Counts.Records)
			}
		})
	}
}

// A record in two sets is one record.
func TestRecordInTwoSetsIsOneRecord(t *testing.T) {
	f := newFixture(t)
	var recs []oaipmh.Record
	for i := 1; i <= 9; i++ {
		var sets []string
		if i <= 6 {
			sets = append(sets, "kunst")
		}
		if i >= 4 {
			sets = append(sets, "geschiedenis")
		}
		recs = append(recs, oaitest.Record(i, "2026-01-01T00:00:00Z", sets...))
	}
	p := oaitest.New(t, recs, oaitest.Faults{PageSize: 4})
	run, err := f.clients.StartHarvest(f.ctx, oaiSource("twosets", p, "kunst", "geschiedenis"), workflows.HarvestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := run.Result(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Multi || res.Counts.Records != 12 {
		t.Errorf("sets harvested in turn: multi %v, %d records (6 + 6)", run.Multi, res.Counts.Records)
	}
	if n := f.count(t); n != 9 {
		t.Errorf("%d documents, want 9", n)
	}
	if n := len(f.keys(t, "records/twosets/")); n != 9 {
		t.Errorf("%d records in S3, want 9", n)
	}
	for _, set := range []string{"kunst", "geschiedenis"} {
		st, err := f.clients.HarvestStatus(f.ctx, "twosets", set)
		if err != nil || st.Status != "completed" {
			t.Errorf("set %s: %+v %v", set, st, err)
		}
	}
}

// For a provider without deletion support a full harvest deletes the
// records it no longer lists, but not more than 15% without permission.
func TestFullHarvestSweepsAndGuardsMassDeletes(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(20), oaitest.Faults{PageSize: 6, DeletedRecord: "no"})
	src := oaiSource("sweep", p)
	full := with(fast, func(o *workflows.HarvestOptions) { o.Full = true })
	f.harvest(t, src, full)
	if n := f.count(t); n != 20 {
		t.Fatalf("%d documents after the first harvest", n)
	}
	drop := func(n int) {
		p.Repo.Records = p.Repo.Records[:len(p.Repo.Records)-n]
	}
	drop(2) // 10%
	if res := f.harvest(t, src, full); res.Counts.Swept != 2 {
		t.Errorf("swept %d, want 2", res.Counts.Swept)
	}
	if n := f.count(t); n != 18 {
		t.Errorf("%d documents, want 18", n)
	}
	drop(5) // 28% of 18
	err, rep := f.fail(t, src, full)
	if !strings.Contains(err.Error(), "refusing to delete 5 of the 18 records") || !strings.Contains(rep.Error, "--allow-mass-delete") {
		t.Errorf("error %v", err)
	}
	if n := f.count(t); n != 18 {
		t.Errorf("%d documents after the refusal, want 18 still", n)
	}
	res := f.harvest(t, src, with(full, func(o *workflows.HarvestOptions) { o.AllowMassDelete = true }))
	if res.Counts.Swept != 5 {
		t.Errorf("swept %d with permission, want 5", res.Counts.Swept)
	}
	if n := f.count(t); n != 13 {
		t.Errorf("%d documents, want 13", n)
	}
}

// A harvest of a window the operator chose leaves the watermark where it
// was: the next incremental harvest still starts there and misses nothing
// that changed in between.
func TestManualWindowKeepsWatermark(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(10), oaitest.Faults{PageSize: 4})
	src := oaiSource("window", p)
	f.harvest(t, src, fast)
	var before bucket.Watermark
	if err := f.clients.Store.GetJSON(f.ctx, bucket.WatermarkKey("window", ""), &before); err != nil {
		t.Fatal(err)
	}
	// A record changes after the first harvest, before the manual one.
	time.Sleep(1100 * time.Millisecond)
	p.Repo.Records[3].Header.Datestamp = time.Now().UTC().Format("2006-01-02T15:04:05Z")
	time.Sleep(1100 * time.Millisecond)
	past := with(fast, func(o *workflows.HarvestOptions) { o.From, o.Until = "2026-01-01T00:00:00Z", "2026-01-01T00:02:00Z" })
	if res := f.harvest(t, src, past); res.Counts.Records != 2 {
		t.Fatalf("manual window harvested %d records, want 2", res.Counts.Records)
	}
	var after bucket.Watermark
	if err := f.clients.Store.GetJSON(f.ctx, bucket.WatermarkKey("window", ""), &after); err != nil || after != before {
		t.Errorf("a manual window moved the watermark from %+v to %+v (%v)", before, after, err)
	}
	if res := f.harvest(t, src, fast); res.Counts.Records != 1 {
		t.Errorf("the incremental harvest after the manual one saw %d records, want the 1 that changed", res.Counts.Records)
	}
	var last bucket.Watermark
	if err := f.clients.Store.GetJSON(f.ctx, bucket.WatermarkKey("window", ""), &last); err != nil || last.ResponseDate <= before.ResponseDate {
		t.Errorf("an incremental harvest did not move the watermark: %+v (%v)", last, err)
	}
}

// A page of real size (about 150 KB, 60 records) with one malformed
// record: the whole response is kept, salvage finds every identifier and
// the token in it, the bad record is quarantined and the list goes on.
func TestSalvageOfALargePage(t *testing.T) {
	f := newFixture(t)
	recs := oaitest.Records(70)
	text := strings.Repeat("Een lange beschrijving van een fragment over fietsen in de stad. ", 36)
	for i := range recs {
		recs[i].Metadata = bytes.Replace(recs[i].Metadata, []byte("<dc:type>"), []byte("<dc:description>"+text+"</dc:description><dc:type>"), 1)
	}
	p := oaitest.New(t, recs, oaitest.Faults{PageSize: 60, BrokenRecord: "oai:test:45", BrokenAlone: true})
	res := f.harvest(t, oaiSource("bigpage", p), fast)
	if res.Counts.Records != 70 || res.Counts.Salvaged != 60 || res.Counts.Indexed != 69 || res.Counts.Quarantined != 1 || res.Counts.Pages != 2 {
		t.Errorf("counts %+v: want 70 records over 2 pages, the first 60 salvaged, 69 indexed, 1 quarantined", res.Counts)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "bigpage"})
	if err != nil || len(q) != 1 || q[0].Identifier != "oai:test:45" || q[0].Kind != "unreadable" {
		t.Fatalf("quarantine %+v, %v", q, err)
	}
	raw, err := f.clients.Store.GetGzip(f.ctx, strings.TrimPrefix(q[0].RawPage, f.clients.Store.URI("")))
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) < 100_000 || !bytes.Contains(raw, []byte("</OAI-PMH>")) {
		t.Errorf("the raw page kept %d bytes, not the whole response", len(raw))
	}
}

// During salvage a record GetRecord does not know, and one it keeps
// failing for, are quarantined with the reason; the run goes on.
func TestSalvageQuarantinesWhatGetRecordCannotGive(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(12), oaitest.Faults{PageSize: 4, BrokenRecord: "oai:test:6",
		MissingRecord: "oai:test:7", UnavailableRecord: "oai:test:8"})
	res := f.harvest(t, oaiSource("salvage", p), fast)
	if res.Counts.Records != 12 || res.Counts.Indexed != 10 || res.Counts.Quarantined != 2 || res.Counts.Salvaged != 4 {
		t.Errorf("counts %+v: want 12 records, 10 indexed, 2 quarantined, 4 salvaged", res.Counts)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "salvage"})
	if err != nil || len(q) != 2 {
		t.Fatalf("quarantine %+v, %v", q, err)
	}
	why := map[string]string{}
	for _, e := range q {
		why[e.Identifier] = strings.Join(e.Errors, " ")
	}
	if !strings.Contains(why["oai:test:7"], "idDoesNotExist") || !strings.Contains(why["oai:test:8"], "3 attempts") {
		t.Errorf("reasons %v", why)
	}
	n := 0
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, "GetRecord") && strings.HasSuffix(r, "identifier=oai:test:8") {
			n++
		}
	}
	if n != 3 {
		t.Errorf("%d GetRecord requests for the failing record, want 3", n)
	}
}

// Two sources on one provider, harvested at the same time: the provider
// never answers two requests at once, and both harvests complete.
func TestOneRequestAtATimePerProvider(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(12, "a", "b"), oaitest.Faults{PageSize: 3, Slow: []int{1, 2, 3, 4, 5, 6, 7, 8}, SlowDelay: 150 * time.Millisecond})
	var runs []*workflows.HarvestRun
	for _, id := range []string{"polite1", "polite2"} {
		run, err := f.clients.StartHarvest(f.ctx, oaiSource(id, p), fast)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, run)
	}
	for _, run := range runs {
		res, err := run.Result(f.ctx)
		if err != nil || res.Counts.Records != 12 {
			t.Fatalf("harvest of %s: %+v, %v", run.Source, res.Counts, err)
		}
	}
	if n := p.MaxInFlight(); n != 1 {
		t.Errorf("the provider answered %d requests at once, want 1", n)
	}
}

// A run that fails on a page that wrote records before it broke counts
// them: the report says what S3 and the indices hold.
func TestFailedRunCountsWhatItWrote(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(12), oaitest.Faults{PageSize: 4, Truncate: []int{2, 3, 4, 5, 6, 7, 8, 9, 10}})
	err, rep := f.fail(t, oaiSource("partial", p), fast)
	if err == nil || rep.Status != bucket.StatusFailed {
		t.Fatalf("want a failed run, got %v, report %+v", err, rep)
	}
	docs, records := f.count(t), len(f.keys(t, "records/partial/"))
	if docs <= 4 {
		t.Fatalf("the broken page wrote nothing before it broke (%d documents): the test proves nothing", docs)
	}
	if rep.Counts.Indexed != docs || records != docs {
		t.Errorf("the report counts %d indexed; the catalog holds %d, S3 %d records", rep.Counts.Indexed, docs, records)
	}
}

// While a provider keeps refusing, the status says so: the step tried
// again, its attempt, the last error and when the next try comes.
func TestRetriesAreVisible(t *testing.T) {
	f := newFixture(t)
	p := oaitest.New(t, oaitest.Records(4), oaitest.Faults{PageSize: 5, Unavailable: []int{1, 2, 3, 4, 5, 6, 7, 8}, RetryAfter: 2 * time.Second})
	run, err := f.clients.StartHarvest(f.ctx, oaiSource("refusing", p), fast)
	if err != nil {
		t.Fatal(err)
	}
	var st *workflows.HarvestState
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st, err = f.clients.HarvestStatus(f.ctx, "refusing", "")
		if err == nil && st.Retry != nil && st.Retry.Attempt >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no retry shown: %+v, %v", st, err)
		}
	}
	r := st.Retry
	if r.Activity != "FetchPages" || !strings.Contains(r.LastError, "503") || !strings.Contains(r.LastError, "attempt") {
		t.Errorf("retry %+v", r)
	}
	if _, err := f.clients.CancelHarvest(f.ctx, "refusing", ""); err != nil {
		t.Fatal(err)
	}
	_ = run.Get(f.ctx, nil)
}
