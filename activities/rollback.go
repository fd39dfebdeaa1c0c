package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// RollbackPlan is where a rollback goes and what it must replay.
type RollbackPlan struct {
	From string `json:"from"`
	To   string `json:"to"`
	// Since is when To began to miss writes.
	Since time.Time `json:"since"`
}

// BeginRollback chooses the index a rollback of kind returns to (the
// newest older than the current) and opens it to live writes, so that
// nothing written while it catches up is lost. A rebuild under way makes
// it refuse.
func (x *Indexing) BeginRollback(ctx context.Context, kind string) (RollbackPlan, error) {
	from, to, since, err := x.Index.RollbackPlan(ctx, kind, WriterLifetime)
	if err != nil {
		return RollbackPlan{}, temporal.NewNonRetryableApplicationError(err.Error(), "NoRollback", nil)
	}
	if err := x.Index.Reopen(ctx, kind, to); err != nil {
		if errors.Is(err, esindex.ErrBuilding) {
			return RollbackPlan{}, temporal.NewNonRetryableApplicationError(err.Error(), "NoRollback", nil)
		}
		return RollbackPlan{}, err
	}
	return RollbackPlan{From: from, To: to, Since: since}, nil
}

// ReplayInput names an index and the moment from which it missed
// deletions.
type ReplayInput struct {
	Index string    `json:"index"`
	Since time.Time `json:"since"`
}

// ReplayDeletions deletes from index the documents whose records the
// sources deleted since then (the tombstones), unless the record came
// back meanwhile.
func (x *Indexing) ReplayDeletions(ctx context.Context, in ReplayInput) (int, error) {
	objs, err := x.Store.List(ctx, bucket.TombstonePrefix)
	if err != nil {
		return 0, err
	}
	w, err := x.Index.IndexWriter(in.Index)
	if err != nil {
		return 0, err
	}
	n := 0
	for i, o := range objs {
		if o.LastModified.Before(in.Since) || !strings.HasSuffix(o.Key, ".json") {
			continue
		}
		var t bucket.Tombstone
		if err := x.Store.GetJSON(ctx, o.Key, &t); err != nil {
			_, _ = w.Close(ctx)
			return n, err
		}
		if t.Identifier != "" {
			if _, err := x.Store.Head(ctx, bucket.RecordKey(t.Source, t.Identifier)); err == nil {
				continue // harvested again since: the catch-up loaded it
			} else if !s3store.IsNotFound(err) {
				_, _ = w.Close(ctx)
				return n, err
			}
		}
		if err := w.Add(ctx, esindex.Op{ID: t.ID, Ref: t.Identifier}); err != nil {
			_, _ = w.Close(ctx)
			return n, err
		}
		n++
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	res, err := w.Close(ctx)
	if err != nil {
		return n, err
	}
	if res.Retryable > 0 || len(res.Rejected) > 0 {
		return n, fmt.Errorf("replaying deletions onto %s: %d deletes need another attempt: %s", in.Index, res.Retryable+len(res.Rejected), res.RetryableReason)
	}
	return n, nil
}

// FinishRollbackInput moves an alias back.
type FinishRollbackInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
}

// FinishRollback makes the caught-up index visible and points the alias
// at it; the index it leaves stays, for a roll forward.
func (x *Indexing) FinishRollback(ctx context.Context, in FinishRollbackInput) error {
	if err := x.Index.FinishBuild(ctx, in.Kind, in.Index); err != nil {
		return err
	}
	_, err := x.Index.Swap(ctx, in.Kind, in.Index)
	return err
}

// AbandonRollback closes the index a failed rollback opened to writes; the
// alias stays where it was.
func (x *Indexing) AbandonRollback(ctx context.Context, in FinishRollbackInput) error {
	return x.Index.Unopen(ctx, in.Kind, in.Index)
}
