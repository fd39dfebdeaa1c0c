package esindex

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"

	"github.com/elastic/go-elasticsearch/v8/esutil"
)

// Op is one write: index Doc under ID, or delete ID when Doc is nil.
type Op struct {
	ID  string
	Doc []byte
}

// Outcome accounts for every op of a Write: each one is indexed, deleted,
// rejected or retryable, and the four add up to the number of ops.
type Outcome struct {
	Indexed int `json:"indexed"`
	Deleted int `json:"deleted"`
	// Rejected ops failed with a 4xx: sending them again cannot help.
	Rejected []Rejection `json:"rejected,omitempty"`
	// Retryable ops failed with 429, a 5xx, or no answer; the batch can be
	// sent again, since every write is idempotent.
	Retryable       int    `json:"retryable"`
	RetryableReason string `json:"retryable_reason,omitempty"`
}

// Rejection is a document Elasticsearch refused.
type Rejection struct {
	ID     string `json:"id"`
	Status int    `json:"status"`
	Reason string `json:"reason"`
}

// Write sends ops to the alias of kind through the bulk indexer and checks
// the result of every item.
func (ix Indices) Write(ctx context.Context, kind string, ops []Op) (Outcome, error) {
	var out Outcome
	if len(ops) == 0 {
		return out, nil
	}
	var mu sync.Mutex
	answered := make([]bool, len(ops))
	var indexerErr error
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:       ix.ES,
		Index:        ix.Alias(kind),
		NumWorkers:   1,
		FlushBytes:   5 << 20,
		RequireAlias: true, // never create a stray index named like the alias
		OnError: func(_ context.Context, err error) {
			mu.Lock()
			defer mu.Unlock()
			if indexerErr == nil {
				indexerErr = err
			}
		},
	})
	if err != nil {
		return out, fmt.Errorf("bulk indexer: %w", err)
	}
	for i, op := range ops {
		i, op := i, op
		item := esutil.BulkIndexerItem{
			DocumentID: op.ID,
			OnSuccess: func(_ context.Context, it esutil.BulkIndexerItem, _ esutil.BulkIndexerResponseItem) {
				mu.Lock()
				defer mu.Unlock()
				answered[i] = true
				if it.Action == "delete" {
					out.Deleted++
				} else {
					out.Indexed++
				}
			},
			OnFailure: func(_ context.Context, it esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				mu.Lock()
				defer mu.Unlock()
				answered[i] = true
				switch {
				case err != nil:
					out.Retryable++
					out.RetryableReason = err.Error()
				case it.Action == "delete" && res.Status == http.StatusNotFound:
					out.Deleted++ // already gone: the delete's goal holds
				case res.Status == http.StatusTooManyRequests || res.Status >= 500:
					out.Retryable++
					out.RetryableReason = fmt.Sprintf("HTTP %d %s: %s", res.Status, res.Error.Type, res.Error.Reason)
				default:
					out.Rejected = append(out.Rejected, Rejection{
						ID: op.ID, Status: res.Status, Reason: res.Error.Type + ": " + res.Error.Reason,
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
		if err := bi.Add(ctx, item); err != nil {
			_ = bi.Close(ctx)
			return out, fmt.Errorf("bulk add %s: %w", op.ID, err)
		}
	}
	if err := bi.Close(ctx); err != nil {
		return out, fmt.Errorf("bulk close: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// An unreadable bulk response calls neither callback: such items are
	// unaccounted, so they count as retryable rather than as written.
	for _, ok := range answered {
		if !ok {
			out.Retryable++
			if out.RetryableReason == "" && indexerErr != nil {
				out.RetryableReason = indexerErr.Error()
			}
		}
	}
	if out.Retryable > 0 && out.RetryableReason == "" {
		out.RetryableReason = "no result for some items"
	}
	return out, nil
}
