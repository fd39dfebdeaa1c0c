package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// ScheduleID names the schedule of a source's recurring harvest.
func ScheduleID(source string) string { return "harvest:" + source }

// ScheduleOptions shape a recurring harvest.
type ScheduleOptions struct {
	Every  time.Duration
	Paused bool
	Note   string
}

// ScheduleInfo describes a schedule for `avo schedule list`.
type ScheduleInfo struct {
	ID            string        `json:"id"`
	Source        string        `json:"source"`
	Every         time.Duration `json:"every"`
	Paused        bool          `json:"paused"`
	Note          string        `json:"note,omitempty"`
	Overlap       string        `json:"overlap"`
	CatchupWindow time.Duration `json:"catchup_window"`
	NextRuns      []time.Time   `json:"next_runs,omitempty"`
	LastRun       *time.Time    `json:"last_run,omitempty"`
}

// SetSchedule creates (or, when it exists, replaces) the Temporal Schedule
// that harvests src incrementally every o.Every. A run never overlaps the
// previous one (a run still busy makes the next one skip), and after an
// outage at most one missed run is made up, within one interval.
func (c *Client) SetSchedule(ctx context.Context, src sources.Source, o ScheduleOptions) error {
	if o.Every < time.Minute {
		return fmt.Errorf("a harvest schedule runs at most every minute, not every %s", o.Every)
	}
	action := &client.ScheduleWorkflowAction{
		ID:       SourceWorkflowID(src.ID),
		Workflow: HarvestSource,
		// The source by name: each run reads its settings when it starts.
		Args:                  []any{SourceInput{SourceID: src.ID}},
		TaskQueue:             c.TaskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(SourceAttribute.ValueSet(src.ID)),
	}
	spec := client.ScheduleSpec{
		Intervals: []client.ScheduleIntervalSpec{{Every: o.Every}},
		// Spread schedules that share an interval over its first tenth.
		Jitter: min(o.Every/10, 10*time.Minute),
	}
	h := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(src.ID))
	if _, err := h.Describe(ctx); err == nil {
		return h.Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				s := in.Description.Schedule
				s.Spec, s.Action = &spec, action
				s.Policy.Overlap = enumspb.SCHEDULE_OVERLAP_POLICY_SKIP
				s.Policy.CatchupWindow = o.Every
				s.State.Paused, s.State.Note = o.Paused, o.Note
				return &client.ScheduleUpdate{Schedule: &s}, nil
			},
		})
	}
	_, err := c.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            ScheduleID(src.ID),
		Spec:          spec,
		Action:        action,
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: o.Every,
		Paused:        o.Paused,
		Note:          o.Note,
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", ScheduleID(src.ID), err)
	}
	return nil
}

// Schedules lists avo's harvest schedules.
func (c *Client) Schedules(ctx context.Context) ([]ScheduleInfo, error) {
	it, err := c.Temporal.ScheduleClient().List(ctx, client.ScheduleListOptions{PageSize: 100})
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	var out []ScheduleInfo
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		if !strings.HasPrefix(e.ID, "harvest:") {
			continue
		}
		info, err := c.Schedule(ctx, strings.TrimPrefix(e.ID, "harvest:"))
		if err != nil {
			return nil, err
		}
		out = append(out, *info)
	}
	return out, nil
}

// Schedule describes the schedule of one source.
func (c *Client) Schedule(ctx context.Context, source string) (*ScheduleInfo, error) {
	d, err := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(source)).Describe(ctx)
	if err != nil {
		return nil, scheduleErr(source, err)
	}
	s := d.Schedule
	info := &ScheduleInfo{ID: ScheduleID(source), Source: source, NextRuns: d.Info.NextActionTimes}
	if s.Spec != nil && len(s.Spec.Intervals) > 0 {
		info.Every = s.Spec.Intervals[0].Every
	}
	if s.State != nil {
		info.Paused, info.Note = s.State.Paused, s.State.Note
	}
	if s.Policy != nil {
		info.Overlap = s.Policy.Overlap.String()
		info.CatchupWindow = s.Policy.CatchupWindow
	}
	if n := len(d.Info.RecentActions); n > 0 {
		t := d.Info.RecentActions[n-1].ActualTime
		info.LastRun = &t
	}
	return info, nil
}

// PauseSchedule pauses (or resumes) a source's schedule.
func (c *Client) PauseSchedule(ctx context.Context, source string, pause bool, note string) error {
	h := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(source))
	var err error
	if pause {
		err = h.Pause(ctx, client.SchedulePauseOptions{Note: note})
	} else {
		err = h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: note})
	}
	return scheduleErr(source, err)
}

// TriggerSchedule runs a source's scheduled harvest now (skipped when one
// is running, like any other run of the schedule).
func (c *Client) TriggerSchedule(ctx context.Context, source string) error {
	h := c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(source))
	return scheduleErr(source, h.Trigger(ctx, client.ScheduleTriggerOptions{Overlap: enumspb.SCHEDULE_OVERLAP_POLICY_SKIP}))
}

// DeleteSchedule removes a source's schedule; harvests it started go on.
func (c *Client) DeleteSchedule(ctx context.Context, source string) error {
	return scheduleErr(source, c.Temporal.ScheduleClient().GetHandle(ctx, ScheduleID(source)).Delete(ctx))
}

func scheduleErr(source string, err error) error {
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return notfound.Errorf("no schedule for %s", source)
	}
	return err
}

// Publish windows are applied every WindowsEvery, each run looking back
// WindowsLookback: runs overlap, and a missed run is made up by the next.
const (
	WindowsEvery    = 5 * time.Minute
	WindowsLookback = time.Hour
)

// ensureWindowsSchedule creates the schedule that applies publish windows
// to the education index, when it does not exist yet.
func (c *Client) ensureWindowsSchedule(ctx context.Context) error {
	h := c.Temporal.ScheduleClient().GetHandle(ctx, WindowsScheduleID)
	if _, err := h.Describe(ctx); err == nil {
		return nil
	}
	_, err := c.Temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:   WindowsScheduleID,
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: WindowsEvery}}},
		Action: &client.ScheduleWorkflowAction{
			ID:        "visibility",
			Workflow:  Windows,
			Args:      []any{WindowsInput{Lookback: WindowsLookback}},
			TaskQueue: c.TaskQueue,
		},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: WindowsLookback,
		Note:          "applies publish windows and expiry dates to the education index",
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		return nil // another setup made it meanwhile
	}
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", WindowsScheduleID, err)
	}
	return nil
}
