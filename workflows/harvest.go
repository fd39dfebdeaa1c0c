// Package workflows holds avo's Temporal workflows: deterministic, free of
// I/O, passing keys and counts between activities.
package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// StatusQuery is the query that returns a harvest's Status.
const StatusQuery = "status"

// Search attributes that operators filter harvests by.
var (
	SourceAttribute = temporal.NewSearchAttributeKeyKeyword("AvoSource")
	SetAttribute    = temporal.NewSearchAttributeKeyKeyword("AvoSet")
)

// HarvestWorkflowID is the business key of a harvest: Temporal refuses a
// second running harvest of the same source and set.
func HarvestWorkflowID(source, set string) string {
	if set == "" {
		set = "*"
	}
	return "harvest:" + source + "/" + set
}

// HarvestInput starts a harvest, and carries its progress across
// continue-as-new.
type HarvestInput struct {
	Source    sources.Source `json:"source"`
	Set       string         `json:"set,omitempty"`
	HarvestID string         `json:"harvest_id"`
	From      string         `json:"from,omitempty"`
	Until     string         `json:"until,omitempty"`
	// MaxPagesPerRun forces continue-as-new after that many pages (besides
	// Temporal's own suggestion), which keeps each run's history small.
	MaxPagesPerRun int `json:"max_pages_per_run,omitempty"`

	// Progress, set by the workflow itself when it continues as new.
	Cursor     string                            `json:"cursor,omitempty"`
	Page       int                               `json:"page,omitempty"`
	Counts     activities.Counts                 `json:"counts"`
	Quarantine map[string]activities.KindSummary `json:"quarantine,omitempty"`
	StartedAt  time.Time                         `json:"started_at"`
	Restarts   int                               `json:"restarts,omitempty"`
}

// HarvestResult is the outcome of a finished harvest.
type HarvestResult struct {
	Counts    activities.Counts `json:"counts"`
	ReportKey string            `json:"report_key"`
	Seconds   float64           `json:"seconds"`
}

// Status is what `avo harvest status` shows while a harvest runs.
type Status struct {
	Source     string                            `json:"source"`
	Set        string                            `json:"set,omitempty"`
	HarvestID  string                            `json:"harvest_id"`
	State      string                            `json:"state"`
	Page       int                               `json:"page"`
	Cursor     string                            `json:"cursor,omitempty"`
	ListSize   int                               `json:"list_size,omitempty"`
	Counts     activities.Counts                 `json:"counts"`
	Quarantine map[string]activities.KindSummary `json:"quarantine,omitempty"`
	StartedAt  time.Time                         `json:"started_at"`
	UpdatedAt  time.Time                         `json:"updated_at"`
}

// Defaults of a harvest.
const (
	DefaultMaxPagesPerRun = 500
	// maxRestarts bounds how often an expired resumption token restarts
	// the window before the run gives up.
	maxRestarts = 3
)

var a *activities.Harvest

// Harvest harvests one source (and set): page by page, each page one
// activity, continuing as new to keep history bounded.
func Harvest(ctx workflow.Context, in HarvestInput) (HarvestResult, error) {
	if in.Source.ID == "" || in.HarvestID == "" {
		return HarvestResult{}, temporal.NewNonRetryableApplicationError("harvest needs a source and a harvest id", "BadInput", nil)
	}
	if in.MaxPagesPerRun <= 0 {
		in.MaxPagesPerRun = DefaultMaxPagesPerRun
	}
	if in.StartedAt.IsZero() {
		in.StartedAt = workflow.Now(ctx)
	}
	log := workflow.GetLogger(ctx)
	st := Status{
		Source: in.Source.ID, Set: in.Set, HarvestID: in.HarvestID, State: "running",
		Page: in.Page, Cursor: in.Cursor, Counts: in.Counts, Quarantine: in.Quarantine,
		StartedAt: in.StartedAt, UpdatedAt: workflow.Now(ctx),
	}
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (Status, error) { return st, nil }); err != nil {
		return HarvestResult{}, err
	}

	pageCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 15 * time.Minute,
		HeartbeatTimeout:    2 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    2 * time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    5 * time.Minute,
			MaximumAttempts:    10,
		},
	})
	var delay time.Duration
	if in.Source.OAI != nil {
		delay = time.Duration(in.Source.OAI.Delay)
	}
	responseDate := ""
	for pagesThisRun := 0; ; pagesThisRun++ {
		if pagesThisRun >= in.MaxPagesPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			log.Info("continuing as new", "page", in.Page)
			return HarvestResult{}, workflow.NewContinueAsNewError(ctx, Harvest, in)
		}
		if delay > 0 && in.Page > 0 {
			if err := workflow.Sleep(ctx, delay); err != nil {
				return finish(ctx, in, &st, responseDate, err)
			}
		}
		var page activities.PageResult
		err := workflow.ExecuteActivity(pageCtx, a.HarvestPage, activities.PageInput{
			Source: in.Source, Set: in.Set, HarvestID: in.HarvestID, Page: in.Page + 1,
			Cursor: in.Cursor, From: in.From, Until: in.Until,
		}).Get(ctx, &page)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrBadResumptionToken && in.Restarts < maxRestarts {
			// The token expired: harvest the window again from its start.
			// Writes are idempotent, so records seen twice are stored once.
			log.Warn("resumption token refused; restarting the window", "page", in.Page+1)
			in.Restarts++
			in.Cursor = ""
			continue
		}
		if err != nil {
			return finish(ctx, in, &st, responseDate, err)
		}
		in.Page++
		in.Cursor = page.Next
		in.Counts.Add(page.Counts)
		in.Quarantine = activities.AddQuarantine(in.Quarantine, page.Quarantine)
		if responseDate == "" {
			responseDate = page.ResponseDate
		}
		st.Page, st.Cursor, st.ListSize = in.Page, in.Cursor, page.ListSize
		st.Counts, st.Quarantine, st.UpdatedAt = in.Counts, in.Quarantine, workflow.Now(ctx)
		if page.Next == "" {
			return finish(ctx, in, &st, responseDate, nil)
		}
	}
}

// finish writes the run's report, whatever its outcome, and returns the
// result or the run's error: a failed run never reports success.
func finish(ctx workflow.Context, in HarvestInput, st *Status, responseDate string, runErr error) (HarvestResult, error) {
	status := activities.StatusCompleted
	errText := ""
	switch {
	case temporal.IsCanceledError(runErr):
		status = activities.StatusCancelled
		errText = "cancelled"
	case runErr != nil:
		status = activities.StatusFailed
		errText = runErr.Error()
	}
	st.State = status
	// A cancelled workflow's context refuses new activities; the report
	// goes out on a context that is not cancelled.
	rctx, _ := workflow.NewDisconnectedContext(ctx)
	rctx = workflow.WithActivityOptions(rctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
	})
	now := workflow.Now(ctx)
	var fin activities.FinishResult
	err := workflow.ExecuteActivity(rctx, a.FinishHarvest, activities.Report{
		Source: in.Source.ID, Set: in.Set, HarvestID: in.HarvestID, Status: status, Error: errText,
		From: in.From, Until: in.Until, ResponseDate: responseDate,
		Counts: in.Counts, Quarantine: in.Quarantine, StartedAt: in.StartedAt, FinishedAt: now,
	}).Get(rctx, &fin)
	if runErr != nil {
		if err != nil {
			return HarvestResult{}, fmt.Errorf("%w (and the report could not be written: %v)", runErr, err)
		}
		return HarvestResult{}, runErr
	}
	if err != nil {
		return HarvestResult{}, fmt.Errorf("harvest done but its report could not be written: %w", err)
	}
	return HarvestResult{Counts: in.Counts, ReportKey: fin.ReportKey, Seconds: now.Sub(in.StartedAt).Seconds()}, nil
}
