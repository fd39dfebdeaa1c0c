package esindex

import (
	"bytes"
	"context"
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

// target is a bulk indexer on one alias and the outcome of its items.
type target struct {
	bi         esutil.BulkIndexer
	mu         sync.Mutex
	out        Outcome
	added      int
	indexerErr error
	// goneOK: a missing alias is not a failure (a rebuild's -next alias,
	// removed when the rebuild swapped).
	goneOK bool
	gone   int
}

// Bulk request sizes. The indexer reserves a buffer of its flush size when
// it opens, and a worker opens two a page (a writer per index), several
// pages at once. A page's documents (a few tens of KB for small Dublin Core
// records, a few hundred for rich ones) go in one or two requests of
// pageFlushBytes, and a page does not leave 2 MB of garbage: at 1 MB,
// allocating the buffers took 4 % of a harvesting worker's CPU, before
// the collector's share. A rebuild streams a whole index through one
// writer and uses the larger requests Elasticsearch indexes best.
const (
	pageFlushBytes    = 256 << 10
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

func (t *target) add(ctx context.Context, op Op) error {
	item := esutil.BulkIndexerItem{
		DocumentID: op.ID,
		OnSuccess: func(_ context.Context, it esutil.BulkIndexerItem, _ esutil.BulkIndexerResponseItem) {
			t.mu.Lock()
			defer t.mu.Unlock()
			if it.Action == "delete" {
				t.out.Deleted++
			} else {
				t.out.Indexed++
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
			switch {
			case err != nil:
				t.out.Retryable++
				t.out.RetryableReason = err.Error()
			case it.Action == "delete" && res.Status == http.StatusNotFound && res.Error.Type == "":
				t.out.Deleted++ // already gone: the delete's goal holds
			case t.goneOK && res.Status == http.StatusNotFound:
				t.gone++
			case res.Status == http.StatusTooManyRequests || res.Status >= 500:
				t.out.Retryable++
				t.out.RetryableReason = fmt.Sprintf("HTTP %d %s: %s", res.Status, res.Error.Type, res.Error.Reason)
			default:
				t.out.Rejected = append(t.out.Rejected, Rejection{
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
	t.added++
	t.mu.Unlock()
	return nil
}

func (t *target) close(ctx context.Context) (Outcome, error) {
	if err := t.bi.Close(ctx); err != nil {
		return t.out, fmt.Errorf("bulk close: %w", err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// An unreadable bulk response calls neither callback: such ops are
	// unaccounted for, so they count as retryable rather than as written.
	answered := t.out.Indexed + t.out.Deleted + len(t.out.Rejected) + t.out.Retryable + t.gone
	if missing := t.added - answered; missing > 0 {
		t.out.Retryable += missing
		if t.out.RetryableReason == "" && t.indexerErr != nil {
			t.out.RetryableReason = t.indexerErr.Error()
		}
	}
	if t.out.Retryable > 0 && t.out.RetryableReason == "" {
		t.out.RetryableReason = "no result for some items"
	}
	return t.out, nil
}

// Writer streams ops to one kind of index through the bulk indexer, which
// flushes by size, so memory stays bounded however many ops pass through.
// While that kind is being rebuilt, every op also goes to the new index
// (the -next alias), so the rebuild misses nothing written meanwhile.
type Writer struct {
	main, next *target
	// gone keeps the education index's tombstones (nil for other kinds
	// and for a rebuild's loading).
	gone *goneLog
}

// NewWriter opens a writer on the alias of kind.
func (ix Indices) NewWriter(ctx context.Context, kind string) (*Writer, error) {
	main, err := ix.target(ix.Alias(kind), true, false, pageFlushBytes)
	if err != nil {
		return nil, err
	}
	w := &Writer{main: main}
	if kind == Education {
		w.gone = &goneLog{ix: ix}
	}
	building, err := ix.aliasExists(ctx, ix.NextAlias(kind))
	if err != nil {
		_, _ = main.close(ctx)
		return nil, err
	}
	if building {
		if w.next, err = ix.target(ix.NextAlias(kind), true, true, pageFlushBytes); err != nil {
			_, _ = main.close(ctx)
			return nil, err
		}
	}
	return w, nil
}

// IndexWriter writes to one physical index (a rebuild loading it).
func (ix Indices) IndexWriter(name string) (*Writer, error) {
	t, err := ix.target(name, false, false, rebuildFlushBytes)
	if err != nil {
		return nil, err
	}
	return &Writer{main: t}, nil
}

// Add queues one op; a page's writes add from many goroutines at once.
func (w *Writer) Add(ctx context.Context, op Op) error {
	if w.gone != nil {
		if batch, wait := w.gone.note(op); wait {
			return w.gone.entomb(ctx, batch, func(op Op) error { return w.send(ctx, op) })
		}
	}
	return w.send(ctx, op)
}

func (w *Writer) send(ctx context.Context, op Op) error {
	if err := w.main.add(ctx, op); err != nil {
		return err
	}
	if w.next != nil {
		return w.next.add(ctx, op)
	}
	return nil
}

// Close flushes what is queued and returns the outcome of every op. The
// rebuild's copy only adds what must be retried: its index may have become
// the main one (and so already answered) or been dropped.
func (w *Writer) Close(ctx context.Context) (Outcome, error) {
	var gerr error
	if w.gone != nil {
		gerr = w.gone.entomb(ctx, w.gone.waiting(), func(op Op) error { return w.send(ctx, op) })
	}
	out, err := w.main.close(ctx)
	if w.gone != nil && err == nil && gerr == nil && out.Retryable == 0 {
		gerr = w.gone.unbury(ctx)
	}
	if err == nil {
		err = gerr
	}
	if w.next != nil {
		nout, nerr := w.next.close(ctx)
		if err == nil {
			err = nerr
		}
		if nout.Retryable > 0 {
			out.Retryable += nout.Retryable
			out.RetryableReason = "rebuild index: " + nout.RetryableReason
		}
	}
	return out, err
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
