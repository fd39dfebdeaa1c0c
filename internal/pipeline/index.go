package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/workflows"
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
func (c *Clients) StartRebuild(ctx context.Context, kind string, o RebuildOptions) (client.WorkflowRun, error) {
	if !esindex.ValidKind(kind) {
		return nil, fmt.Errorf("no index kind %q (kinds: %s)", kind, strings.Join(esindex.Kinds, ", "))
	}
	if o.Tolerance < 0 {
		return nil, errors.New("the tolerance must not be negative")
	}
	keep := c.Config.Elasticsearch.KeepIndices
	if o.Keep != nil {
		keep = *o.Keep
	}
	if keep < 0 {
		return nil, errors.New("the number of indices to keep must not be negative")
	}
	id := workflows.RebuildWorkflowID(c.Indices.Alias(kind))
	run, err := c.Temporal.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                c.Config.Temporal.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy:                 enumspb.WORKFLOW_ID_CONFLICT_POLICY_FAIL,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
	}, workflows.Rebuild, workflows.RebuildInput{Kind: kind, Tolerance: o.Tolerance, Keep: keep})
	var started *serviceerror.WorkflowExecutionAlreadyStarted
	if errors.As(err, &started) {
		return nil, fmt.Errorf("%w: %s (workflow %s); watch it with `avo index status`", ErrRebuildRunning, c.Indices.Alias(kind), id)
	}
	if err != nil {
		return nil, fmt.Errorf("start rebuild of %s: %w", c.Indices.Alias(kind), err)
	}
	return run, nil
}

// IndexState is one kind of index as `avo index status` shows it.
type IndexState struct {
	Kind    string                  `json:"kind"`
	Alias   string                  `json:"alias"`
	Current string                  `json:"current,omitempty"`
	Docs    int                     `json:"docs"`
	Indices []esindex.PhysicalIndex `json:"indices"`
	Rebuild *RebuildState           `json:"rebuild,omitempty"`
}

// RebuildState is the newest rebuild of an index.
type RebuildState struct {
	WorkflowID string                   `json:"workflow_id"`
	Status     string                   `json:"status"`
	StartTime  time.Time                `json:"start_time"`
	CloseTime  *time.Time               `json:"close_time,omitempty"`
	Progress   *workflows.RebuildInput  `json:"progress,omitempty"`
	Result     *workflows.RebuildResult `json:"result,omitempty"`
	Failure    string                   `json:"failure,omitempty"`
}

// IndexStatus describes every kind of index: its alias, physical indices
// with their counts, and its newest rebuild when Temporal is at hand.
func (c *Clients) IndexStatus(ctx context.Context) ([]IndexState, error) {
	var out []IndexState
	for _, kind := range esindex.Kinds {
		phys, err := c.Indices.Physical(ctx, kind)
		if err != nil {
			return nil, err
		}
		st := IndexState{Kind: kind, Alias: c.Indices.Alias(kind), Indices: phys}
		for _, p := range phys {
			if p.Current {
				st.Current, st.Docs = p.Name, p.Docs
			}
		}
		if c.Temporal != nil {
			st.Rebuild = c.rebuildState(ctx, workflows.RebuildWorkflowID(st.Alias))
		}
		out = append(out, st)
	}
	return out, nil
}

func (c *Clients) rebuildState(ctx context.Context, id string) *RebuildState {
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
		if q, err := c.Temporal.QueryWorkflow(ctx, id, "", workflows.StatusQuery); err == nil {
			var p workflows.RebuildInput
			if q.Get(&p) == nil {
				st.Progress = &p
			}
		}
	default:
		var res workflows.RebuildResult
		if err := c.Temporal.GetWorkflow(ctx, id, "").Get(ctx, &res); err != nil {
			st.Failure = err.Error()
		} else {
			st.Result = &res
		}
	}
	return st
}

// RollbackIndex points the alias of kind back at the previous index.
func (c *Clients) RollbackIndex(ctx context.Context, kind string) (from, to string, err error) {
	if !esindex.ValidKind(kind) {
		return "", "", fmt.Errorf("no index kind %q (kinds: %s)", kind, strings.Join(esindex.Kinds, ", "))
	}
	return c.Indices.Rollback(ctx, kind)
}

// Decision is an editor's publish or depublish of one item.
type Decision struct {
	Publish bool
	// At and Until bound the publish window (optional).
	At, Until *time.Time
	Reason    string
	By        string
}

// ItemState is an item after an editorial decision.
type ItemState struct {
	ID        string              `json:"id"`
	Editorial editorial.Editorial `json:"editorial"`
	// Visible: teachers find it in the education index now.
	Visible bool   `json:"visible"`
	Why     string `json:"why,omitempty"`
}

// Decide records an editor's decision about an item in S3 (where a
// re-harvest never undoes it) and applies it to both indices at once.
func (c *Clients) Decide(ctx context.Context, id string, d Decision) (*ItemState, error) {
	if d.At != nil && d.Until != nil && !d.At.Before(*d.Until) {
		return nil, errors.New("the publish window ends before it begins")
	}
	uri, err := c.Indices.RecordURI(ctx, id)
	if err != nil {
		return nil, err
	}
	key, ok := strings.CutPrefix(uri, c.Store.URI(""))
	if !ok {
		return nil, fmt.Errorf("%w: no item %s in the catalog", ErrNotFound, id)
	}
	var rec profile.Record
	if err := c.Store.GetJSON(ctx, key, &rec); err != nil {
		return nil, fmt.Errorf("record of %s: %w", id, err)
	}
	now := time.Now().UTC()
	ed := editorial.Editorial{Published: d.Publish, PublishAt: d.At, DepublishAt: d.Until, By: d.By, At: now}
	if !d.Publish {
		ed = editorial.Editorial{DepublishReason: d.Reason, By: d.By, At: now}
	}
	if err := c.Store.PutJSON(ctx, bucket.EditorialKey(id), ed); err != nil {
		return nil, err
	}
	ed.Apply(&rec)
	cat, edu, err := esindex.Project(rec, uri, now)
	if err != nil {
		return nil, err
	}
	for i, kind := range []string{esindex.Catalog, esindex.Education} {
		op := []esindex.Op{cat, edu}[i]
		out, err := c.Indices.Write(ctx, kind, []esindex.Op{op})
		if err != nil {
			return nil, err
		}
		if len(out.Rejected) > 0 {
			return nil, fmt.Errorf("%s refused %s: %s", c.Indices.Alias(kind), id, out.Rejected[0].Reason)
		}
		if out.Retryable > 0 {
			return nil, fmt.Errorf("write %s to %s: %s (the decision is kept; run it again)", id, c.Indices.Alias(kind), out.RetryableReason)
		}
		if err := c.Indices.Refresh(ctx, kind); err != nil {
			return nil, err
		}
	}
	st := &ItemState{ID: id, Editorial: ed, Visible: rec.VisibleToTeachers(now)}
	if !st.Visible {
		st.Why = rec.Invisibility(now)
	}
	return st, nil
}
