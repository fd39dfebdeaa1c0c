package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
)

// RemapWorkflowID is the business key of a replay of a source: one at a
// time.
func RemapWorkflowID(source string) string { return "replay:" + source }

// RemapInput replays a source's raw records through today's mapping, and
// carries its progress across continue-as-new.
type RemapInput struct {
	Source   string `json:"source"`
	ReplayID string `json:"replay_id"`
	Page     int    `json:"page,omitempty"`
	Token    string `json:"token,omitempty"`
	// Result so far.
	Result RemapResult `json:"result"`
}

// RemapResult is what a replay did.
type RemapResult struct {
	Source       string                        `json:"source"`
	ReplayID     string                        `json:"replay_id"`
	Counts       bucket.Counts                 `json:"counts"`
	Unreplayable int                           `json:"unreplayable"`
	Examples     []string                      `json:"examples"`
	Quarantine   map[string]bucket.KindSummary `json:"quarantine,omitempty"`
}

// Remap maps every stored record of a source again from the raw form its
// harvest kept, page by page, without reading the partner.
func Remap(ctx workflow.Context, in RemapInput) (RemapResult, error) {
	in.Result.Source, in.Result.ReplayID = in.Source, in.ReplayID
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (RemapResult, error) { return in.Result, nil }); err != nil {
		return in.Result, err
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute, MaximumAttempts: 10},
	})
	for pages := 0; ; pages++ {
		if pages >= DefaultMaxPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			return in.Result, workflow.NewContinueAsNewError(ctx, Remap, in)
		}
		var page activities.RemapResult
		err := workflow.ExecuteActivity(actx, a.RemapPage, activities.RemapInput{
			Source: in.Source, ReplayID: in.ReplayID, Page: in.Page + 1, Token: in.Token,
		}).Get(ctx, &page)
		if err != nil {
			return in.Result, err
		}
		in.Page++
		r := &in.Result
		r.Counts.Add(page.Counts)
		r.Counts.Pages++
		r.Unreplayable += page.Unreplayable
		if room := 5 - len(r.Examples); room > 0 {
			r.Examples = append(r.Examples, page.Examples[:min(room, len(page.Examples))]...)
		}
		r.Quarantine = bucket.MergeQuarantine(r.Quarantine, page.Quarantine)
		if page.Next == "" {
			return *r, nil
		}
		in.Token = page.Next
	}
}
