package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// SourceWorkflowID is the business key of a harvest of a whole source.
func SourceWorkflowID(source string) string { return "harvest:" + source }

// SourceInput starts a harvest of every set of a source: of Source, or,
// when it is empty (a schedule's runs), of the source SourceID names as
// the sources file has it when the run starts.
type SourceInput struct {
	Source          sources.Source `json:"source"`
	SourceID        string         `json:"source_id,omitempty"`
	HarvestID       string         `json:"harvest_id"`
	Full            bool           `json:"full,omitempty"`
	AllowMassDelete bool           `json:"allow_mass_delete,omitempty"`
	From            string         `json:"from,omitempty"`
	Until           string         `json:"until,omitempty"`
}

// SetOutcome is how one set's harvest ended.
type SetOutcome struct {
	Set        string        `json:"set,omitempty"`
	WorkflowID string        `json:"workflow_id"`
	Result     HarvestResult `json:"result"`
	Error      string        `json:"error,omitempty"`
}

// SourceResult gathers the sets' outcomes.
type SourceResult struct {
	Sets []SetOutcome `json:"sets"`
}

// Sets returns the sets a source harvest covers: those configured, or the
// whole repository.
func Sets(src sources.Source) []string {
	if src.OAI != nil && len(src.OAI.Sets) > 0 {
		return src.OAI.Sets
	}
	return []string{""}
}

// HarvestSource harvests a source's sets one after another, each in its
// own Harvest workflow: one request at a time goes to a provider, and
// each set keeps its business key, watermark and report. A set that fails
// does not stop the others; the source harvest then fails, naming them.
func HarvestSource(ctx workflow.Context, in SourceInput) (SourceResult, error) {
	var out SourceResult
	if in.HarvestID == "" {
		// Started by a schedule, whose arguments are fixed: the run is
		// named by its start.
		in.HarvestID = workflow.GetInfo(ctx).WorkflowStartTime.UTC().Format("20060102T150405.000Z")
	}
	if in.Source.ID == "" {
		lctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
			StartToCloseTimeout: time.Minute,
			RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 5},
		})
		if err := workflow.ExecuteActivity(lctx, a.LoadSource, in.SourceID).Get(ctx, &in.Source); err != nil {
			return out, err
		}
	}
	current := ""
	if err := workflow.SetQueryHandler(ctx, StatusQuery, func() (map[string]any, error) {
		return map[string]any{"source": in.Source.ID, "current_set": current, "done": out.Sets}, nil
	}); err != nil {
		return out, err
	}
	sets := Sets(in.Source)
	var failed []string
	for _, set := range sets {
		current = set
		id := HarvestWorkflowID(in.Source.ID, set)
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
			WorkflowID:            id,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
			ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_REQUEST_CANCEL,
			TypedSearchAttributes: temporal.NewSearchAttributes(SourceAttribute.ValueSet(in.Source.ID), SetAttribute.ValueSet(set)),
		})
		var res HarvestResult
		err := workflow.ExecuteChildWorkflow(cctx, Harvest, HarvestInput{
			Source: in.Source, Set: set, HarvestID: in.HarvestID, Full: in.Full, AllowMassDelete: in.AllowMassDelete,
			From: in.From, Until: in.Until, OtherSets: sets,
		}).Get(ctx, &res)
		o := SetOutcome{Set: set, WorkflowID: id, Result: res}
		if err != nil {
			if temporal.IsCanceledError(err) || errors.Is(ctx.Err(), workflow.ErrCanceled) {
				return out, err
			}
			var started *temporal.ChildWorkflowExecutionAlreadyStartedError
			if errors.As(err, &started) {
				o.Error = "skipped: a harvest of this set is already running"
			} else {
				o.Error = err.Error()
			}
			failed = append(failed, setName(set))
		}
		out.Sets = append(out.Sets, o)
	}
	current = ""
	if len(failed) > 0 {
		return out, temporal.NewNonRetryableApplicationError(
			fmt.Sprintf("harvest of %s failed for %s", in.Source.ID, strings.Join(failed, ", ")), "SetsFailed", nil, out)
	}
	return out, nil
}

func setName(set string) string {
	if set == "" {
		return "the whole repository"
	}
	return "set " + set
}
