package esindex

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/elastic/go-elasticsearch/v8/esutil"
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

// Writer streams ops to one index through the bulk indexer, which flushes
// by size, so memory stays bounded however many ops pass through.
type Writer struct {
	bi         esutil.BulkIndexer
	mu         sync.Mutex
	out        Outcome
	added      int
	indexerErr error
}

// NewWriter opens a writer on the alias of kind.
func (ix Indices) NewWriter(kind string) (*Writer, error) {
	w := &Writer{}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:       ix.ES,
		Index:        ix.Alias(kind),
		NumWorkers:   1,
		FlushBytes:   5 << 20,
		RequireAlias: true, // never create a stray index named like the alias
		OnError: func(_ context.Context, err error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if w.indexerErr == nil {
				w.indexerErr = err
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("bulk indexer: %w", err)
	}
	w.bi = bi
	return w, nil
}

// Add queues one op.
func (w *Writer) Add(ctx context.Context, op Op) error {
	item := esutil.BulkIndexerItem{
		DocumentID: op.ID,
		OnSuccess: func(_ context.Context, it esutil.BulkIndexerItem, _ esutil.BulkIndexerResponseItem) {
			w.mu.Lock()
			defer w.mu.Unlock()
			if it.Action == "delete" {
				w.out.Deleted++
			} else {
				w.out.Indexed++
			}
		},
		OnFailure: func(_ context.Context, it esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
			w.mu.Lock()
			defer w.mu.Unlock()
			switch {
			case err != nil:
				w.out.Retryable++
				w.out.RetryableReason = err.Error()
			case it.Action == "delete" && res.Status == http.StatusNotFound:
				w.out.Deleted++ // already gone: the delete's goal holds
			case res.Status == http.StatusTooManyRequests || res.Status >= 500:
				w.out.Retryable++
				w.out.RetryableReason = fmt.Sprintf("HTTP %d %s: %s", res.Status, res.Error.Type, res.Error.Reason)
			default:
				w.out.Rejected = append(w.out.Rejected, Rejection{
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
	if err := w.bi.Add(ctx, item); err != nil {
		return fmt.Errorf("bulk add %s: %w", op.ID, err)
	}
	w.mu.Lock()
	w.added++
	w.mu.Unlock()
	return nil
}

// Close flushes what is queued and returns the outcome of every op.
func (w *Writer) Close(ctx context.Context) (Outcome, error) {
	if err := w.bi.Close(ctx); err != nil {
		return w.out, fmt.Errorf("bulk close: %w", err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	// An unreadable bulk response calls neither callback: such ops are
	// unaccounted for, so they count as retryable rather than as written.
	answered := w.out.Indexed + w.out.Deleted + len(w.out.Rejected) + w.out.Retryable
	if missing := w.added - answered; missing > 0 {
		w.out.Retryable += missing
		if w.out.RetryableReason == "" && w.indexerErr != nil {
			w.out.RetryableReason = w.indexerErr.Error()
		}
	}
	if w.out.Retryable > 0 && w.out.RetryableReason == "" {
		w.out.RetryableReason = "no result for some items"
	}
	return w.out, nil
}

// Write sends ops to the alias of kind and checks the result of every item.
func (ix Indices) Write(ctx context.Context, kind string, ops []Op) (Outcome, error) {
	w, err := ix.NewWriter(kind)
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
