package activities

import (
	"context"
	"errors"
	"time"

	"go.temporal.io/sdk/client"
)

// LockAsk is a harvest page's request for one of a provider host's
// request places.
type LockAsk struct {
	// Lock is the lock workflow's id (workflows.ProviderLockID).
	Lock  string `json:"lock"`
	Host  string `json:"host"`
	Limit int    `json:"limit"`
	// WorkflowID and RunID are where the grant is signalled; Ticket names
	// this request.
	WorkflowID string        `json:"workflow_id"`
	RunID      string        `json:"run_id"`
	Ticket     string        `json:"ticket"`
	Lease      time.Duration `json:"lease"`
}

// LockGrant is a place held until it is released or its lease ends.
type LockGrant struct {
	LockAsk
	Until time.Time `json:"until"`
}

// AskProvider hands a request to the host's lock workflow, starting it
// when it does not run; the grant comes back as a signal.
func (h *Harvest) AskProvider(ctx context.Context, ask LockAsk) error {
	if h.Temporal == nil {
		return errors.New("this worker has no Temporal client for the provider locks")
	}
	_, err := h.Temporal.SignalWithStartWorkflow(ctx, ask.Lock, "acquire", ask,
		client.StartWorkflowOptions{TaskQueue: h.TaskQueue}, "ProviderLock", ProviderLockState{Host: ask.Host, Limit: ask.Limit})
	return err
}

// ProviderLockState is a host's lock: its places, who holds them and who
// waits; the lock workflow starts with it and carries it across
// continue-as-new.
type ProviderLockState struct {
	Host    string      `json:"host"`
	Limit   int         `json:"limit"`
	Holders []LockGrant `json:"holders,omitempty"`
	Waiting []LockAsk   `json:"waiting,omitempty"`
}
