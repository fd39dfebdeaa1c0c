package workflows

import (
	"strconv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
)

// A provider's host gets a limited number of requests at once, however
// many harvests of its sources run and on however many workers: each
// page (its requests) waits for a grant from the host's ProviderLock
// workflow. A task queue with one slot would bound each worker, not all of
// them; a workflow keyed by the host holds the count in one place.

// Signals of the provider lock.
const (
	AcquireSignal = "acquire"
	ReleaseSignal = "release"
	GrantedSignal = "provider-granted"
)

// ProviderLockID is the workflow that counts a host's requests for the
// workers of a task queue.
func ProviderLockID(taskQueue, host string) string { return "provider:" + taskQueue + ":" + host }

// ProviderLockInput is a lock's state, carried across continue-as-new.
type ProviderLockInput struct{ activities.ProviderLockState }

// lockIdle is how long a lock with no holders and no one waiting lives on.
const lockIdle = 10 * time.Minute

// lockSignalsPerRun bounds each run's history.
const lockSignalsPerRun = 2000

// ProviderLock grants a host's requests, at most Limit at once, in the
// order asked. A holder that never releases (a worker that died) loses
// its grant when its lease ends.
func ProviderLock(ctx workflow.Context, in ProviderLockInput) error {
	acquire := workflow.GetSignalChannel(ctx, AcquireSignal)
	release := workflow.GetSignalChannel(ctx, ReleaseSignal)
	for signals := 0; ; {
		now := workflow.Now(ctx)
		// Leases that ended free their place.
		held := in.Holders[:0]
		for _, h := range in.Holders {
			if h.Until.After(now) {
				held = append(held, h)
			}
		}
		in.Holders = held
		for len(in.Holders) < max(in.Limit, 1) && len(in.Waiting) > 0 {
			ask := in.Waiting[0]
			in.Waiting = in.Waiting[1:]
			// A requester that is gone cannot take the grant: it is lost
			// only until the lease ends.
			_ = workflow.SignalExternalWorkflow(ctx, ask.WorkflowID, ask.RunID, GrantedSignal, ask.Ticket).Get(ctx, nil)
			in.Holders = append(in.Holders, activities.LockGrant{LockAsk: ask, Until: now.Add(ask.Lease)})
		}
		if signals >= lockSignalsPerRun || workflow.GetInfo(ctx).GetContinueAsNewSuggested() {
			drain(acquire, release, &in)
			return workflow.NewContinueAsNewError(ctx, ProviderLock, in)
		}
		wait := lockIdle
		if len(in.Holders) > 0 {
			wait = in.Holders[0].Until.Sub(now)
			for _, h := range in.Holders[1:] {
				wait = min(wait, h.Until.Sub(now))
			}
		}
		tctx, cancel := workflow.WithCancel(ctx)
		timer := workflow.NewTimer(tctx, wait)
		idle := false
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(acquire, func(c workflow.ReceiveChannel, _ bool) {
			var ask activities.LockAsk
			c.Receive(ctx, &ask)
			in.ask(ask)
			signals++
		})
		sel.AddReceive(release, func(c workflow.ReceiveChannel, _ bool) {
			var ticket string
			c.Receive(ctx, &ticket)
			in.release(ticket)
			signals++
		})
		sel.AddFuture(timer, func(workflow.Future) {
			idle = len(in.Holders) == 0 && len(in.Waiting) == 0
		})
		sel.Select(ctx)
		cancel()
		if idle {
			// Signals that came meanwhile keep it alive.
			if drain(acquire, release, &in) == 0 {
				return nil
			}
		}
	}
}

// ask queues a request; one already holding or waiting is not queued twice
// (a retried acquire).
func (in *ProviderLockInput) ask(a activities.LockAsk) {
	if a.Limit > 0 {
		in.Limit = a.Limit
	}
	for _, h := range in.Holders {
		if h.Ticket == a.Ticket {
			return
		}
	}
	for _, w := range in.Waiting {
		if w.Ticket == a.Ticket {
			return
		}
	}
	in.Waiting = append(in.Waiting, a)
}

// release ends a grant, or withdraws a request still waiting.
func (in *ProviderLockInput) release(ticket string) {
	for i, h := range in.Holders {
		if h.Ticket == ticket {
			in.Holders = append(in.Holders[:i], in.Holders[i+1:]...)
			return
		}
	}
	for i, w := range in.Waiting {
		if w.Ticket == ticket {
			in.Waiting = append(in.Waiting[:i], in.Waiting[i+1:]...)
			return
		}
	}
}

// drain takes the signals already delivered, so none is lost when the run
// ends or continues as new; it returns how many there were.
func drain(acquire, release workflow.ReceiveChannel, in *ProviderLockInput) int {
	n := 0
	for {
		var ask activities.LockAsk
		if acquire.ReceiveAsync(&ask) {
			in.ask(ask)
			n++
			continue
		}
		var ticket string
		if release.ReceiveAsync(&ticket) {
			in.release(ticket)
			n++
			continue
		}
		return n
	}
}

// withProvider runs page while holding one of the host's request places:
// it asks the host's lock, waits for the grant, and releases the place
// afterwards whatever happened (also when the harvest is cancelled).
func withProvider(ctx workflow.Context, in *HarvestInput, lease time.Duration, page func() error) error {
	if in.Source.OAI == nil {
		return page()
	}
	info := workflow.GetInfo(ctx)
	in.Tickets++
	ask := activities.LockAsk{
		Lock: ProviderLockID(info.TaskQueueName, in.Source.OAI.Host()), Host: in.Source.OAI.Host(), Limit: in.Source.OAI.HostRequests, WorkflowID: info.WorkflowExecution.ID,
		RunID: info.WorkflowExecution.RunID, Ticket: info.WorkflowExecution.RunID + "/" + strconv.Itoa(in.Tickets), Lease: lease,
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 30 * time.Second},
	})
	defer func() {
		dctx, _ := workflow.NewDisconnectedContext(ctx)
		_ = workflow.SignalExternalWorkflow(dctx, ask.Lock, "", ReleaseSignal, ask.Ticket).Get(dctx, nil)
	}()
	if err := workflow.ExecuteActivity(actx, a.AskProvider, ask).Get(ctx, nil); err != nil {
		return err
	}
	granted := workflow.GetSignalChannel(ctx, GrantedSignal)
	for got := ""; got != ask.Ticket; {
		// An older grant (of an ask withdrawn) is not this one.
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(granted, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &got) })
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.Select(ctx)
		if ctx.Err() != nil {
			return temporal.NewCanceledError()
		}
	}
	return page()
}
