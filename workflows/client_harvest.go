package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/notfound"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// ErrAlreadyRunning is returned when a harvest of the same source and set runs.
var ErrAlreadyRunning = errors.New("a harvest of this source and set is already running")

// ErrNotFound matches the errors about a harvest or schedule Temporal
// does not know.
var ErrNotFound = notfound.Err

// HarvestOptions are an operator's choices for one harvest.
type HarvestOptions struct {
	// Set harvests one set; empty harvests every configured set in turn
	// (or the whole repository when none is configured).
	Set             string
	From            string
	Until           string
	Full            bool
	AllowMassDelete bool
	// Limits and Timeouts override the defaults (tests use small ones).
	Limits   Limits
	Timeouts Timeouts
}

// HarvestRun is a started harvest: of one set (a Harvest workflow) or of
// several sets in turn (a HarvestSource workflow).
type HarvestRun struct {
	client.WorkflowRun
	Source string
	Sets   []string
	// Multi runs are HarvestSource workflows; their result is a SourceResult.
	Multi bool
}

// Result waits for the harvest and adds up its sets' counts; an error
// names what failed.
func (r *HarvestRun) Result(ctx context.Context) (HarvestResult, error) {
	if !r.Multi {
		var res HarvestResult
		err := r.Get(ctx, &res)
		return res, err
	}
	var res SourceResult
	err := r.Get(ctx, &res)
	total := HarvestResult{Status: bucket.StatusCompleted}
	for _, s := range res.Sets {
		total.Counts.Add(s.Result.Counts)
		total.Seconds += s.Result.Seconds
		if s.Result.Status == bucket.StatusCompletedWithRejections {
			total.Status = s.Result.Status
		}
	}
	return total, err
}

// NewHarvestID names a harvest run by its start time.
func NewHarvestID() string { return time.Now().UTC().Format("20060102T150405.000Z") }

// StartHarvest starts a harvest; Temporal refuses a second one for the
// same source and set while the first runs.
func (c *Client) StartHarvest(ctx context.Context, src sources.Source, o HarvestOptions) (*HarvestRun, error) {
	sets := Sets(src)
	if o.Set != "" {
		sets = []string{o.Set}
	}
	harvestID := NewHarvestID()
	opts := client.StartWorkflowOptions{
		TaskQueue:                c.TaskQueue,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		// Without this the SDK hands back the running harvest as if it
		// had just been started.
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}
	var run client.WorkflowRun
	var err error
	if len(sets) > 1 {
		opts.ID = SourceWorkflowID(src.ID)
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(SourceAttribute.ValueSet(src.ID))
		run, err = c.Temporal.ExecuteWorkflow(ctx, opts, HarvestSource, SourceInput{
			Source: src, HarvestID: harvestID, Full: o.Full, AllowMassDelete: o.AllowMassDelete, From: o.From, Until: o.Until,
		})
	} else {
		opts.ID = HarvestWorkflowID(src.ID, sets[0])
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(
			SourceAttribute.ValueSet(src.ID), SetAttribute.ValueSet(sets[0]))
		run, err = c.Temporal.ExecuteWorkflow(ctx, opts, Harvest, HarvestInput{
			Source: src, Set: sets[0], HarvestID: harvestID, From: o.From, Until: o.Until,
			Full: o.Full, AllowMassDelete: o.AllowMassDelete, Limits: o.Limits, Timeouts: o.Timeouts,
		})
	}
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: %s (workflow %s); watch it with `avo harvest status %s`", ErrAlreadyRunning, src.ID, opts.ID, src.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("start harvest of %s: %w", src.ID, err)
	}
	return &HarvestRun{WorkflowRun: run, Source: src.ID, Sets: sets, Multi: len(sets) > 1}, nil
}

// RunningHarvest is the running harvest of a source (of its sets in turn)
// or of one set, to follow; ErrNotFound when none runs.
func (c *Client) RunningHarvest(ctx context.Context, src sources.Source, set string) (*HarvestRun, error) {
	sets := Sets(src)
	if set != "" {
		sets = []string{set}
	}
	id := HarvestWorkflowID(src.ID, sets[0])
	multi := set == "" && len(sets) > 1
	if multi {
		id = SourceWorkflowID(src.ID)
	}
	if multi && !c.running(ctx, id) {
		// A set of the source started on its own.
		for _, s := range sets {
			if c.running(ctx, HarvestWorkflowID(src.ID, s)) {
				id, sets, multi = HarvestWorkflowID(src.ID, s), []string{s}, false
				break
			}
		}
	}
	if !c.running(ctx, id) {
		return nil, notfound.Errorf("no harvest of %s%s is running (workflow %s); `avo harvest status %s` shows the last one",
			src.ID, bucket.SetLabel(set), id, src.ID)
	}
	return &HarvestRun{WorkflowRun: c.Temporal.GetWorkflow(ctx, id, ""), Source: src.ID, Sets: sets, Multi: multi}, nil
}

// HarvestState is a harvest as `avo harvest status` shows it: Temporal's
// view of the workflow and, when it answers, the workflow's own progress.
type HarvestState struct {
	WorkflowID string     `json:"workflow_id"`
	RunID      string     `json:"run_id"`
	Status     string     `json:"status"` // Running, Completed, Failed, Canceled, ...
	StartTime  time.Time  `json:"start_time"`
	CloseTime  *time.Time `json:"close_time,omitempty"`
	Progress   *Status    `json:"progress,omitempty"`
	// Retry is the step being tried again while the harvest runs (a
	// provider that does not answer, Elasticsearch down).
	Retry *Retry `json:"retry,omitempty"`
	// Report is the run's report, once it finished.
	Report *bucket.Report `json:"report,omitempty"`
}

// Retry is an activity on its second attempt or later, from Temporal's
// pending-activity info.
type Retry struct {
	Activity    string     `json:"activity"`
	Attempt     int        `json:"attempt"`
	LastError   string     `json:"last_error"`
	NextAttempt *time.Time `json:"next_attempt,omitempty"`
}

// HarvestStatus describes the newest harvest of a source and set.
func (c *Client) HarvestStatus(ctx context.Context, source, set string) (*HarvestState, error) {
	id := HarvestWorkflowID(source, set)
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return nil, notfound.Errorf("%s%s has never been harvested (workflow %s)", source, bucket.SetLabel(set), id)
	}
	if err != nil {
		return nil, fmt.Errorf("describe %s: %w", id, err)
	}
	info := desc.GetWorkflowExecutionInfo()
	st := &HarvestState{
		WorkflowID: id, RunID: info.GetExecution().GetRunId(),
		Status:    statusName(info.GetStatus()),
		StartTime: info.GetStartTime().AsTime(),
	}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		st.CloseTime = &t
	}
	if info.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
		q, err := c.Temporal.QueryWorkflow(ctx, id, "", StatusQuery)
		if err == nil {
			var p Status
			if q.Get(&p) == nil {
				st.Progress = &p
			}
		}
		st.Retry = retryOf(desc)
	} else if c.Reports != nil {
		if r, err := c.Reports(ctx, source, set); err == nil {
			st.Report = r
		}
	}
	return st, nil
}

// retryOf is the pending activity of a workflow that failed at least once.
func retryOf(desc *workflowservice.DescribeWorkflowExecutionResponse) *Retry {
	for _, pa := range desc.GetPendingActivities() {
		if pa.GetAttempt() < 2 || pa.GetLastFailure() == nil {
			continue
		}
		r := &Retry{Activity: pa.GetActivityType().GetName(), Attempt: int(pa.GetAttempt()), LastError: strings.Join(strings.Fields(pa.GetLastFailure().GetMessage()), " ")}
		if t := pa.GetNextAttemptScheduleTime(); t != nil {
			next := t.AsTime()
			r.NextAttempt = &next
		}
		return r
	}
	return nil
}

// Statuses of a workflow while it runs or once it ended that Temporal
// knows and a run report does not; the others are spelt as in reports
// (bucket.Status...), one spelling everywhere.
const (
	StatusRunning    = "running"
	StatusTerminated = "terminated"
	StatusTimedOut   = "timed_out"
)

func statusName(s enumspb.WorkflowExecutionStatus) string {
	switch s {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING, enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW:
		return StatusRunning
	case enumspb.WORKFLOW_EXECUTION_STATUS_COMPLETED:
		return bucket.StatusCompleted
	case enumspb.WORKFLOW_EXECUTION_STATUS_FAILED:
		return bucket.StatusFailed
	case enumspb.WORKFLOW_EXECUTION_STATUS_CANCELED:
		return bucket.StatusCancelled
	case enumspb.WORKFLOW_EXECUTION_STATUS_TERMINATED:
		return StatusTerminated
	case enumspb.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
		return StatusTimedOut
	}
	return strings.ToLower(strings.TrimPrefix(s.String(), "WORKFLOW_EXECUTION_STATUS_"))
}

// CancelHarvest asks a running harvest to stop; it writes a report saying so.
// Without a set it stops the harvest of the whole source: the run of its
// sets in turn when one is under way (each set's run then stops and
// reports), else the harvest of the whole repository. It returns the
// workflow it asked.
func (c *Client) CancelHarvest(ctx context.Context, source, set string) (string, error) {
	id := HarvestWorkflowID(source, set)
	if set == "" && c.running(ctx, SourceWorkflowID(source)) {
		id = SourceWorkflowID(source)
	}
	if !c.running(ctx, id) {
		return id, notfound.Errorf("no harvest of %s%s is running (workflow %s)", source, bucket.SetLabel(set), id)
	}
	if err := c.Temporal.CancelWorkflow(ctx, id, ""); err != nil {
		return id, fmt.Errorf("cancel %s: %w", id, err)
	}
	return id, nil
}

// running reports whether the newest run of a workflow id is running.
func (c *Client) running(ctx context.Context, id string) bool {
	d, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	return err == nil && d.GetWorkflowExecutionInfo().GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// HarvestListing is one row of `avo harvest list`.
type HarvestListing struct {
	WorkflowID string `json:"workflow_id"`
	RunID      string `json:"run_id"`
	Source     string `json:"source"`
	Set        string `json:"set,omitempty"`
	Status     string `json:"status"`
	// Seconds the run took (so far).
	Seconds float64 `json:"seconds"`
	// HarvestID names the run's report (avo harvest report SOURCE RUN);
	// Counts and Error are what it did, once it ended.
	HarvestID string         `json:"harvest_id,omitempty"`
	Counts    *bucket.Counts `json:"counts,omitempty"`
	Error     string         `json:"error,omitempty"`
	// Outcome is how the harvest ended (completed, completed_with_rejections,
	// failed, cancelled); empty while it runs.
	Outcome   string     `json:"outcome,omitempty"`
	StartTime time.Time  `json:"start_time"`
	CloseTime *time.Time `json:"close_time,omitempty"`
}

// ListHarvests lists harvest runs, newest first, optionally of one source.
func (c *Client) ListHarvests(ctx context.Context, source string, limit int) ([]HarvestListing, error) {
	query := "WorkflowType = 'Harvest' AND ExecutionStatus != 'ContinuedAsNew'"
	if source != "" {
		query += fmt.Sprintf(" AND %s = '%s'", SourceAttribute.GetName(), source)
	}
	var out []HarvestListing
	var token []byte
	for len(out) < limit {
		resp, err := c.Temporal.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Namespace: c.Namespace, Query: query, NextPageToken: token,
		})
		if err != nil {
			return nil, fmt.Errorf("list harvests: %w", err)
		}
		for _, e := range resp.GetExecutions() {
			l := HarvestListing{
				WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(),
				Status: statusName(e.GetStatus()), StartTime: e.GetStartTime().AsTime(),
			}
			end := time.Now()
			if e.GetCloseTime() != nil {
				t := e.GetCloseTime().AsTime()
				l.CloseTime, end = &t, t
			}
			l.Seconds = end.Sub(l.StartTime).Seconds()
			if p, ok := e.GetMemo().GetFields()[MemoRun]; ok {
				var m RunMemo
				if converter.GetDefaultDataConverter().FromPayload(p, &m) == nil {
					l.HarvestID, l.Counts, l.Error = m.HarvestID, &m.Counts, m.Error
				}
			}
			if sa := e.GetSearchAttributes(); sa != nil {
				l.Source = keywordAttr(sa.GetIndexedFields(), SourceAttribute.GetName())
				l.Set = keywordAttr(sa.GetIndexedFields(), SetAttribute.GetName())
				l.Outcome = keywordAttr(sa.GetIndexedFields(), OutcomeAttribute.GetName())
			}
			out = append(out, l)
			if len(out) == limit {
				break
			}
		}
		token = resp.GetNextPageToken()
		if len(token) == 0 {
			break
		}
	}
	return out, nil
}

func keywordAttr(fields map[string]*commonpb.Payload, name string) string {
	p, ok := fields[name]
	if !ok {
		return ""
	}
	var v string
	if err := converter.GetDefaultDataConverter().FromPayload(p, &v); err != nil {
		return ""
	}
	return v
}

// StartReplay starts a replay of a source's stored records through
// today's mapping (workflow Remap). It is refused while a harvest of the
// source runs, which would write the same records, or another replay.
func (c *Client) StartReplay(ctx context.Context, src sources.Source) (client.WorkflowRun, error) {
	ids := []string{SourceWorkflowID(src.ID)}
	for _, s := range Sets(src) {
		ids = append(ids, HarvestWorkflowID(src.ID, s))
	}
	for _, id := range ids {
		if c.running(ctx, id) {
			return nil, fmt.Errorf("%w: a harvest of %s (workflow %s); replay once it ended", ErrAlreadyRunning, src.ID, id)
		}
	}
	id := RemapWorkflowID(src.ID)
	run, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID: id, TaskQueue: c.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		TypedSearchAttributes:                    temporal.NewSearchAttributes(SourceAttribute.ValueSet(src.ID)),
	}, Remap, RemapInput{Source: src.ID, ReplayID: "replay-" + NewHarvestID()})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: a replay of %s (workflow %s)", ErrAlreadyRunning, src.ID, id)
	}
	if err != nil {
		return nil, fmt.Errorf("start replay of %s: %w", src.ID, err)
	}
	return run, nil
}
