package workflows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

var src = sources.Source{ID: "s1", Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: "http://127.0.0.1/oai", MetadataPrefix: "oai_dc"}}

// newTestEnv is a workflow test environment that logs nothing.
func newTestEnv() *testsuite.TestWorkflowEnvironment {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler)))
	return s.NewTestWorkflowEnvironment()
}

func newEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *activities.Harvest) {
	env := newTestEnv()
	h := &activities.Harvest{}
	env.RegisterActivity(h)
	env.OnActivity(h.PrepareHarvest, mock.Anything, mock.Anything).Return(
		activities.PrepareResult{Granularity: activities.SecondsGranularity, DeletedRecord: "persistent", Complete: true}, nil).Maybe()
	grantAll(env, h)
	return env, h
}

// grantAll answers every request for a provider place at once, as an idle
// host's lock does.
func grantAll(env *testsuite.TestWorkflowEnvironment, h *activities.Harvest) {
	env.OnActivity(h.AskProvider, mock.Anything, mock.Anything).Return(func(_ context.Context, ask activities.LockAsk) error {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(GrantedSignal, ask.Ticket) }, 0)
		return nil
	}).Maybe()
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, ReleaseSignal, mock.Anything).Return(nil).Maybe()
}

// pages makes FetchPages answer with n pages of 10 records in all, as
// many a call as asked, and ProcessPage write each with 1 quarantined.
func pages(env *testsuite.TestWorkflowEnvironment, h *activities.Harvest, n int, seen *[]activities.PageInput) {
	fetches(env, h, func(in activities.PageInput) (activities.FetchResult, error) {
		*seen = append(*seen, in)
		next := ""
		if in.Page < n {
			next = "token-" + string(rune('0'+in.Page))
		}
		return activities.FetchResult{RawKey: fmt.Sprintf("raw/page-%d", in.Page), Records: 10, Next: next, ResponseDate: "2026-11-01T00:00:00Z"}, nil
	})
	processes(env, h, nil)
}

// fetches makes FetchPages answer page by page with page, following the
// list as the activity does: up to in.Pages pages, until the list ends or
// a page is empty; an error on a later page ends the batch with it
// described.
func fetches(env *testsuite.TestWorkflowEnvironment, h *activities.Harvest, page func(activities.PageInput) (activities.FetchResult, error)) {
	env.OnActivity(h.FetchPages, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.FetchBatch, error) {
			var out activities.FetchBatch
			for {
				p, err := page(in)
				if err != nil {
					if len(out.Pages) == 0 {
						return out, err
					}
					f := &activities.PageFailure{Message: err.Error()}
					var appErr *temporal.ApplicationError
					if errors.As(err, &appErr) {
						f.Type, f.NonRetryable = appErr.Type(), appErr.NonRetryable()
					}
					out.Failure = f
					return out, nil
				}
				out.Pages = append(out.Pages, p)
				if p.Next == "" || p.Records == 0 || len(out.Pages) >= max(in.Pages, 1) {
					return out, nil
				}
				in.Page++
				in.Cursor = p.Next
			}
		})
}

// processes makes ProcessPage write each page's 10 records, 1
// quarantined, and fail the pages fail names; a failure of pages processed
// together carries what the others wrote, as the activity's does.
func processes(env *testsuite.TestWorkflowEnvironment, h *activities.Harvest, fail map[int]error) {
	env.OnActivity(h.ProcessPage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			keys := in.RawKeys
			if len(keys) == 0 {
				keys = []string{in.RawKey}
			}
			var sum activities.PageResult
			var failed error
			for i, key := range keys {
				page := in.Page + i
				if key != fmt.Sprintf("raw/page-%d", page) {
					return activities.PageResult{}, fmt.Errorf("page %d processes %q", page, key)
				}
				if err := fail[page]; err != nil {
					failed = err
					continue
				}
				sum.Counts.Add(bucket.Counts{Records: 10, Indexed: 9, Quarantined: 1})
				sum.Quarantine = bucket.MergeQuarantine(sum.Quarantine, map[string]bucket.KindSummary{
					"invalid: missing-title": {Count: 1, Examples: []bucket.QuarantineRef{{Key: "q", Kind: "invalid", Reason: "empty title"}}}})
			}
			if failed != nil {
				var appErr *temporal.ApplicationError
				if errors.As(failed, &appErr) {
					return activities.PageResult{}, temporal.NewApplicationErrorWithOptions(appErr.Message(), appErr.Type(),
						temporal.ApplicationErrorOptions{NonRetryable: appErr.NonRetryable(), Details: []any{sum}})
				}
				return activities.PageResult{}, failed
			}
			return sum, nil
		})
}

func TestHarvestPagesAndReports(t *testing.T) {
	env, h := newEnv(t)
	var seen []activities.PageInput
	pages(env, h, 3, &seen)
	var report bucket.Report
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r bucket.Report) (activities.FinishResult, error) {
			report = r
			return activities.FinishResult{ReportKey: "reports/s1/_all/h.json"}, nil
		})
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res HarvestResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := bucket.Counts{Pages: 3, Records: 30, Indexed: 27, Quarantined: 3}
	if res.Counts != want || res.ReportKey != "reports/s1/_all/h.json" {
		t.Errorf("result %+v", res)
	}
	if report.Status != bucket.StatusCompleted || report.Counts != want || report.Quarantine["invalid: missing-title"].Count != 3 || report.ResponseDate != "2026-11-01T00:00:00Z" {
		t.Errorf("report %+v", report)
	}
	// Each page asked for the token the previous one returned.
	if len(seen) != 3 || seen[0].Cursor != "" || seen[1].Cursor != "token-1" || seen[2].Cursor != "token-2" || seen[2].Page != 3 {
		t.Errorf("page inputs %+v", seen)
	}
}

func TestHarvestContinuesAsNew(t *testing.T) {
	env, h := newEnv(t)
	var seen []activities.PageInput
	pages(env, h, 5, &seen)
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h", Limits: Limits{MaxPagesPerRun: 2}})
	err := env.GetWorkflowError()
	var can *workflow.ContinueAsNewError
	if !errors.As(err, &can) {
		t.Fatalf("want continue-as-new after 2 pages, got %v", err)
	}
	var next HarvestInput
	if err := (converterFor()).FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Page != 2 || next.Cursor != "token-2" || next.Counts.Records != 20 || next.HarvestID != "h" || next.StartedAt.IsZero() {
		t.Errorf("continued with %+v", next)
	}
	if len(seen) != 2 {
		t.Errorf("%d pages in the first run, want 2", len(seen))
	}
}

func TestHarvestRestartsWindowOnBadToken(t *testing.T) {
	env, h := newEnv(t)
	var seen []activities.PageInput
	// The provider refuses token t1 until the window starts again.
	starts := 0
	fetches(env, h, func(in activities.PageInput) (activities.FetchResult, error) {
		seen = append(seen, in)
		page := activities.FetchResult{RawKey: fmt.Sprintf("raw/page-%d", in.Page), Records: 10}
		switch {
		case in.Cursor == "":
			starts++
			page.Next = "t1"
		case starts == 1:
			return activities.FetchResult{}, temporal.NewNonRetryableApplicationError("expired", activities.ErrBadResumptionToken, nil)
		}
		return page, nil
	})
	processes(env, h, nil)
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(activities.FinishResult{ReportKey: "k"}, nil)
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	// The refusal is met once, in the first batch, and not asked again.
	if starts != 2 || seen[len(seen)-1].Cursor != "t1" || len(seen) != 4 {
		t.Fatalf("want the window restarted without a token after the refusal: %+v", seen)
	}
}

// A run that fails writes a failed report and returns the error: it never
// reports success.
func TestHarvestFailureIsReported(t *testing.T) {
	env, h := newEnv(t)
	env.OnActivity(h.FetchPages, mock.Anything, mock.Anything).Return(activities.FetchBatch{},
		temporal.NewNonRetryableApplicationError("OAI-PMH error cannotDisseminateFormat", "OAI-cannotDisseminateFormat", nil))
	var report bucket.Report
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r bucket.Report) (activities.FinishResult, error) {
			report = r
			return activities.FinishResult{ReportKey: "k"}, nil
		})
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h"})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("the workflow succeeded after a permanent failure")
	}
	if report.Status != bucket.StatusFailed || report.Error == "" {
		t.Errorf("report %+v", report)
	}
}

// A page that fails to be written ends the run: no page is fetched after
// the failure is known, the pages being written are counted, and the
// report says failed.
func TestHarvestProcessFailureEndsTheRun(t *testing.T) {
	env, h := newEnv(t)
	var seen []activities.PageInput
	fetches(env, h, func(in activities.PageInput) (activities.FetchResult, error) {
		seen = append(seen, in)
		return activities.FetchResult{RawKey: fmt.Sprintf("raw/page-%d", in.Page), Records: 10, Next: fmt.Sprintf("t%d", in.Page)}, nil
	})
	processes(env, h, map[int]error{2: temporal.NewNonRetryableApplicationError("store refused", "Denied", nil)})
	var report bucket.Report
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r bucket.Report) (activities.FinishResult, error) {
			report = r
			return activities.FinishResult{ReportKey: "k"}, nil
		})
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h", Limits: Limits{MaxPagesPerRun: 1000, MaxRequests: 1000}})
	if err := env.GetWorkflowError(); err == nil || !strings.Contains(err.Error(), "store refused") {
		t.Fatalf("want the run failed by page 2, got %v", err)
	}
	if report.Status != bucket.StatusFailed || report.Counts.Pages != len(seen) || report.Counts.Records != 10*(len(seen)-1) {
		t.Errorf("report %+v after %d pages fetched", report, len(seen))
	}
	// Pages are fetched a batch ahead of the writes; once the failure is
	// known the fetching stops, where the list would go on to page 1,000.
	// When it is known depends on when the test environment delivers the
	// failed activity's result (a batch or a few later under load).
	if len(seen) > 12*fetchAhead*sources.DefaultOAIParallel {
		t.Errorf("%d pages fetched: fetching went on after page 2 failed", len(seen))
	}
}

func TestHarvestStatusQuery(t *testing.T) {
	env, h := newEnv(t)
	var seen []activities.PageInput
	pages(env, h, 2, &seen)
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(activities.FinishResult{ReportKey: "k"}, nil)
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, Set: "kunst", HarvestID: "h"})
	v, err := env.QueryWorkflow(StatusQuery)
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := v.Get(&st); err != nil {
		t.Fatal(err)
	}
	if st.State != bucket.StatusCompleted || st.Page != 2 || st.Counts.Records != 20 || st.Set != "kunst" {
		t.Errorf("status %+v", st)
	}
}

func TestWorkflowID(t *testing.T) {
	if got := HarvestWorkflowID("vrt", ""); got != "harvest:vrt/*" {
		t.Error(got)
	}
	if got := HarvestWorkflowID("vrt", "kunst"); got != "harvest:vrt/kunst" {
		t.Error(got)
	}
}

func converterFor() converter.DataConverter { return converter.GetDefaultDataConverter() }

// Only a run from the watermark (or the beginning) to the present moves
// the watermark.
func TestWatermarkMovesOnlyForRunsToThePresent(t *testing.T) {
	for _, c := range []struct {
		name string
		prep activities.PrepareResult
		want string
	}{
		{"complete", activities.PrepareResult{Complete: true}, "2026-11-01T00:00:00Z"},
		{"from the watermark", activities.PrepareResult{From: "2026-10-01T00:00:00Z", FromWatermark: true}, "2026-11-01T00:00:00Z"},
		{"manual from", activities.PrepareResult{From: "2026-10-15T00:00:00Z"}, ""},
		{"until", activities.PrepareResult{From: "2026-10-01T00:00:00Z", FromWatermark: true, Until: "2026-10-20T00:00:00Z"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := newTestEnv()
			h := &activities.Harvest{}
			env.RegisterActivity(h)
			grantAll(env, h)
			c.prep.Granularity = activities.SecondsGranularity
			env.OnActivity(h.PrepareHarvest, mock.Anything, mock.Anything).Return(c.prep, nil)
			var seen []activities.PageInput
			pages(env, h, 1, &seen)
			var report bucket.Report
			env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(
				func(_ context.Context, r bucket.Report) (activities.FinishResult, error) {
					report = r
					return activities.FinishResult{ReportKey: "k"}, nil
				})
			env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h"})
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if report.Watermark != c.want {
				t.Errorf("watermark %q, want %q", report.Watermark, c.want)
			}
		})
	}
}

// Fetched pages are processed up to four by one activity, so that two
// activities run at once, never held for the next batch, each page
// exactly once; a set that processes fewer than four at once gets one
// page an activity.
func TestHarvestProcessesFetchedPagesTogether(t *testing.T) {
	for _, c := range []struct {
		parallel, pages, batches int
		want                     [][]int // the pages of each ProcessPage
	}{
		{parallel: 8, pages: 19, want: [][]int{{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}, {13, 14, 15, 16}, {17, 18, 19}}},
		{parallel: 4, pages: 19, want: [][]int{{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}, {13, 14}, {15, 16}, {17, 18}, {19}}},
		{parallel: 2, pages: 3, want: [][]int{{1}, {2}, {3}}},
	} {
		env, h := newEnv(t)
		s := src
		oai := *src.OAI
		oai.Parallel = c.parallel
		s.OAI = &oai
		var seen []activities.PageInput
		fetches(env, h, func(in activities.PageInput) (activities.FetchResult, error) {
			seen = append(seen, in)
			next := ""
			if in.Page < c.pages {
				next = fmt.Sprintf("t%d", in.Page)
			}
			return activities.FetchResult{RawKey: fmt.Sprintf("raw/page-%d", in.Page), Records: 10, Next: next}, nil
		})
		var got [][]int
		env.OnActivity(h.ProcessPage, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
				keys := in.RawKeys
				if len(keys) == 0 {
					keys = []string{in.RawKey}
				}
				var pages []int
				for i, k := range keys {
					if k != fmt.Sprintf("raw/page-%d", in.Page+i) {
						t.Errorf("page %d is given %s", in.Page+i, k)
					}
					pages = append(pages, in.Page+i)
				}
				got = append(got, pages)
				return activities.PageResult{Counts: bucket.Counts{Records: 10 * len(keys), Indexed: 10 * len(keys)}}, nil
			})
		var report bucket.Report
		env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(
			func(_ context.Context, r bucket.Report) (activities.FinishResult, error) {
				report = r
				return activities.FinishResult{ReportKey: "k"}, nil
			})
		env.ExecuteWorkflow(Harvest, HarvestInput{Source: s, HarvestID: "h", Limits: Limits{MaxPagesPerRun: 100}})
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(got, func(a, b []int) int { return a[0] - b[0] })
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("parallel %d: pages processed together %v, want %v", c.parallel, got, c.want)
		}
		if report.Counts.Pages != c.pages || report.Counts.Records != 10*c.pages || report.Counts.Indexed != 10*c.pages {
			t.Errorf("parallel %d: counts %+v of %d pages", c.parallel, report.Counts, c.pages)
		}
	}
}

// The next batch is fetched while the last one's pages are processed: a
// page that waits for the next fetch to begin is not waiting for itself.
// Fetched only once the last page of a batch had begun, as before, the
// pages below would wait in vain.
func TestHarvestFetchesWhileProcessing(t *testing.T) {
	env, h := newEnv(t)
	s := src
	oai := *src.OAI
	oai.Parallel = 2 // a page a ProcessPage, two at once, batches of eight pages
	s.OAI = &oai
	const n, batch = 12, fetchAhead * 2
	nextBatch := make(chan struct{})
	var once sync.Once
	fetches(env, h, func(in activities.PageInput) (activities.FetchResult, error) {
		if in.Page == batch+1 {
			once.Do(func() { close(nextBatch) })
		}
		next := ""
		if in.Page < n {
			next = fmt.Sprintf("t%d", in.Page)
		}
		return activities.FetchResult{RawKey: fmt.Sprintf("raw/page-%d", in.Page), Records: 10, Next: next}, nil
	})
	var mu sync.Mutex
	var inVain []int
	env.OnActivity(h.ProcessPage, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.PageInput) (activities.PageResult, error) {
			if in.Page <= batch {
				select {
				case <-nextBatch:
				case <-time.After(time.Second):
					mu.Lock()
					inVain = append(inVain, in.Page)
					mu.Unlock()
				}
			}
			return activities.PageResult{Counts: bucket.Counts{Records: 10, Indexed: 10}}, nil
		})
	var report bucket.Report
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(
		func(_ context.Context, r bucket.Report) (activities.FinishResult, error) {
			report = r
			return activities.FinishResult{ReportKey: "k"}, nil
		})
	env.SetTestTimeout(time.Minute)
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: s, HarvestID: "h", Limits: Limits{MaxPagesPerRun: 100}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(inVain) > 0 {
		t.Errorf("pages %v of the first batch waited in vain for the next batch to be fetched", inVain)
	}
	if report.Counts.Pages != n || report.Counts.Records != 10*n || report.Counts.Indexed != 10*n {
		t.Errorf("counts %+v of %d pages", report.Counts, n)
	}
}
