package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// NotifySet tells a curated set's publication that the set changed,
// starting the publication when none runs (curation.Desk.Notify).
func (c *Client) NotifySet(ctx context.Context, set string) error {
	_, err := c.Temporal.SignalWithStartWorkflow(ctx, PublicationWorkflowID(set), ChangedSignal, nil,
		client.StartWorkflowOptions{
			TaskQueue:             c.TaskQueue,
			WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		}, Publication, set)
	if err != nil {
		return fmt.Errorf("signal the publication of %s: %w", set, err)
	}
	return nil
}
