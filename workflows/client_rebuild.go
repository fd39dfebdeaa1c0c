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

	"github.com/archiefvooronderwijs/avo/internal/esindex"
)

// ErrRebuildRunning is returned when a rebuild of the same index runs.
var ErrRebuildRunning = errors.New("a rebuild of this index is already running")

// RebuildOptions are an operator's choices for a rebuild.
type RebuildOptions struct {
	// Tolerance is how far the document count may differ from S3.
	Tolerance int
	// Keep is how many previous indices stay for rollback; nil means the
	// configured number.
	Keep *int
}

// StartRebuild starts rebuilding the index of kind from S3.
func (c *Client) StartRebuild(ctx context.Context, kind string, o RebuildOptions) (client.WorkflowRun, error) {
	if !esindex.ValidKind(kind) {
		return nil, fmt.Errorf("no index kind %q (kinds: %s)", kind, strings.Join(esindex.Kinds, ", "))
	}
	if o.Tolerance < 0 {
		return nil, errors.New("the tolerance must not be negative")
	}
	keep := c.KeepIndices
	if o.Keep != nil {
		keep = *o.Keep
	}
	if keep < 0 {
		return nil, errors.New("the number of indices to keep must not be negative")
	}
	id := RebuildWorkflowID(c.alias(kind))
	return c.startIndexWork(ctx, "rebuild", kind, id, Rebuild, RebuildInput{Kind: kind, Tolerance: o.Tolerance, Keep: keep})
}

// startIndexWork starts a workflow on an index alias that runs once at a
// time (a rebuild, a rollback).
func (c *Client) startIndexWork(ctx context.Context, what, kind, id string, wf, input any) (client.WorkflowRun, error) {
	run, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, wf, input)
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: a %s of %s (workflow %s); watch it with `avo index status`", ErrRebuildRunning, what, c.alias(kind), id)
	}
	if err != nil {
		return nil, fmt.Errorf("start %s of %s: %w", what, c.alias(kind), err)
	}
	return run, nil
}

// RebuildState is the newest rebuild of an index.
type RebuildState struct {
	WorkflowID string         `json:"workflow_id"`
	Status     string         `json:"status"`
	StartTime  time.Time      `json:"start_time"`
	CloseTime  *time.Time     `json:"close_time,omitempty"`
	Progress   *RebuildInput  `json:"progress,omitempty"`
	Result     *RebuildResult `json:"result,omitempty"`
	Failure    string         `json:"failure,omitempty"`
}

// RebuildStatus describes the newest rebuild of the index of kind; nil
// when it was never rebuilt (or Temporal cannot say).
func (c *Client) RebuildStatus(ctx context.Context, kind string) *RebuildState {
	return c.rebuildState(ctx, RebuildWorkflowID(c.alias(kind)))
}

func (c *Client) rebuildState(ctx context.Context, id string) *RebuildState {
	desc, err := c.Temporal.DescribeWorkflowExecution(ctx, id, "")
	if err != nil {
		return nil // never rebuilt (or Temporal cannot say): nothing to show
	}
	info := desc.GetWorkflowExecutionInfo()
	st := &RebuildState{WorkflowID: id, Status: statusName(info.GetStatus()), StartTime: info.GetStartTime().AsTime()}
	if info.GetCloseTime() != nil {
		t := info.GetCloseTime().AsTime()
		st.CloseTime = &t
	}
	switch info.GetStatus() {
	case enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING:
		if q, err := c.Temporal.QueryWorkflow(ctx, id, "", StatusQuery); err == nil {
			var p RebuildInput
			if q.Get(&p) == nil {
				st.Progress = &p
			}
		}
	default:
		var res RebuildResult
		if err := c.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			st.Failure = err.Error()
		} else {
			st.Result = &res
		}
	}
	return st
}

// StartRollback starts returning the alias of kind to the previous index.
func (c *Client) StartRollback(ctx context.Context, kind string) (client.WorkflowRun, error) {
	if !esindex.ValidKind(kind) {
		return nil, fmt.Errorf("no index kind %q (kinds: %s)", kind, strings.Join(esindex.Kinds, ", "))
	}
	return c.startIndexWork(ctx, "rollback", kind, RollbackWorkflowID(c.alias(kind)), Rollback, RollbackInput{Kind: kind})
}
