package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/archiefvooronderwijs/avo/activities"
)

// A host's lock grants its places in the order asked, one at a time with a
// limit of one; a release frees the place for the next, and a holder that
// never releases loses its place when its lease ends.
func TestProviderLockGrantsInTurn(t *testing.T) {
	env := newTestEnv()
	var grants []string
	var at []time.Duration
	start := env.Now()
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, mock.Anything, GrantedSignal, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			grants = append(grants, arg.(string))
			at = append(at, env.Now().Sub(start))
			return nil
		})
	ask := func(ticket string) activities.LockAsk {
		return activities.LockAsk{Host: "oai.example.org", Limit: 1, WorkflowID: "h-" + ticket, RunID: "r", Ticket: ticket, Lease: time.Hour}
	}
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(AcquireSignal, ask("a")) }, time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(AcquireSignal, ask("b")) }, 2*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(AcquireSignal, ask("c")) }, 3*time.Second)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(ReleaseSignal, "a") }, time.Minute)
	// b never releases: c waits for its lease to end.
	env.ExecuteWorkflow(ProviderLock, ProviderLockInput{activities.ProviderLockState{Host: "oai.example.org", Limit: 1}})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if len(grants) != 3 || grants[0] != "a" || grants[1] != "b" || grants[2] != "c" {
		t.Fatalf("grants %v, want a, b, c in turn", grants)
	}
	if at[1] < time.Minute || at[2] < time.Minute+time.Hour {
		t.Errorf("granted at %v: b only after a's release, c only after b's lease", at)
	}
}
