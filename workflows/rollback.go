package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
)

// RollbackWorkflowID is the business key of a rollback: one per alias.
func RollbackWorkflowID(alias string) string { return "rollback:" + alias }

// RollbackInput asks to return the alias of kind to the previous index.
type RollbackInput struct {
	Kind string `json:"kind"`
}

// RollbackResult is a finished rollback.
type RollbackResult struct {
	Kind string `json:"kind"`
	From string `json:"from"`
	To   string `json:"to"`
	// Since: what changed from then on was replayed onto To.
	Since    time.Time `json:"since"`
	Reloaded int       `json:"reloaded"`
	Deleted  int       `json:"deleted"`
	Seconds  float64   `json:"seconds"`
}

// Rollback returns the alias of kind to the previous index without
// bringing back what was deleted, depublished or decided since that index
// was left: it opens the old index to live writes, loads again the
// records and editorial decisions changed since, replays the deletions
// since (tombstones), and only then moves the alias. A rollback that fails
// leaves the alias where it was.
func Rollback(ctx workflow.Context, in RollbackInput) (RollbackResult, error) {
	start := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 6 * time.Hour,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var plan activities.RollbackPlan
	if err := workflow.ExecuteActivity(actx, x.BeginRollback, in.Kind).Get(ctx, &plan); err != nil {
		return RollbackResult{}, err
	}
	fail := func(err error) (RollbackResult, error) {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		dctx = workflow.WithActivityOptions(dctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: &temporal.RetryPolicy{MaximumAttempts: 5}})
		_ = workflow.ExecuteActivity(dctx, x.AbandonRollback, activities.FinishRollbackInput{Kind: in.Kind, Index: plan.To}).Get(dctx, nil)
		return RollbackResult{}, err
	}
	var cu activities.CatchUpResult
	if err := workflow.ExecuteActivity(actx, x.CatchUp, activities.CatchUpInput{Kind: in.Kind, Index: plan.To, Since: plan.Since, Reused: true}).Get(ctx, &cu); err != nil {
		return fail(err)
	}
	var deleted int
	if err := workflow.ExecuteActivity(actx, x.ReplayDeletions, activities.ReplayInput{Index: plan.To, Since: plan.Since}).Get(ctx, &deleted); err != nil {
		return fail(err)
	}
	if err := workflow.ExecuteActivity(actx, x.FinishRollback, activities.FinishRollbackInput{Kind: in.Kind, Index: plan.To}).Get(ctx, nil); err != nil {
		return fail(err)
	}
	return RollbackResult{
		Kind: in.Kind, From: plan.From, To: plan.To, Since: plan.Since, Reloaded: cu.Reloaded, Deleted: deleted,
		Seconds: workflow.Now(ctx).Sub(start).Seconds(),
	}, nil
}
