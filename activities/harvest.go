// Package activities holds every piece of avo's work that touches the
// outside world: providers, S3 and Elasticsearch. Workflows call these
// through Temporal and only ever see keys and counts.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/mappings"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// Harvest holds the clients the harvest activities use.
type Harvest struct {
	Store *s3store.Store
	Index esindex.Indices
	// S3 is avo's own S3 configuration; partner buckets inherit its endpoint.
	S3        config.S3
	UserAgent string
	// Temporal and TaskQueue reach the provider locks (workflows.ProviderLock).
	Temporal  client.Client
	TaskQueue string
	// SourcesFile is the sources file, read when a scheduled harvest
	// starts, so that it runs with the source's settings of that moment.
	SourcesFile string
	Logger      *slog.Logger
	// Writers bounds the records a page writes at once (default 32).
	Writers int
	// Now is the clock (tests pin it).
	Now func() time.Time
	// BeforeRecordDeletes, when set, runs after a page's or a sweep's
	// deletes reached the indices and before the S3 records go: tests stop
	// the work there, as a crash would.
	BeforeRecordDeletes func() error

	decisions decided
	pool      writePool
	parsed    parsedPages
}

func (h *Harvest) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Harvest) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}

// PageInput asks for one page of a harvest.
type PageInput struct {
	Source    sources.Source `json:"source"`
	Set       string         `json:"set,omitempty"`
	HarvestID string         `json:"harvest_id"`
	Page      int            `json:"page"`   // 1-based, across the whole harvest
	Cursor    string         `json:"cursor"` // resumption or continuation token; empty for the first page
	From      string         `json:"from,omitempty"`
	Until     string         `json:"until,omitempty"`
	// TrackSeen keeps the page's identifiers for the run's sweep.
	TrackSeen bool `json:"track_seen,omitempty"`
	// RetryBase is the first retry's delay (default 1s); it doubles with
	// each attempt.
	RetryBase time.Duration `json:"retry_base,omitempty"`
	// RawKey is the kept page ProcessPage works on.
	RawKey string `json:"raw_key,omitempty"`
	// RawKeys, instead, are kept pages ProcessPage works on together,
	// pages Page, Page+1, and on.
	RawKeys []string `json:"raw_keys,omitempty"`
	// RawDigest (RawDigests, for RawKeys) is the digest of the kept
	// page's bytes, as FetchPages found it: the worker that fetched the
	// page may process it from what it parsed then.
	RawDigest  string   `json:"raw_digest,omitempty"`
	RawDigests []string `json:"raw_digests,omitempty"`
	// Pages is how many pages FetchPages may fetch, from Page on.
	Pages int `json:"pages,omitempty"`
}

// PageResult is what a page leaves behind: keys and counts.
type PageResult struct {
	Counts       bucket.Counts `json:"counts"`
	Next         string        `json:"next,omitempty"` // empty when the list is complete
	RawKey       string        `json:"raw_key"`
	ResponseDate string        `json:"response_date,omitempty"`
	ListSize     int           `json:"list_size,omitempty"` // completeListSize, when the provider gives it
	// Quarantine counts the page's quarantined records per kind, with a
	// few examples each: bounded however many there are.
	Quarantine map[string]bucket.KindSummary `json:"quarantine,omitempty"`
}

// Error types workflows tell apart.
const (
	ErrBadResumptionToken = "BadResumptionToken"
	ErrMassDelete         = "MassDelete"
)

// HarvestPage fetches one page from the source and, as its records arrive,
// maps them, keeps them in S3, indexes them and quarantines what fails;
// the page itself is kept raw in S3.
func (h *Harvest) HarvestPage(ctx context.Context, in PageInput) (PageResult, error) {
	res, err := h.harvestPage(ctx, in)
	return h.pageOutcome(ctx, in, res, err)
}

// pageOutcome is what a page activity returns: its result, or its error
// with what it wrote anyway and the delay before its next attempt.
func (h *Harvest) pageOutcome(ctx context.Context, in PageInput, res PageResult, err error) (PageResult, error) {
	if err != nil {
		return PageResult{}, h.failedPages(ctx, in, h.wroteAnyway(ctx, in, res), err)
	}
	h.pageDone(ctx, in, res)
	return res, nil
}

// wroteAnyway is what a failed page's attempts wrote: it goes with the
// error, so that a run that ends here counts it.
func (h *Harvest) wroteAnyway(ctx context.Context, in PageInput, res PageResult) PageResult {
	partial, err := h.partial(ctx, in, res)
	if err != nil {
		h.log().Warn("what a failed page wrote is not counted", "source", in.Source.ID, "page", in.Page, "err", err)
	}
	return partial
}

// failedPages is the error of a page activity, carrying what it wrote.
func (h *Harvest) failedPages(ctx context.Context, in PageInput, wrote PageResult, err error) error {
	if ctx.Err() != nil {
		return temporal.NewCanceledError(wrote)
	}
	return withBackoff(ctx, err, in.RetryBase, wrote)
}

func (h *Harvest) pageDone(ctx context.Context, in PageInput, res PageResult) {
	recordPage(ctx, in.Source.ID, res)
	h.log().Info("page harvested", "source", in.Source.ID, "set", in.Set, "page", in.Page,
		"records", res.Counts.Records, "indexed", res.Counts.Indexed, "deleted", res.Counts.Deleted,
		"quarantined", res.Counts.Quarantined, "repaired", res.Counts.Repaired, "next", res.Next != "")
}

// partial merges what this attempt of a page wrote with what the attempts
// before it wrote (kept in S3: a page's attempts write the same records,
// so the one that got furthest counts) and keeps the result.
func (h *Harvest) partial(ctx context.Context, in PageInput, this PageResult) (PageResult, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	key := in.run().PartialKey(in.Page)
	var before PageResult
	if err := h.Store.GetJSON(ctx, key, &before); err != nil && !s3store.IsNotFound(err) {
		return this, err
	}
	if before.Counts.Records > this.Counts.Records || before.Counts.Indexed > this.Counts.Indexed {
		this = before
	}
	return this, h.Store.PutJSON(ctx, key, this)
}

func (h *Harvest) harvestPage(ctx context.Context, in PageInput) (PageResult, error) {
	if in.Source.S3 == nil || len(in.Source.S3.Rules) == 0 {
		if _, err := mappings.Lookup(in.Source.Mapping); err != nil {
			return PageResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "UnknownMapping", nil)
		}
	}
	res := &PageResult{Counts: bucket.Counts{Pages: 1}}
	w, err := h.newPageWriter(ctx, in, res)
	if err != nil {
		return PageResult{}, err
	}
	switch in.Source.Kind {
	case sources.KindOAIPMH:
		err = h.fetchOAI(ctx, in, w, res)
	case sources.KindS3:
		err = h.fetchS3(ctx, in, w, res)
	default:
		err = temporal.NewNonRetryableApplicationError("unknown source kind "+in.Source.Kind, "BadSource", nil)
	}
	if err != nil {
		return w.abandon(ctx), err
	}
	if err := w.finish(ctx); err != nil {
		return w.written(), err
	}
	return *res, nil
}

// withBackoff gives a retryable error its next delay: exponential in the
// attempt, with jitter so that many harvests failing together do not come
// back together, and never shorter than a provider's Retry-After.
func withBackoff(ctx context.Context, err error, base time.Duration, details ...any) error {
	var appErr *temporal.ApplicationError
	msg := err.Error()
	if errors.As(err, &appErr) {
		msg = appErr.Message()
	}
	// The message says how long this has gone on: the one that ends a run
	// tells the operator how hard it was tried.
	msg += " (" + attempts(ctx) + ")"
	if appErr != nil && appErr.NonRetryable() {
		return temporal.NewApplicationErrorWithOptions(msg, appErr.Type(), temporal.ApplicationErrorOptions{
			NonRetryable: true, Details: details,
		})
	}
	attempt := 1
	if activity.IsActivity(ctx) {
		attempt = int(activity.GetInfo(ctx).Attempt)
	}
	if base <= 0 {
		base = time.Second
	}
	delay := min(base<<min(attempt-1, 12), 5*time.Minute)
	delay = delay/2 + time.Duration(rand.Int64N(int64(delay)))
	errType := "Transient"
	if appErr != nil {
		errType = appErr.Type()
		if d := appErr.NextRetryDelay(); d > delay {
			delay = d
		}
	}
	return temporal.NewApplicationErrorWithOptions(msg, errType, temporal.ApplicationErrorOptions{
		NextRetryDelay: delay, Details: details,
	})
}

// attempts says how often an activity has tried so far, and over how long
// ("1 attempt", "5 attempts over 20 s").
func attempts(ctx context.Context) string {
	if !activity.IsActivity(ctx) {
		return "1 attempt"
	}
	info := activity.GetInfo(ctx)
	if info.Attempt <= 1 {
		return "1 attempt"
	}
	over := time.Since(info.ScheduledTime).Round(time.Second)
	return fmt.Sprintf("%d attempts over %s", info.Attempt, strings.Replace(over.String(), "s", " s", 1))
}

// rawItem is one record as fetched, before mapping.
type rawItem struct {
	identifier string
	datestamp  string
	etag       string
	version    string // an object's version id, in a versioned bucket
	deleted    bool
	body       []byte
	// media is the browse copy beside an object in a partner bucket.
	media *profile.Media
	// mapping reads the record when it is not the source's (a bucket's
	// rules name one per kind of object).
	mapping string
	// set, raw and harvest say where a replayed record came from, when
	// that is not the page being written.
	set, raw, harvest string
	// problem is set when the record could not even be read; gone when
	// it was not there to read (the sweep may take it for deleted).
	problem error
	gone    bool
}

// run names the harvest run the page belongs to, for its keys.
func (in PageInput) run() bucket.Run {
	return bucket.Run{Source: in.Source.ID, Set: in.Set, Harvest: in.HarvestID}
}

// classifyOAI turns client errors into Temporal errors: permanent ones stop
// the run, Retry-After sets the next attempt's delay, the rest are retried
// by the activity's retry policy.
func classifyOAI(in PageInput, err error) error {
	return classify(fmt.Sprintf("source %s page %d", in.Source.ID, in.Page), err)
}

// classify is classifyOAI for a request described by where.
func classify(where string, err error) error {
	var oe *oaipmh.Error
	if errors.As(err, &oe) {
		msg := fmt.Sprintf("%s: %v", where, oe)
		switch {
		case oe.Code == oaipmh.BadResumptionToken:
			return temporal.NewNonRetryableApplicationError(msg, ErrBadResumptionToken, nil)
		case oe.Permanent():
			return temporal.NewNonRetryableApplicationError(msg, "OAI-"+oe.Code, nil)
		}
		return temporal.NewApplicationError(msg, "OAI-"+oe.Code)
	}
	var he *oaipmh.HTTPError
	if errors.As(err, &he) {
		msg := fmt.Sprintf("%s: %v", where, he)
		if he.Permanent() {
			return temporal.NewNonRetryableApplicationError(msg, fmt.Sprintf("HTTP-%d", he.Status), nil)
		}
		return temporal.NewApplicationErrorWithOptions(msg, fmt.Sprintf("HTTP-%d", he.Status), temporal.ApplicationErrorOptions{
			NextRetryDelay: he.RetryAfter,
		})
	}
	return fmt.Errorf("%s: %w", where, err)
}
