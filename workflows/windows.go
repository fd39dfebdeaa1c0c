package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
)

// WindowsScheduleID names the schedule that keeps the education index in
// step with publish windows.
const WindowsScheduleID = "visibility"

// WindowsInput sets how far back a run looks: more than the schedule's
// interval, so a late or missed run loses nothing.
type WindowsInput struct {
	Lookback time.Duration `json:"lookback"`
}

// Windows applies the publish windows that opened or closed lately to the
// education index: an item published from 9:00 appears at the first run
// after 9:00, one depublished at 17:00 goes at the first run after it.
func Windows(ctx workflow.Context, in WindowsInput) (activities.WindowsResult, error) {
	to := workflow.Now(ctx)
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	var res activities.WindowsResult
	err := workflow.ExecuteActivity(actx, x.ApplyWindows, activities.WindowsInput{From: to.Add(-in.Lookback), To: to}).Get(ctx, &res)
	return res, err
}
