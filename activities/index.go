package activities

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// Indexing holds the activities that build indices from S3 alone.
type Indexing struct {
	Store  *s3store.Store
	Index  esindex.Indices
	Logger *slog.Logger
	Now    func() time.Time
}

func (x *Indexing) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// Error types a rebuild tells apart.
const ErrCountMismatch = "CountMismatch"

// BeginRebuild creates the index a rebuild of kind loads.
func (x *Indexing) BeginRebuild(ctx context.Context, kind string) (string, error) {
	name, err := x.Index.BeginBuild(ctx, kind)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "BeginRebuild", err)
	}
	return name, nil
}

// LoadInput asks for one page of records into the new index.
type LoadInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	Token string `json:"token,omitempty"`
}

// LoadResult counts a page.
type LoadResult struct {
	Read     int    `json:"read"`
	Indexed  int    `json:"indexed"`
	Skipped  int    `json:"skipped"` // not visible to teachers (education)
	Rejected int    `json:"rejected"`
	Next     string `json:"next,omitempty"`
}

// recordsPerLoad is how many records one load activity reads.
const recordsPerLoad = 1000

// LoadRecords reads a page of mapped records from S3, with the editors'
// decisions on them, and writes them to the index being built.
func (x *Indexing) LoadRecords(ctx context.Context, in LoadInput) (LoadResult, error) {
	var out LoadResult
	objs, next, err := x.Store.ListPage(ctx, "records/", in.Token, recordsPerLoad)
	if err != nil {
		return out, err
	}
	out.Next = next
	w, err := x.Index.IndexWriter(in.Index)
	if err != nil {
		return out, err
	}
	now := x.now().UTC()
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(recordWriters)
	for i, o := range objs {
		if !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		g.Go(func() error {
			var rec mappings.Record
			if err := x.Store.GetJSON(ctx, o.Key, &rec); err != nil {
				if s3store.IsNotFound(err) {
					return nil // deleted since the listing; the dual write removed it
				}
				return err
			}
			ed, err := readEditorial(ctx, x.Store, rec.ExternalID)
			if err != nil {
				return err
			}
			if ed != nil {
				ed.Apply(&rec)
			}
			cat, edu, err := esindex.Project(rec, x.Store.URI(o.Key), now)
			if err != nil {
				return err
			}
			op := cat
			if in.Kind == esindex.Education {
				op = edu
			}
			mu.Lock()
			out.Read++
			if op.Doc == nil {
				out.Skipped++
			}
			mu.Unlock()
			if op.Doc == nil {
				return nil
			}
			return w.Add(ctx, op)
		})
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	gerr := g.Wait()
	res, err := w.Close(ctx)
	if gerr != nil {
		return out, gerr
	}
	if err != nil {
		return out, err
	}
	if res.Retryable > 0 {
		return out, fmt.Errorf("rebuild of %s: %d writes need another attempt: %s", in.Index, res.Retryable, res.RetryableReason)
	}
	out.Indexed, out.Rejected = res.Indexed, len(res.Rejected)
	for _, r := range res.Rejected {
		x.log().Warn("rebuild: document refused", "index", in.Index, "id", r.ID, "reason", r.Reason)
	}
	return out, nil
}

// FinishRebuildInput checks a loaded index.
type FinishRebuildInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	// Expected is the number of documents the load counted (education).
	Expected  int `json:"expected"`
	Tolerance int `json:"tolerance"`
}

// FinishRebuildResult is what the check found.
type FinishRebuildResult struct {
	Docs     int `json:"docs"`
	Expected int `json:"expected"`
}

// FinishRebuild restores the index's serving settings and compares its
// documents with S3: every record for the catalog, the visible ones the
// load counted for the education index. A difference beyond the tolerance
// stops the rebuild before the swap.
func (x *Indexing) FinishRebuild(ctx context.Context, in FinishRebuildInput) (FinishRebuildResult, error) {
	if err := x.Index.FinishBuild(ctx, in.Kind, in.Index); err != nil {
		return FinishRebuildResult{}, err
	}
	docs, err := x.Index.CountIndex(ctx, in.Index)
	if err != nil {
		return FinishRebuildResult{}, err
	}
	expected := in.Expected
	if in.Kind == esindex.Catalog {
		objs, err := x.Store.List(ctx, "records/")
		if err != nil {
			return FinishRebuildResult{}, err
		}
		expected = len(objs)
	}
	res := FinishRebuildResult{Docs: docs, Expected: expected}
	if diff := docs - expected; diff > in.Tolerance || -diff > in.Tolerance {
		msg := fmt.Sprintf("index %s holds %d documents, S3 %d records: a difference of %d, over the tolerance of %d; the alias was not moved",
			in.Index, docs, expected, diff, in.Tolerance)
		return res, temporal.NewNonRetryableApplicationError(msg, ErrCountMismatch, nil)
	}
	return res, nil
}

// SwapInput moves an alias to a rebuilt index.
type SwapInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	Keep  int    `json:"keep"`
}

// SwapResult names the indices the alias left and those deleted.
type SwapResult struct {
	Previous []string `json:"previous,omitempty"`
	Pruned   []string `json:"pruned,omitempty"`
}

// SwapIndex points the alias at the rebuilt index in one call and deletes
// old indices beyond the Keep most recent.
func (x *Indexing) SwapIndex(ctx context.Context, in SwapInput) (SwapResult, error) {
	prev, err := x.Index.Swap(ctx, in.Kind, in.Index)
	if err != nil {
		return SwapResult{}, err
	}
	pruned, err := x.Index.Prune(ctx, in.Kind, in.Keep)
	return SwapResult{Previous: prev, Pruned: pruned}, err
}

// AbandonRebuild deletes the index of a rebuild that failed.
func (x *Indexing) AbandonRebuild(ctx context.Context, index string) error {
	return x.Index.Abandon(ctx, index)
}

func (x *Indexing) log() *slog.Logger {
	if x.Logger != nil {
		return x.Logger
	}
	return slog.Default()
}
