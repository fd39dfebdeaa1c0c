package activities

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// A provider's pages come one at a time, but what becomes of them does
// not have to: FetchPages only asks the provider and keeps the answers in S3,
// ProcessPage maps, stores and indexes a kept page on whichever worker
// takes it. The workflow fetches the next page while earlier ones are
// processed, so the provider still sees one request at a time while the
// writes of several pages, on several workers, go on at once.

// FetchResult is what fetching a page found: where its answer is kept and
// how the list goes on. Processed is set when the page was unparsable and
// had to be taken apart record by record; it was then written already,
// and Counts says what it wrote.
type FetchResult struct {
	RawKey string `json:"raw_key"`
	// Digest is the digest of the page's bytes as kept (see parsedPages).
	Digest       string `json:"digest,omitempty"`
	Next         string `json:"next,omitempty"`
	ResponseDate string `json:"response_date,omitempty"`
	ListSize     int    `json:"list_size,omitempty"`
	// Records counts the page's records, deleted ones included.
	Records    int                           `json:"records"`
	Repaired   int                           `json:"repaired,omitempty"`
	Processed  bool                          `json:"processed,omitempty"`
	Counts     bucket.Counts                 `json:"counts"`
	Quarantine map[string]bucket.KindSummary `json:"quarantine,omitempty"`
}

// Processed is a page fetched and written at once, as a FetchResult.
func (p PageResult) Processed() FetchResult {
	return FetchResult{RawKey: p.RawKey, Next: p.Next, ResponseDate: p.ResponseDate, ListSize: p.ListSize,
		Records: p.Counts.Records, Repaired: p.Counts.Repaired, Processed: true, Counts: p.Counts, Quarantine: p.Quarantine}
}

// FetchBatch is what one FetchPages found: the pages fetched, in order,
// and, when a page after the first failed, why (the batch ends there; the
// workflow reacts as to a failed first page, without asking again).
type FetchBatch struct {
	Pages   []FetchResult `json:"pages"`
	Failure *PageFailure  `json:"failure,omitempty"`
}

// PageFailure is a failed request of a batch after its first page.
type PageFailure struct {
	Message      string        `json:"message"`
	Type         string        `json:"type,omitempty"`
	NonRetryable bool          `json:"non_retryable,omitempty"`
	RetryAfter   time.Duration `json:"retry_after,omitempty"`
}

// FetchPages asks the provider for up to in.Pages pages of the list (at
// least one), following its tokens, and keeps each answer, as it came, in
// S3. One activity and one place in the provider's line cover them all:
// the provider still sees one request at a time, without a round trip
// through the workflow between two. An empty page or a token seen before
// ends a batch (the workflow judges those); a page that fails after the
// first ends it with the failure described. The first page's failure is
// the activity's, with its retries and salvage.
func (h *Harvest) FetchPages(ctx context.Context, in PageInput) (FetchBatch, error) {
	var out FetchBatch
	tokens := map[string]bool{}
	for {
		res, err := h.fetchPage(ctx, in)
		first := len(out.Pages) == 0
		switch {
		case errors.Is(err, errTakeApart) && first:
			// Fetched again and taken apart record by record, as a
			// whole page harvest does; its errors carry what it wrote.
			page, err := h.HarvestPage(ctx, in)
			if err != nil {
				return FetchBatch{}, err
			}
			return FetchBatch{Pages: []FetchResult{page.Processed()}}, nil
		case err != nil && ctx.Err() != nil:
			return FetchBatch{}, temporal.NewCanceledError()
		case err != nil && first:
			return FetchBatch{}, withBackoff(ctx, err, in.RetryBase)
		case err != nil:
			f := &PageFailure{Message: err.Error()}
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) {
				f.Type, f.NonRetryable, f.RetryAfter = appErr.Type(), appErr.NonRetryable(), appErr.NextRetryDelay()
			}
			out.Failure = f
			return out, nil
		}
		out.Pages = append(out.Pages, res)
		activity.RecordHeartbeat(ctx, in.Page)
		if res.Next == "" || res.Records == 0 || tokens[res.Next] || len(out.Pages) >= max(in.Pages, 1) || fetchBudgetSpent(ctx) {
			return out, nil
		}
		tokens[res.Next] = true
		in.Page++
		in.Cursor = res.Next
	}
}

// fetchBudgetSpent ends a batch of pages once it took a quarter of the
// activity's time: a slow provider gets fewer pages a batch, and a batch
// never nears its timeout.
func fetchBudgetSpent(ctx context.Context) bool {
	if !activity.IsActivity(ctx) {
		return false
	}
	info := activity.GetInfo(ctx)
	return time.Since(info.StartedTime) > info.Deadline.Sub(info.StartedTime)/4
}

// errTakeApart says a page stays unparsable: its records are to be
// fetched one by one.
var errTakeApart = errors.New("unparsable page to take apart")

func (h *Harvest) fetchPage(ctx context.Context, in PageInput) (FetchResult, error) {
	if _, err := mappings.Lookup(in.Source.Mapping); err != nil {
		return FetchResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "UnknownMapping", nil)
	}
	client, err := h.oaiClient(in.Source)
	if err != nil {
		return FetchResult{}, err
	}
	sink, err := newRawSink()
	if err != nil {
		return FetchResult{}, err
	}
	defer sink.close()
	out := FetchResult{RawKey: in.run().RawPageKey(in.Page, "xml")}
	args := oaipmh.ListArgs{MetadataPrefix: in.Source.OAI.MetadataPrefix, Set: in.Set, From: in.From, Until: in.Until, Token: in.Cursor}
	// The page's records are gathered for its processing on this worker
	// (parsedPages), up to maxParsedPage.
	digest := sha256.New()
	var records []oaipmh.Record
	gathered, gather := 0, true
	info, rep, err := client.List(ctx, "ListRecords", args, io.MultiWriter(sink, digest), func(r oaipmh.Record) error {
		out.Records++
		if gathered += recordBytes(r); gather && gathered <= maxParsedPage {
			records = append(records, r)
		} else {
			records, gather = nil, false
		}
		return nil
	})
	out.Repaired = rep.Total()
	if errors.Is(err, oaipmh.ErrMalformedResponse) {
		if activity.GetInfo(ctx).Attempt < salvageAfter {
			if uerr := sink.upload(ctx, h.Store, out.RawKey, "text/xml"); uerr != nil {
				return FetchResult{}, uerr
			}
			return FetchResult{}, fmt.Errorf("source %s page %d is unparsable (kept at %s; from attempt %d its records are fetched one by one): %w",
				in.Source.ID, in.Page, h.Store.URI(out.RawKey), salvageAfter, err)
		}
		return FetchResult{}, errTakeApart
	}
	if err != nil {
		return FetchResult{}, classifyOAI(in, err)
	}
	if err := sink.upload(ctx, h.Store, out.RawKey, "text/xml"); err != nil {
		return FetchResult{}, err
	}
	out.Digest = hex.EncodeToString(digest.Sum(nil))
	if gather {
		h.parsed.put(out.RawKey, out.Digest, records)
	}
	out.Next, out.ResponseDate, out.ListSize = info.Token.Value, info.ResponseDate, info.Token.CompleteListSize
	return out, nil
}

// ProcessPage maps, checks, stores and indexes the records of a page that
// FetchPages kept (in.RawKey), and deletes those the provider deleted. It
// never asks the provider. A retry writes the same again.
func (h *Harvest) ProcessPage(ctx context.Context, in PageInput) (PageResult, error) {
	if len(in.RawKeys) > 0 {
		return h.processPages(ctx, in)
	}
	res, err := h.processPage(ctx, in, nil)
	return h.pageOutcome(ctx, in, res, err)
}

// processPages processes kept pages together, each as ProcessPage does one
// and all at once: one activity for several pages costs Temporal a
// fraction of one each, and their documents share the bulk requests of
// each index. Its result is theirs summed; when a page fails, the error
// carries what every page wrote, and a retry writes them all again.
func (h *Harvest) processPages(ctx context.Context, in PageInput) (PageResult, error) {
	n := len(in.RawKeys)
	pages := make([]PageInput, n)
	results := make([]PageResult, n)
	errs := make([]error, n)
	for i, key := range in.RawKeys {
		pages[i] = in
		pages[i].Page, pages[i].RawKey, pages[i].RawKeys, pages[i].RawDigests = in.Page+i, key, nil, nil
		if len(in.RawDigests) == n {
			pages[i].RawDigest = in.RawDigests[i]
		}
	}
	writers, err := h.openWriters(ctx, n)
	if err != nil {
		for i := range errs {
			errs[i] = err
		}
	} else {
		var wg sync.WaitGroup
		for i := range pages {
			wg.Go(func() {
				results[i], errs[i] = h.processPage(ctx, pages[i], &writers[i])
				// A page that failed before its writes still lets the
				// others' requests go out.
				writers[i].close(context.WithoutCancel(ctx))
			})
		}
		wg.Wait()
	}
	var sum PageResult
	var first error
	for i, res := range results {
		if errs[i] != nil {
			res = h.wroteAnyway(ctx, pages[i], res)
			first = cmp.Or(first, errs[i])
		}
		sum.Counts.Add(res.Counts)
		sum.Quarantine = bucket.MergeQuarantine(sum.Quarantine, res.Quarantine)
	}
	if first != nil {
		return PageResult{}, h.failedPages(ctx, in, sum, first)
	}
	for i, res := range results { // done only once all are: a retry would count them again
		h.pageDone(ctx, pages[i], res)
	}
	return sum, nil
}

// pageIndexWriters are a page's writers of the two indices.
type pageIndexWriters struct {
	catalog, education *esindex.Writer
}

// openWriters opens the index writers of n pages processed together: the
// pages share each index's bulk requests, and every writer must be closed.
func (h *Harvest) openWriters(ctx context.Context, n int) ([]pageIndexWriters, error) {
	catalog, err := h.Index.NewWriters(ctx, esindex.Catalog, n)
	if err != nil {
		return nil, err
	}
	education, err := h.Index.NewWriters(ctx, esindex.Education, n)
	if err != nil {
		_ = esindex.CloseAll(ctx, catalog)
		return nil, err
	}
	ws := make([]pageIndexWriters, n)
	for i := range ws {
		ws[i] = pageIndexWriters{catalog[i], education[i]}
	}
	return ws, nil
}

// close closes both writers (again: a second Close only answers as the
// first did).
func (p pageIndexWriters) close(ctx context.Context) {
	_, _ = p.catalog.Close(ctx)
	_, _ = p.education.Close(ctx)
}

// processPage processes one kept page, writing to the indices through
// writers when given, or through its own. Its finish or abandon closes
// them; when it returns before either, the caller closes given writers.
func (h *Harvest) processPage(ctx context.Context, in PageInput, writers *pageIndexWriters) (PageResult, error) {
	if in.RawKey == "" {
		return PageResult{}, temporal.NewNonRetryableApplicationError(fmt.Sprintf("source %s page %d: no kept page to process", in.Source.ID, in.Page), "BadInput", nil)
	}
	records, parsed := h.parsed.take(in.RawKey, in.RawDigest)
	var body []byte
	if !parsed {
		var err error
		if body, err = h.Store.GetGzip(ctx, in.RawKey); err != nil {
			return PageResult{}, fmt.Errorf("source %s page %d: kept page %s: %w", in.Source.ID, in.Page, in.RawKey, err)
		}
	}
	res := &PageResult{RawKey: in.RawKey}
	var w *pageWriter
	var err error
	if writers != nil {
		w = h.pageWriterWith(in, res, *writers)
	} else if w, err = h.newPageWriter(ctx, in, res); err != nil {
		return PageResult{}, err
	}
	w.rawKey = in.RawKey
	add := func(r oaipmh.Record) error { return w.add(ctx, oaiItem(r)) }
	if parsed {
		for _, r := range records {
			if err = add(r); err != nil {
				break
			}
		}
	} else {
		_, _, err = oaipmh.Read(bytes.NewReader(body), add)
	}
	if err != nil {
		return w.abandon(ctx), fmt.Errorf("source %s page %d: kept page %s: %w", in.Source.ID, in.Page, in.RawKey, err)
	}
	if err := w.finish(ctx); err != nil {
		return w.written(), err
	}
	return *res, nil
}
