package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
)

// harvestBucket harvests a partner bucket: it lists the bucket and
// compares the listing with the last completed run's manifest (one
// activity, whose lists stay in S3), reads what is new or changed in
// batches that run several at once on any worker, deletes the records of
// what vanished, and only then makes the listing the manifest the next
// run compares with. The history holds batches and counts, never keys.
func harvestBucket(ctx workflow.Context, in HarvestInput, st *Status, pageCtx workflow.Context) (HarvestResult, error) {
	if in.Listing == nil {
		lctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: 3 * time.Hour,
			HeartbeatTimeout:    2 * time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{InitialInterval: 2 * time.Second, MaximumInterval: time.Minute, MaximumAttempts: 5},
		})
		var l activities.ListResult
		err := workflow.ExecuteActivity(lctx, a.ListS3, activities.ListInput{
			Source: in.Source, HarvestID: in.HarvestID, Full: in.Full,
		}).Get(ctx, &l)
		if err != nil {
			return finish(ctx, in, st, err)
		}
		in.Listing = &l
		in.Counts.Listed, in.Counts.Unchanged = l.Listed, l.Unchanged
		st.Counts, st.ListSize = in.Counts, l.Added+l.Changed
	}
	l := in.Listing
	_, _, parallel := in.Source.S3.Limits()

	// Batches, up to parallel at once; a run starts at most
	// MaxPagesPerRun of them before it continues as new.
	batches := &pageRuns{in: &in, st: st}
	for started := 0; batches.err == nil && in.Page < l.Batches && started < in.Limits.MaxPagesPerRun && ctx.Err() == nil; started++ {
		batches.waitBelow(ctx, parallel)
		if batches.err != nil || ctx.Err() != nil {
			break
		}
		in.Page++
		batches.start(workflow.ExecuteActivity(pageCtx, a.HarvestPage, activities.PageInput{
			Source: in.Source, HarvestID: in.HarvestID, Page: in.Page, RetryBase: in.Timeouts.RetryBase,
		}))
		st.Page = in.Page
	}
	runErr := batches.drain(ctx)
	if runErr == nil && ctx.Err() != nil {
		runErr = temporal.NewCanceledError()
	}
	if runErr != nil {
		st.Counts, st.Quarantine = in.Counts, in.Quarantine
		return finish(ctx, in, st, runErr)
	}
	if in.Page < l.Batches {
		return HarvestResult{}, workflow.NewContinueAsNewError(ctx, Harvest, in)
	}

	// What vanished goes, unless it is too much to be true.
	if err := activities.MassDelete(in.Source.ID, "", l.Removed, l.Previous, in.AllowMassDelete); err != nil {
		return finish(ctx, in, st, err)
	}
	rctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	for ; in.RemovedChunks < l.RemovedChunks; in.RemovedChunks++ {
		var n int
		err := workflow.ExecuteActivity(rctx, a.RemoveGone, activities.RemoveInput{
			Source: in.Source.ID, HarvestID: in.HarvestID, Chunk: in.RemovedChunks,
		}).Get(ctx, &n)
		if err != nil {
			return finish(ctx, in, st, err)
		}
		in.Counts.Swept += n
		st.Counts = in.Counts
	}
	err := workflow.ExecuteActivity(rctx, a.CommitManifest, activities.CommitInput{
		Source: in.Source.ID, HarvestID: in.HarvestID,
	}).Get(ctx, nil)
	if err != nil {
		return finish(ctx, in, st, err)
	}
	return finish(ctx, in, st, nil)
}
