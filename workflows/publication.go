package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/internal/curation"
)

// PublicationWorkflowID is the business key of a curated set's publication.
func PublicationWorkflowID(set string) string { return "publish:" + set }

// ChangedSignal tells a publication that its set changed in S3 (approved,
// a new date, withdrawn, edited).
const ChangedSignal = "changed"

// Publication carries a curated set to teachers and away again: it waits
// for the set's approval (a signal) and its publish date (a durable
// timer), publishes it, waits for its depublish date, and depublishes it.
// S3 holds the set; the workflow holds only the waiting. Each wake-up
// syncs the set (an idempotent activity), so an editor's change while it
// waits (a new date, a withdrawal) takes effect at once, and a worker
// killed while it waits publishes exactly once, when it is due.
func Publication(ctx workflow.Context, set string) (curation.Outcome, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 10 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})
	changed := workflow.GetSignalChannel(ctx, ChangedSignal)
	var out curation.Outcome
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (curation.Outcome, error) { return out, nil }); err != nil {
		return out, err
	}
	for round := 0; ; round++ {
		if round >= 500 || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return out, workflow.NewContinueAsNewError(ctx, Publication, set)
		}
		// Signals that came before this sync are answered by it.
		for changed.ReceiveAsync(nil) {
		}
		if err := workflow.ExecuteActivity(actx, x.SyncSet, set).Get(ctx, &out); err != nil {
			return out, err
		}
		if !out.Pending && !changed.ReceiveAsync(nil) {
			return out, nil
		}
		wctx, cancel := workflow.WithCancel(ctx)
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(changed, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
		if out.Wake != nil {
			wait := out.Wake.Sub(workflow.Now(ctx))
			if wait < time.Second {
				wait = time.Second // the activity's clock and the workflow's may differ a little
			}
			sel.AddFuture(workflow.NewTimer(wctx, wait), func(workflow.Future) {})
		}
		sel.Select(ctx)
		cancel()
	}
}
