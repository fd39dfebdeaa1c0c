package esindex

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/elastic/go-elasticsearch/v8/esutil"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Op is one write: index Doc under ID, or delete ID when Doc is nil. Ref
// is the caller's own name for it (the source identifier), handed back
// with a rejection.
type Op struct {
	ID  string
	Doc []byte
	Ref string
}

// Outcome accounts for every op of a write: each one is indexed, deleted,
// rejected or retryable, and the four add up to the number of ops.
type Outcome struct {
	Indexed int `json:"indexed"`
	Deleted int `json:"deleted"`
	// Rejected ops failed with a 4xx: sending them again cannot help.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Retryable ops failed with 429, a 5xx, or no answer; they can be sent
	// again, since every write is idempotent.
	Retryable       int    `json:"retryable"`
	RetryableReason string `json:"retryable_reason,omitempty"`
}

// Rejection is a document Elasticsearch refused.
type Rejection struct {
	ID     string `json:"id"`
	Ref    string `json:"ref,omitempty"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
	Doc    []byte `json:"-"`
}

// bulkFailures counts the items of bulk requests that failed.
var bulkFailures = telemetry.Counter("avo.elasticsearch.bulk.failures", "{item}",
	"Items of bulk requests Elasticsearch did not take, by status (429 and 5xx are retried; others are quarantined)")

// target is a bulk indexer on one alias.
type target struct {
	bi         esutil.BulkIndexer
	mu         sync.Mutex
	indexerErr error
	// added, answered and retryable count the items of every writer
	// sharing the target.
	added, answered, retryable int
	// goneOK: a missing alias is not a failure (a rebuild's -next alias,
	// removed when the rebuild swapped).
	goneOK bool
}

// tally is the outcome of one writer's items on a target, which several
// writers may share.
type tally struct {
	out   Outcome
	added int
	gone  int
}

// Bulk request sizes. The indexer reserves a buffer of its flush size when
// it opens, and a worker opens two a batch of pages (a writer per index),
// several batches at once. Small Dublin Core records make a few tens of KB
// of documents a page, rich ones a few hundred: the pages of a batch go in
// one or two requests of pageFlushBytes each, and a batch does not leave
// more garbage than its documents need (allocating 1 MB buffers a page
// took 4 % of a harvesting worker's CPU, before the collector's share). A
// rebuild streams a whole index through one writer and uses the larger
// requests Elasticsearch indexes best.
const (
	pageFlushBytes    = 256 << 10
	maxPageFlushBytes = 1 << 20
	rebuildFlushBytes = 5 << 20
)

func (ix Indices) target(name string, alias, goneOK bool, flushBytes int) (*target, error) {
	t := &target{goneOK: goneOK}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:       ix.ES,
		Index:        name,
		NumWorkers:   1,
		FlushBytes:   flushBytes,
		RequireAlias: alias, // never create a stray index named like the alias
		OnError: func(_ context.Context, err error) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if t.indexerErr == nil {
				t.indexerErr = err
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("bulk indexer: %w", err)
	}
	t.bi = bi
	return t, nil
}

// add queues op, whose outcome goes to tl.
func (t *target) add(ctx context.Context, op Op, tl *tally) error {
	item := esutil.BulkIndexerItem{
		DocumentID: op.ID,
		OnSuccess: func(_ context.Context, it esutil.BulkIndexerItem, _ esutil.BulkIndexerResponseItem) {
			t.mu.Lock()
			defer t.mu.Unlock()
			t.answered++
			if it.Action == "delete" {
				tl.out.Deleted++
			} else {
				tl.out.Indexed++
			}
		},
		OnFailure: func(ctx context.Context, it esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			status := "error"
			if err == nil {
				status = strconv.Itoa(res.Status)
			}
			bulkFailures.Add(ctx, 1, metric.WithAttributes(attribute.String("status", status)))
			t.mu.Lock()
			defer t.mu.Unlock()
			t.answered++
			switch {
			case err != nil:
				tl.out.Retryable++
				t.retryable++
				tl.out.RetryableReason = err.Error()
			case it.Action == "delete" && res.Status == http.StatusNotFound && res.Error.Type == "":
				tl.out.Deleted++ // already gone: the delete's goal holds
			case t.goneOK && res.Status == http.StatusNotFound:
				tl.gone++
			case res.Status == http.StatusTooManyRequests || res.Status >= 500:
				tl.out.Retryable++
				t.retryable++
				tl.out.RetryableReason = fmt.Sprintf("HTTP %d %s: %s", res.Status, res.Error.Type, res.Error.Reason)
			default:
				tl.out.Rejected = append(tl.out.Rejected, Rejection{
					ID: op.ID, Ref: op.Ref, Status: res.Status, Reason: res.Error.Type + ": " + res.Error.Reason, Doc: op.Doc,
				})
			}
		},
	}
	if op.Doc == nil {
		item.Action = "delete"
	} else {
		item.Action = "index"
		item.Body = bytes.NewReader(op.Doc)
	}
	if err := t.bi.Add(ctx, item); err != nil {
		return fmt.Errorf("bulk add %s: %w", op.ID, err)
	}
	t.mu.Lock()
	tl.added++
	t.added++
	t.mu.Unlock()
	return nil
}

// close sends what is queued and waits for every answer.
func (t *target) close(ctx context.Context) error {
	if err := t.bi.Close(ctx); err != nil {
		return fmt.Errorf("bulk close: %w", err)
	}
	return nil
}

// outcome is tl's, once the target is closed. An unreadable bulk response
// calls neither callback: such ops are unaccounted for, so they count as
// retryable rather than as written.
func (t *target) outcome(tl *tally) Outcome {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := tl.out
	answered := out.Indexed + out.Deleted + len(out.Rejected) + out.Retryable + tl.gone
	if missing := tl.added - answered; missing > 0 {
		out.Retryable += missing
		if out.RetryableReason == "" && t.indexerErr != nil {
			out.RetryableReason = t.indexerErr.Error()
		}
	}
	if out.Retryable > 0 && out.RetryableReason == "" {
		out.RetryableReason = "no result for some items"
	}
	return out
}

// Writer streams ops to one kind of index through the bulk indexer, which
// flushes by size, so memory stays bounded however many ops pass through.
// While that kind is being rebuilt, every op also goes to the new index
// (the -next alias), so the rebuild misses nothing written meanwhile.
// Writers opened together (NewWriters) share the indexer, so that their
// ops go out in requests sized by bytes, not one request or more each;
// each still answers for its own ops.
type Writer struct {
	s          *shared
	main, next tally
	closeOnce  sync.Once
	out        Outcome
}

// shared is what writers opened together have in common.
type shared struct {
	main, next *target
	// gone keeps the education index's tombstones (nil for other kinds
	// and for a rebuild's loading).
	gone *goneLog
	mu   sync.Mutex
	open int
	done chan struct{} // closed once every writer is and the targets are flushed
	err  error
}

// NewWriter opens a writer on the alias of kind.
func (ix Indices) NewWriter(ctx context.Context, kind string) (*Writer, error) {
	ws, err := ix.NewWriters(ctx, kind, 1)
	if err != nil {
		return nil, err
	}
	return ws[0], nil
}

// NewWriters opens n writers on the alias of kind that share one bulk
// request stream. Every one of them must be closed: the requests go out
// when the last one is, and each Close waits for that, so they are
// closed from their own goroutines or by CloseAll.
func (ix Indices) NewWriters(ctx context.Context, kind string, n int) ([]*Writer, error) {
	flush := min(max(n, 1)*pageFlushBytes, maxPageFlushBytes)
	main, err := ix.target(ix.Alias(kind), true, false, flush)
	if err != nil {
		return nil, err
	}
	s := &shared{main: main, open: max(n, 1), done: make(chan struct{})}
	if kind == Education {
		s.gone = &goneLog{ix: ix}
	}
	building, err := ix.aliasExists(ctx, ix.NextAlias(kind))
	if err != nil {
		_ = main.close(ctx)
		return nil, err
	}
	if building {
		if s.next, err = ix.target(ix.NextAlias(kind), true, true, flush); err != nil {
			_ = main.close(ctx)
			return nil, err
		}
	}
	return s.writers(), nil
}

func (s *shared) writers() []*Writer {
	ws := make([]*Writer, s.open)
	for i := range ws {
		ws[i] = &Writer{s: s}
	}
	return ws
}

// IndexWriter writes to one physical index (a rebuild loading it).
func (ix Indices) IndexWriter(name string) (*Writer, error) {
	t, err := ix.target(name, false, false, rebuildFlushBytes)
	if err != nil {
		return nil, err
	}
	s := &shared{main: t, open: 1, done: make(chan struct{})}
	return s.writers()[0], nil
}

// Add queues one op; a page's writes add from many goroutines at once.
func (w *Writer) Add(ctx context.Context, op Op) error {
	if g := w.s.gone; g != nil {
		if batch, wait := g.note(op, w); wait {
			return g.entomb(ctx, batch)
		}
	}
	return w.send(ctx, op)
}

func (w *Writer) send(ctx context.Context, op Op) error {
	if err := w.s.main.add(ctx, op, &w.main); err != nil {
		return err
	}
	if w.s.next != nil {
		return w.s.next.add(ctx, op, &w.next)
	}
	return nil
}

// Close flushes what is queued, once every writer sharing the stream is
// closed, and returns the outcome of this writer's ops. The rebuild's
// copy only adds what must be retried: its index may have become the main
// one (and so already answered) or been dropped. A second Close returns
// the first one's answer.
func (w *Writer) Close(ctx context.Context) (Outcome, error) {
	w.closeOnce.Do(func() {
		s := w.s
		s.mu.Lock()
		s.open--
		last := s.open == 0
		s.mu.Unlock()
		if last {
			s.err = s.flush(ctx)
			close(s.done)
		}
		<-s.done
		w.out = s.main.outcome(&w.main)
		if s.next != nil {
			if nout := s.next.outcome(&w.next); nout.Retryable > 0 {
				w.out.Retryable += nout.Retryable
				w.out.RetryableReason = "rebuild index: " + nout.RetryableReason
			}
		}
	})
	return w.out, w.s.err
}

// CloseAll closes writers opened together, all at once (one after the
// other, the first Close would wait for the others), and returns the
// first error.
func CloseAll(ctx context.Context, ws []*Writer) error {
	errs := make([]error, len(ws))
	var wg sync.WaitGroup
	for i, w := range ws {
		wg.Go(func() { _, errs[i] = w.Close(ctx) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// flush sends the deletes still waiting for their tombstones and what is
// queued, and takes away the tombstones of documents written again once
// every write holds.
func (s *shared) flush(ctx context.Context) error {
	var gerr error
	if s.gone != nil {
		gerr = s.gone.entomb(ctx, s.gone.waiting())
	}
	err := s.main.close(ctx)
	if s.gone != nil && err == nil && gerr == nil && s.retryable() == 0 {
		gerr = s.gone.unbury(ctx)
	}
	if err == nil {
		err = gerr
	}
	if s.next != nil {
		if nerr := s.next.close(ctx); err == nil {
			err = nerr
		}
	}
	return err
}

// retryable is how many ops on the main index may need sending again,
// counting those no answer covered.
func (s *shared) retryable() int {
	t := s.main
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.retryable + t.added - t.answered
}

// Write sends ops to the alias of kind and checks the result of every item.
func (ix Indices) Write(ctx context.Context, kind string, ops []Op) (Outcome, error) {
	w, err := ix.NewWriter(ctx, kind)
	if err != nil {
		return Outcome{}, err
	}
	for _, op := range ops {
		if err := w.Add(ctx, op); err != nil {
			_, _ = w.Close(ctx)
			return Outcome{}, err
		}
	}
	return w.Close(ctx)
}
