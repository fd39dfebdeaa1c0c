package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
)

// RebuildWorkflowID is the business key of a rebuild: one per index alias.
func RebuildWorkflowID(alias string) string { return "rebuild:" + alias }

// RebuildInput starts a rebuild of one kind of index, and carries its
// progress across continue-as-new.
type RebuildInput struct {
	Kind string `json:"kind"`
	// Tolerance is how far the document count may differ from S3.
	Tolerance int `json:"tolerance"`
	// Keep is how many previous indices stay for rollback.
	Keep int `json:"keep"`

	Index     string                `json:"index,omitempty"`
	Token     string                `json:"token,omitempty"`
	Pages     int                   `json:"pages,omitempty"`
	Loaded    activities.LoadResult `json:"loaded"`
	StartedAt time.Time             `json:"started_at"`
}

// RebuildResult is a finished rebuild.
type RebuildResult struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	// Docs in the new index, Expected by S3, Records in S3.
	Docs     int `json:"docs"`
	Expected int `json:"expected"`
	Records  int `json:"records"`
	// Read by the load, Skipped as not visible (education), Rejected by
	// Elasticsearch (quarantined), Reloaded by the catch-up.
	Read       int      `json:"read"`
	Skipped    int      `json:"skipped"`
	Rejected   int      `json:"rejected"`
	Reloaded   int      `json:"reloaded"`
	Previous   []string `json:"previous,omitempty"`
	Pruned     []string `json:"pruned,omitempty"`
	PruneError string   `json:"prune_error,omitempty"`
	Seconds    float64  `json:"seconds"`
}

// rebuildPagesPerRun bounds each run's history.
const rebuildPagesPerRun = 200

// Rebuild fills a new index from the mapped records in S3 (never the
// providers), with refresh off and no replicas; catches up with what
// changed meanwhile; restores its settings; checks its document count
// against S3; and only then moves the alias to it in one call, keeping the
// previous index for rollback. Writes made meanwhile reach the new index
// too (the -next alias). A rebuild that fails drops its index and leaves
// the alias where it was.
func Rebuild(ctx workflow.Context, in RebuildInput) (RebuildResult, error) {
	if in.StartedAt.IsZero() {
		in.StartedAt = workflow.Now(ctx)
	}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (RebuildInput, error) { return in, nil }); err != nil {
		return RebuildResult{}, err
	}
	retry := &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry,
	})
	if in.Index == "" {
		if err := workflow.ExecuteActivity(actx, x.BeginRebuild, in.Kind).Get(ctx, &in.Index); err != nil {
			return RebuildResult{}, err
		}
	}
	fail := func(err error) (RebuildResult, error) {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 5}})
		_ = workflow.ExecuteActivity(dctx, x.AbandonRebuild, activities.AbandonInput{Kind: in.Kind, Index: in.Index}).Get(dctx, nil)
		return RebuildResult{}, err
	}
	for run := 0; !in.Loaded.Done; run++ {
		if run >= rebuildPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return RebuildResult{}, workflow.NewContinueAsNewError(ctx, Rebuild, in)
		}
		var page activities.LoadResult
		err := workflow.ExecuteActivity(actx, x.LoadRecords, activities.LoadInput{Kind: in.Kind, Index: in.Index, Page: in.Pages, Token: in.Token}).Get(ctx, &page)
		if err != nil {
			return fail(err)
		}
		in.Pages++
		in.Loaded.Read += page.Read
		in.Loaded.Indexed += page.Indexed
		in.Loaded.Skipped += page.Skipped
		in.Loaded.Rejected += page.Rejected
		in.Token = page.Next
		in.Loaded.Done = page.Next == ""
	}
	// The catch-up lists every record once more: it gets a long limit and
	// proves it is alive by heartbeats.
	cctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         retry,
	})
	since := in.StartedAt.Add(-activities.WriterLifetime)
	var cu activities.CatchUpResult
	var fin activities.FinishRebuildResult
	// A write landing between the catch-up's listing and the count can
	// make them differ for a moment: one more round settles that.
	for round := 1; ; round++ {
		err := workflow.ExecuteActivity(cctx, x.CatchUp, activities.CatchUpInput{Kind: in.Kind, Index: in.Index, Since: since, Pages: in.Pages}).Get(ctx, &cu)
		if err != nil {
			return fail(err)
		}
		err = workflow.ExecuteActivity(actx, x.FinishRebuild, activities.FinishRebuildInput{
			Kind: in.Kind, Index: in.Index, Expected: cu.Expected, Tolerance: in.Tolerance,
		}).Get(ctx, &fin)
		var appErr *temporal.ApplicationError
		if err != nil && round < 2 && errors.As(err, &appErr) && appErr.Type() == activities.ErrCountMismatch {
			continue
		}
		if err != nil {
			return fail(err)
		}
		break
	}
	var swap activities.SwapResult
	if err := workflow.ExecuteActivity(actx, x.SwapIndex, activities.SwapInput{Kind: in.Kind, Index: in.Index, Keep: in.Keep}).Get(ctx, &swap); err != nil {
		return fail(err)
	}
	return RebuildResult{
		Kind: in.Kind, Index: in.Index, Docs: fin.Docs, Expected: fin.Expected, Records: cu.Records,
		Read: in.Loaded.Read, Skipped: in.Loaded.Skipped, Rejected: fin.Refused, Reloaded: cu.Reloaded,
		Previous: swap.Previous, Pruned: swap.Pruned, PruneError: swap.PruneError,
		Seconds: workflow.Now(ctx).Sub(in.StartedAt).Seconds(),
	}, nil
}
