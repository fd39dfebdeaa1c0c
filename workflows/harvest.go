// Package workflows holds avo's Temporal workflows: deterministic, free of
// I/O, passing keys and counts between activities.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// StatusQuery is the query that returns a harvest's Status.
const StatusQuery = "status"

// Search attributes that operators filter harvests by.
var (
	SourceAttribute = temporal.NewSearchAttributeKeyKeyword("AvoSource")
	SetAttribute    = temporal.NewSearchAttributeKeyKeyword("AvoSet")
	// OutcomeAttribute is how a harvest ended (bucket.Status...).
	OutcomeAttribute = temporal.NewSearchAttributeKeyKeyword("AvoOutcome")
)

// HarvestWorkflowID is the business key of a harvest of one set: Temporal
// refuses a second running harvest of the same source and set.
func HarvestWorkflowID(source, set string) string {
	if set == "" {
		set = "*"
	}
	return "harvest:" + source + "/" + set
}

// Limits guard a harvest against providers that never finish.
type Limits struct {
	// MaxPagesPerRun forces continue-as-new after that many pages (besides
	// Temporal's own suggestion), which keeps each run's history small.
	MaxPagesPerRun int `json:"max_pages_per_run,omitempty"`
	// MaxRequests stops a harvest that needs more pages than this.
	MaxRequests int `json:"max_requests,omitempty"`
	// MaxEmptyPages stops a harvest after this many empty pages in a row.
	MaxEmptyPages int `json:"max_empty_pages,omitempty"`
}

// Defaults of a harvest.
const (
	DefaultMaxPagesPerRun = 500
	DefaultMaxRequests    = 500_000
	DefaultMaxEmptyPages  = 20
	// maxRestarts bounds how often an expired resumption token restarts
	// the window before the run gives up.
	maxRestarts = 3
	// tokensKept is how many recent resumption tokens are remembered to
	// catch a provider that loops.
	tokensKept = 1000
)

// Timeouts of a page; tests shorten them.
type Timeouts struct {
	Page      time.Duration `json:"page,omitempty"`
	Heartbeat time.Duration `json:"heartbeat,omitempty"`
	// RetryBase is the delay before a page's first retry (default 1s).
	RetryBase time.Duration `json:"retry_base,omitempty"`
}

// HarvestInput starts a harvest of one source and set, and carries its
// progress across continue-as-new.
type HarvestInput struct {
	Source    sources.Source `json:"source"`
	Set       string         `json:"set,omitempty"`
	HarvestID string         `json:"harvest_id"`
	// The operator's choices: a window (in any granularity), a full
	// harvest that ignores the watermark, and whether a full harvest's
	// sweep may delete more than activities.MassDeleteShare.
	From            string `json:"from,omitempty"`
	Until           string `json:"until,omitempty"`
	Full            bool   `json:"full,omitempty"`
	AllowMassDelete bool   `json:"allow_mass_delete,omitempty"`
	// OtherSets of the source: the sweep keeps records still in them.
	OtherSets []string `json:"other_sets,omitempty"`
	Limits    Limits   `json:"limits"`
	Timeouts  Timeouts `json:"timeouts"`

	// Progress, set by the workflow itself when it continues as new.
	Prepared     *activities.PrepareResult     `json:"prepared,omitempty"`
	Cursor       string                        `json:"cursor,omitempty"`
	Page         int                           `json:"page,omitempty"`
	Requests     int                           `json:"requests,omitempty"`
	EmptyStreak  int                           `json:"empty_streak,omitempty"`
	Tokens       []string                      `json:"tokens,omitempty"` // hashes of recent resumption tokens
	ResponseDate string                        `json:"response_date,omitempty"`
	Counts       bucket.Counts                 `json:"counts"`
	Quarantine   map[string]bucket.KindSummary `json:"quarantine,omitempty"`
	StartedAt    time.Time                     `json:"started_at"`
	Restarts     int                           `json:"restarts,omitempty"`
	// Tickets numbers the run's requests to the provider's lock.
	Tickets int `json:"tickets,omitempty"`
	// Listing is what a partner bucket's listing found (Page then counts
	// the batches started, RemovedChunks the removals done).
	Listing       *activities.ListResult `json:"listing,omitempty"`
	RemovedChunks int                    `json:"removed_chunks,omitempty"`
}

// MemoRun is the memo field that holds a finished run's RunMemo.
const MemoRun = "run"

// RunMemo is what a finished harvest says of itself in Temporal's list of
// workflows.
type RunMemo struct {
	HarvestID string        `json:"harvest_id"`
	Counts    bucket.Counts `json:"counts"`
	Error     string        `json:"error,omitempty"`
}

// HarvestResult is the outcome of a finished harvest.
type HarvestResult struct {
	// Status is completed, or completed_with_rejections when Elasticsearch
	// refused documents (a run that failed returns its error instead).
	Status    string        `json:"status"`
	Counts    bucket.Counts `json:"counts"`
	ReportKey string        `json:"report_key"`
	Seconds   float64       `json:"seconds"`
}

// Status is what `avo harvest status` shows while a harvest runs.
type Status struct {
	Source     string                        `json:"source"`
	Set        string                        `json:"set,omitempty"`
	HarvestID  string                        `json:"harvest_id"`
	State      string                        `json:"state"`
	From       string                        `json:"from,omitempty"`
	Until      string                        `json:"until,omitempty"`
	Page       int                           `json:"page"`
	Cursor     string                        `json:"cursor,omitempty"`
	ListSize   int                           `json:"list_size,omitempty"`
	Counts     bucket.Counts                 `json:"counts"`
	Quarantine map[string]bucket.KindSummary `json:"quarantine,omitempty"`
	StartedAt  time.Time                     `json:"started_at"`
	UpdatedAt  time.Time                     `json:"updated_at"`
}

// Harvest harvests one source (and set): a prepare step (Identify, the
// watermark, the window), then page by page, each page one activity,
// continuing as new to keep history bounded, and at the end the sweep
// (for sources that do not report deletions) and the report.
func Harvest(ctx workflow.Context, in HarvestInput) (HarvestResult, error) {
	if in.Source.ID == "" || in.HarvestID == "" {
		return HarvestResult{}, temporal.NewNonRetryableApplicationError("harvest needs a source and a harvest id", "BadInput", nil)
	}
	in.Limits = withDefaults(in.Limits, in.Source)
	if in.StartedAt.IsZero() {
		in.StartedAt = workflow.Now(ctx)
	}
	st := &Status{
		Source: in.Source.ID, Set: in.Set, HarvestID: in.HarvestID, State: "running",
		Page: in.Page, Cursor: in.Cursor, Counts: in.Counts, Quarantine: in.Quarantine,
		StartedAt: in.StartedAt, UpdatedAt: workflow.Now(ctx),
	}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return *st, nil }); err != nil {
		return HarvestResult{}, err
	}
	if in.Prepared == nil {
		var prep activities.PrepareResult
		pctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
		})
		err := workflow.ExecuteActivity(pctx, a.PrepareHarvest, activities.PrepareInput{
			Source: in.Source, Set: in.Set, Full: in.Full, From: in.From, Until: in.Until,
		}).Get(ctx, &prep)
		if err != nil {
			return finish(ctx, in, st, err)
		}
		in.Prepared = &prep
	}
	st.From, st.Until = in.Prepared.From, in.Prepared.Until

	pageTimeout, heartbeat := in.Timeouts.Page, in.Timeouts.Heartbeat
	if pageTimeout == 0 {
		pageTimeout = 15 * time.Minute
	}
	if heartbeat == 0 {
		heartbeat = 2 * time.Minute
	}
	pageCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: pageTimeout,
		HeartbeatTimeout:    heartbeat,
		// A cancelled run waits for its page to stop and say what it
		// wrote: the report counts it.
		WaitForCancellation: true,
		// The activity sets each retry's delay itself (exponential with
		// jitter, or the provider's Retry-After); these bound it.
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    10,
		},
	})
	if in.Source.Kind == sources.KindS3 {
		return harvestBucket(ctx, in, st, pageCtx)
	}
	return harvestPipelined(ctx, in, st, pageCtx, pageTimeout)
}

// fetchAhead is how many rounds of parallel pages one FetchPages may
// fetch: taking the provider's lock, asking and releasing cost more of
// Temporal than the fetch itself, so they are shared by many pages. The
// pages are started as processing frees room, the last of them while the
// next are fetched.
const fetchAhead = 4

// pagesPerProcess is how many fetched pages one ProcessPage writes
// together at most, so that two of them are processed at once: an
// activity costs Temporal about as much as all the rest of a page's
// work there, and two of them still spread over two workers.
const pagesPerProcess = 4

// harvestPipelined fetches the provider's pages one after the other, a
// few at a time in one activity under the provider's lock that keeps the
// answers in S3, and hands the fetched pages, a few at a time, to
// ProcessPage activities that any worker may take: up to the source's
// parallel pages are processed at once while the next are fetched. The
// provider sees one request at a time; the writes of one large set spread
// over every worker.
func harvestPipelined(ctx workflow.Context, in HarvestInput, st *Status, pageCtx workflow.Context, pageTimeout time.Duration) (HarvestResult, error) {
	log := workflow.GetLogger(ctx)
	// Runs begun before pages were fetched and processed apart go on as
	// they began: each page one activity that fetches and writes it.
	whole := workflow.GetVersion(ctx, "fetch-then-process", workflow.DefaultVersion, 1) == workflow.DefaultVersion
	var delay time.Duration
	parallel := sources.DefaultOAIParallel
	if in.Source.OAI != nil {
		delay = time.Duration(in.Source.OAI.Delay)
		parallel = in.Source.OAI.Pipeline()
	}
	// Runs begun before four pages a process (and eight at once by
	// default) go on with two (and four).
	perProcess := pagesPerProcess
	if workflow.GetVersion(ctx, "four-pages-a-process", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		perProcess = 2
		if in.Source.OAI == nil || in.Source.OAI.Parallel <= 0 {
			parallel = 4
		}
	}
	// Runs begun before fetching ahead fetch as many pages as they process
	// at once, and process each page alone.
	ahead, group := fetchAhead, 1
	if workflow.GetVersion(ctx, "fetch-ahead", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		ahead = 1
	} else {
		group = max(1, min(perProcess, parallel/2)) // at least two at once
	}
	// The next batch is fetched while the last one's pages are processed:
	// fetching after the last of them had started left processing idle
	// whenever the fetch took longer than the last pages (about one run
	// second in twenty). Runs begun before fetch between batches.
	overlap := !whole && workflow.GetVersion(ctx, "fetch-while-processing", workflow.DefaultVersion, 1) != workflow.DefaultVersion
	processing := &pageRuns{in: &in, st: st}
	// keys (and their digests) are fetched pages waiting to be processed
	// together, from page first on; ready are such groups waiting for room.
	var keys, digests []string
	var ready []activities.PageInput
	first := 0
	startReady := func() {
		for len(ready) > 0 {
			processing.waitBelow(ctx, max(parallel/group, 1))
			processing.start(workflow.ExecuteActivity(pageCtx, a.ProcessPage, ready[0]))
			ready = ready[1:]
		}
	}
	// process makes the pages waiting a group, started at once unless the
	// next batch is to be fetched first.
	process := func() {
		if len(keys) > 0 {
			pin := activities.PageInput{
				Source: in.Source, Set: in.Set, HarvestID: in.HarvestID, Page: first,
				TrackSeen: in.Prepared.TrackSeen, RetryBase: in.Timeouts.RetryBase,
			}
			if len(keys) == 1 {
				pin.RawKey, pin.RawDigest = keys[0], digests[0]
			} else {
				pin.RawKeys, pin.RawDigests = keys, digests
			}
			ready = append(ready, pin)
			keys, digests = nil, nil
		}
		if !overlap {
			startReady()
		}
	}
	// fail ends the run once the pages fetched are processed and counted.
	fail := func(err error) (HarvestResult, error) {
		process()
		startReady()
		_ = processing.drain(ctx)
		st.Counts, st.Quarantine = in.Counts, in.Quarantine
		return finish(ctx, in, st, err)
	}
	// fetch asks for the next batch of pages under the provider's lock:
	// several rounds of pages ahead, within the run's limits, so the lock
	// is taken once for many pages (the fetch stays a quarter of its
	// timeout at most); one page at a time where the provider asks for
	// pauses.
	fetch := func(ctx workflow.Context, pagesThisRun int) (activities.FetchBatch, error) {
		batch := min(ahead*parallel, in.Limits.MaxPagesPerRun-pagesThisRun, in.Limits.MaxRequests-in.Requests)
		if delay > 0 || whole {
			batch = 1
		}
		pin := activities.PageInput{
			Source: in.Source, Set: in.Set, HarvestID: in.HarvestID, Page: in.Page + 1,
			Cursor: in.Cursor, From: in.Prepared.From, Until: in.Prepared.Until, TrackSeen: in.Prepared.TrackSeen,
			RetryBase: in.Timeouts.RetryBase, Pages: batch,
		}
		var fetched activities.FetchBatch
		err := withProvider(ctx, &in, pageTimeout+time.Minute, func() error {
			if whole {
				var pr activities.PageResult
				err := workflow.ExecuteActivity(pageCtx, a.HarvestPage, pin).Get(ctx, &pr)
				fetched.Pages = []activities.FetchResult{pr.Processed()}
				return err
			}
			return workflow.ExecuteActivity(pageCtx, a.FetchPages, pin).Get(ctx, &fetched)
		})
		return fetched, err
	}
	// mayFetch ends the run where no more is to be fetched now: it
	// continues as new at its limits, and stops at the request cap or
	// once a page failed to process.
	mayFetch := func(pagesThisRun int) (bool, HarvestResult, error) {
		if pagesThisRun >= in.Limits.MaxPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			startReady()
			if err := processing.drain(ctx); err != nil {
				res, err := fail(err)
				return false, res, err
			}
			log.Info("continuing as new", "page", in.Page)
			return false, HarvestResult{}, workflow.NewContinueAsNewError(ctx, Harvest, in)
		}
		if in.Requests >= in.Limits.MaxRequests {
			res, err := fail(temporal.NewNonRetryableApplicationError(fmt.Sprintf(
				"stopped after %d requests, the cap for source %s (max_requests): the provider's list does not end", in.Requests, in.Source.ID), "RequestCap", nil))
			return false, res, err
		}
		return true, HarvestResult{}, nil
	}
	// next is the batch being fetched while pages are processed; pause is
	// waited before it (the provider asked for it).
	var next workflow.Future
	var pause time.Duration
	fetchNext := func(pagesThisRun int) {
		f, set := workflow.NewFuture(ctx)
		wait := pause
		if delay > 0 && in.Page > 0 {
			wait = max(wait, delay)
		}
		pause = 0
		workflow.Go(ctx, func(gctx workflow.Context) {
			if wait > 0 {
				if err := workflow.Sleep(gctx, wait); err != nil {
					set.Set(nil, err)
					return
				}
			}
			set.Set(fetch(gctx, pagesThisRun))
		})
		next = f
	}
	for pagesThisRun := 0; ; {
		var fetched activities.FetchBatch
		var err error
		if next != nil {
			err = next.Get(ctx, &fetched)
			next = nil
		} else {
			if ok, res, err := mayFetch(pagesThisRun); !ok {
				return res, err
			}
			if delay > 0 && in.Page > 0 {
				if err := workflow.Sleep(ctx, delay); err != nil {
					return fail(err)
				}
			}
			// A page that failed to process ends the run: nothing more is
			// fetched.
			if !overlap {
				processing.waitBelow(ctx, parallel)
			}
			if processing.err != nil {
				return fail(processing.err)
			}
			fetched, err = fetch(ctx, pagesThisRun)
		}
		// restart harvests the window again from its start when the
		// provider refused a token (it expired). Writes are idempotent,
		// so records seen twice are stored once.
		restart := func(errType string) bool {
			if errType != activities.ErrBadResumptionToken || in.Restarts >= maxRestarts {
				return false
			}
			log.Warn("resumption token refused; restarting the window", "page", in.Page+1)
			in.Restarts++
			in.Cursor, in.Tokens, in.EmptyStreak = "", nil, 0
			return true
		}
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && restart(appErr.Type()) {
			in.Requests++
			continue
		}
		if err != nil {
			in.Requests++
			in.addPartial(err)
			return fail(err)
		}
		for _, page := range fetched.Pages {
			in.Requests++
			pagesThisRun++
			in.Page++
			if page.Processed {
				process() // the pages processed together are consecutive
				in.Counts.Add(page.Counts)
				in.Quarantine = bucket.MergeQuarantine(in.Quarantine, page.Quarantine)
			} else {
				in.Counts.Pages++
				in.Counts.Repaired += page.Repaired
				if len(keys) == 0 {
					first = in.Page
				}
				digests = append(digests, page.Digest)
				if keys = append(keys, page.RawKey); len(keys) == group {
					process()
				}
			}
			if in.ResponseDate == "" {
				in.ResponseDate = page.ResponseDate
			}
			st.Page, st.Cursor, st.ListSize = in.Page, page.Next, page.ListSize
			st.Counts, st.Quarantine, st.UpdatedAt = in.Counts, in.Quarantine, workflow.Now(ctx)
			if page.Next == "" {
				process()
				startReady()
				if err := processing.drain(ctx); err != nil {
					return fail(err)
				}
				return complete(ctx, in, st)
			}
			if err := in.checkToken(page.Next, page.Records); err != nil {
				return fail(err)
			}
			in.Cursor = page.Next
		}
		// No page waits for the next batch to be processed.
		process()
		// A page after the batch's first failed: as if it had been the
		// first, without asking the provider again at once.
		if f := fetched.Failure; f != nil {
			in.Requests++
			switch {
			case restart(f.Type):
			case f.NonRetryable:
				return fail(temporal.NewNonRetryableApplicationError(f.Message, f.Type, nil))
			case f.RetryAfter > 0 && overlap:
				pause = f.RetryAfter
			case f.RetryAfter > 0:
				if err := workflow.Sleep(ctx, f.RetryAfter); err != nil {
					return fail(err)
				}
			}
		}
		if overlap {
			if ok, res, err := mayFetch(pagesThisRun); !ok {
				return res, err
			}
			if processing.err != nil {
				return fail(processing.err)
			}
			fetchNext(pagesThisRun)
			startReady()
		}
	}
}

func withDefaults(l Limits, src sources.Source) Limits {
	if src.OAI != nil {
		if l.MaxRequests == 0 {
			l.MaxRequests = src.OAI.MaxRequests
		}
		if l.MaxEmptyPages == 0 {
			l.MaxEmptyPages = src.OAI.MaxEmptyPages
		}
	}
	if l.MaxPagesPerRun <= 0 {
		l.MaxPagesPerRun = DefaultMaxPagesPerRun
	}
	if l.MaxRequests <= 0 {
		l.MaxRequests = DefaultMaxRequests
	}
	if l.MaxEmptyPages <= 0 {
		l.MaxEmptyPages = DefaultMaxEmptyPages
	}
	return l
}

// addPartial counts what the page that ended the run wrote before it
// failed or was cancelled (the activity's error carries it): the report
// then says what S3 and the indices hold.
func (in *HarvestInput) addPartial(err error) {
	var partial activities.PageResult
	var appErr *temporal.ApplicationError
	var canErr *temporal.CanceledError
	switch {
	case errors.As(err, &appErr) && appErr.HasDetails():
		if appErr.Details(&partial) != nil {
			return
		}
	case errors.As(err, &canErr) && canErr.HasDetails():
		if canErr.Details(&partial) != nil {
			return
		}
	default:
		return
	}
	in.Counts.Add(partial.Counts)
	in.Quarantine = bucket.MergeQuarantine(in.Quarantine, partial.Quarantine)
}

// checkToken stops a provider that loops: a resumption token it gave
// before, or empty pages without end.
func (in *HarvestInput) checkToken(token string, records int) error {
	sum := sha256.Sum256([]byte(token))
	h := hex.EncodeToString(sum[:8])
	if slices.Contains(in.Tokens, h) {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"source %s repeated resumption token %q at page %d: the list loops", in.Source.ID, token, in.Page), "RepeatedToken", nil)
	}
	in.Tokens = append(in.Tokens, h)
	if len(in.Tokens) > tokensKept {
		in.Tokens = in.Tokens[len(in.Tokens)-tokensKept:]
	}
	if records > 0 {
		in.EmptyStreak = 0
		return nil
	}
	in.EmptyStreak++
	if in.EmptyStreak >= in.Limits.MaxEmptyPages {
		return temporal.NewNonRetryableApplicationError(fmt.Sprintf(
			"source %s answered %d empty pages in a row, each with a new token (up to page %d)", in.Source.ID, in.EmptyStreak, in.Page), "EmptyPages", nil)
	}
	return nil
}

// complete ends a run whose list ended: the sweep, for sources that do not
// report deletions, then the report (which advances the watermark).
func complete(ctx workflow.Context, in HarvestInput, st *Status) (HarvestResult, error) {
	if in.Prepared.TrackSeen {
		sctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 30 * time.Minute,
			HeartbeatTimeout:    2 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
		})
		var swept activities.SweepResult
		err := workflow.ExecuteActivity(sctx, a.Sweep, activities.SweepInput{
			Source: in.Source.ID, Set: in.Set, HarvestID: in.HarvestID,
			Complete: in.Prepared.Complete, AllowMassDelete: in.AllowMassDelete, OtherSets: in.OtherSets,
		}).Get(ctx, &swept)
		if err != nil {
			return finish(ctx, in, st, err)
		}
		in.Counts.Swept += swept.Removed
		st.Counts = in.Counts
	}
	return finish(ctx, in, st, nil)
}

// finish writes the run's report, whatever its outcome, and returns the
// result or the run's error: a failed run never reports success.
func finish(ctx workflow.Context, in HarvestInput, st *Status, runErr error) (HarvestResult, error) {
	status := bucket.StatusCompleted
	errText := ""
	switch {
	case temporal.IsCanceledError(runErr) || runErr != nil && ctx.Err() != nil:
		// A page that ended otherwise once the run was cancelled (its
		// request timed out before it heard) still ends a cancelled run.
		status = bucket.StatusCancelled
		if !temporal.IsCanceledError(runErr) {
			runErr = temporal.NewCanceledError(runErr.Error())
		}
		errText = "cancelled"
	case runErr != nil:
		status = bucket.StatusFailed
		errText = Brief(runErr)
	case in.Counts.IndexRejected > 0:
		status = bucket.StatusCompletedWithRejections
	}
	st.State = status
	// Operators find runs by outcome, and read what each did, in the
	// list of harvests (avo harvest list, the Web UI).
	if err := workflow.UpsertTypedSearchAttributes(ctx, OutcomeAttribute.ValueSet(status)); err != nil {
		return HarvestResult{}, err
	}
	if err := workflow.UpsertMemo(ctx, map[string]any{MemoRun: RunMemo{HarvestID: in.HarvestID, Counts: in.Counts, Error: errText}}); err != nil {
		return HarvestResult{}, err
	}
	// A cancelled workflow's context refuses new activities; the report
	// goes out on a context that is not cancelled.
	rctx, _ := workflow.NewDisconnectedContext(ctx)
	rctx = workflow.WithActivityOptions(rctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	now := workflow.Now(ctx)
	rep := bucket.Report{
		Source: in.Source.ID, Set: in.Set, HarvestID: in.HarvestID, Status: status, Error: errText,
		ResponseDate: in.ResponseDate, Counts: in.Counts, Quarantine: in.Quarantine,
		StartedAt: in.StartedAt, FinishedAt: now,
	}
	if p := in.Prepared; p != nil {
		rep.From, rep.Until, rep.Granularity = p.From, p.Until, p.Granularity
		// Only a run that covered everything from the watermark (or from
		// the beginning) to the present may move it: a window of the
		// operator's that starts later or ends earlier would make the next
		// incremental run skip what lies outside it.
		if in.Source.Kind == sources.KindOAIPMH && p.Until == "" && (p.FromWatermark || p.From == "") {
			rep.Watermark = in.ResponseDate
		}
	}
	var fin activities.FinishResult
	err := workflow.ExecuteActivity(rctx, a.FinishHarvest, rep).Get(rctx, &fin)
	if runErr != nil {
		if err != nil {
			return HarvestResult{}, fmt.Errorf("%w (and the report could not be written: %v)", runErr, err)
		}
		return HarvestResult{}, runErr
	}
	if err != nil {
		return HarvestResult{}, fmt.Errorf("harvest done but its report could not be written: %w", err)
	}
	return HarvestResult{Status: status, Counts: in.Counts, ReportKey: fin.ReportKey, Seconds: now.Sub(in.StartedAt).Seconds()}, nil
}
