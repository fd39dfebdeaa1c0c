package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
)

// rebuildEnv is a test environment whose rebuild activities load two
// pages (2 and 1 records) and catch up with what S3 holds.
func rebuildEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *activities.Indexing, *[]string) {
	t.Helper()
	env := newTestEnv()
	x := &activities.Indexing{}
	env.RegisterActivity(x)
	var calls []string
	env.OnActivity(x.BeginRebuild, mock.Anything, "catalog").Return(
		func(context.Context, string) (string, error) {
			calls = append(calls, "begin")
			return "avo-catalog-2", nil
		})
	env.OnActivity(x.LoadRecords, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.LoadInput) (activities.LoadResult, error) {
			calls = append(calls, "load "+in.Token)
			if in.Index != "avo-catalog-2" {
				return activities.LoadResult{}, errors.New("loaded into " + in.Index)
			}
			if in.Token == "" {
				return activities.LoadResult{Read: 2, Indexed: 2, Next: "k2"}, nil
			}
			return activities.LoadResult{Read: 1, Indexed: 1}, nil
		})
	env.OnActivity(x.CatchUp, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.CatchUpInput) (activities.CatchUpResult, error) {
			calls = append(calls, "catch-up")
			return activities.CatchUpResult{Records: 3, Expected: 3}, nil
		})
	return env, x, &calls
}

func TestRebuildLoadsChecksAndSwaps(t *testing.T) {
	env, x, calls := rebuildEnv(t)
	var finish activities.FinishRebuildInput
	env.OnActivity(x.FinishRebuild, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.FinishRebuildInput) (activities.FinishRebuildResult, error) {
			*calls = append(*calls, "finish")
			finish = in
			return activities.FinishRebuildResult{Docs: 3, Expected: in.Expected}, nil
		})
	env.OnActivity(x.SwapIndex, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.SwapInput) (activities.SwapResult, error) {
			*calls = append(*calls, "swap "+in.Index)
			return activities.SwapResult{Previous: []string{"avo-catalog-1"}}, nil
		})
	env.ExecuteWorkflow(Rebuild, RebuildInput{Kind: "catalog", Tolerance: 0, Keep: 1})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res RebuildResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Index != "avo-catalog-2" || res.Docs != 3 || res.Expected != 3 || res.Read != 3 || res.Records != 3 || len(res.Previous) != 1 {
		t.Errorf("result %+v", res)
	}
	if finish.Expected != 3 || finish.Index != "avo-catalog-2" {
		t.Errorf("the count check got %+v", finish)
	}
	want := "[begin load  load k2 catch-up finish swap avo-catalog-2]"
	if got := fmt.Sprint(*calls); got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
}

// A count that differs from S3 twice stops the rebuild before the swap and
// drops the new index; the alias stays where it was.
func TestRebuildCountMismatchAbandons(t *testing.T) {
	env, x, calls := rebuildEnv(t)
	env.OnActivity(x.FinishRebuild, mock.Anything, mock.Anything).Return(
		func(context.Context, activities.FinishRebuildInput) (activities.FinishRebuildResult, error) {
			*calls = append(*calls, "finish")
			return activities.FinishRebuildResult{}, temporal.NewNonRetryableApplicationError("holds 2 documents where S3 says 3", activities.ErrCountMismatch, nil)
		})
	env.OnActivity(x.SwapIndex, mock.Anything, mock.Anything).Return(activities.SwapResult{}, errors.New("swapped after a failed check"))
	var abandoned activities.AbandonInput
	env.OnActivity(x.AbandonRebuild, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.AbandonInput) error { abandoned = in; return nil })
	env.ExecuteWorkflow(Rebuild, RebuildInput{Kind: "catalog"})
	err := env.GetWorkflowError()
	if err == nil || !strings.Contains(err.Error(), "S3 says 3") {
		t.Fatalf("want the count mismatch, got %v", err)
	}
	if abandoned.Index != "avo-catalog-2" {
		t.Errorf("abandoned %+v, want the new index dropped", abandoned)
	}
	// One more catch-up round settles a write that landed meanwhile.
	want := "[begin load  load k2 catch-up finish catch-up finish]"
	if got := fmt.Sprint(*calls); got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
}

// The rebuild's history stays bounded: after rebuildPagesPerRun loads it
// continues as new with its progress.
func TestRebuildContinuesAsNew(t *testing.T) {
	env := newTestEnv()
	x := &activities.Indexing{}
	env.RegisterActivity(x)
	env.OnActivity(x.LoadRecords, mock.Anything, mock.Anything).Return(activities.LoadResult{Read: 1, Indexed: 1, Next: "more"}, nil)
	env.ExecuteWorkflow(Rebuild, RebuildInput{Kind: "education", Index: "avo-education-2"})
	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("want continue-as-new, got %v", err)
	}
	var next RebuildInput
	if err := converterFor().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.Pages != rebuildPagesPerRun || next.Loaded.Read != rebuildPagesPerRun || next.Token != "more" || next.Index != "avo-education-2" {
		t.Errorf("continued with %+v", next)
	}
}

func TestWindowsLooksBack(t *testing.T) {
	env := newTestEnv()
	x := &activities.Indexing{}
	env.RegisterActivity(x)
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	env.SetStartTime(start)
	var got activities.WindowsInput
	env.OnActivity(x.ApplyWindows, mock.Anything, mock.Anything).Return(
		func(_ context.Context, in activities.WindowsInput) (activities.WindowsResult, error) {
			got = in
			return activities.WindowsResult{Checked: 2, Visible: 1, Hidden: 1}, nil
		})
	env.ExecuteWorkflow(Windows, WindowsInput{Lookback: time.Hour})
	var res activities.WindowsResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if !got.To.Equal(start) || !got.From.Equal(start.Add(-time.Hour)) || res.Visible != 1 || res.Hidden != 1 {
		t.Errorf("windows applied for (%s, %s], result %+v", got.From, got.To, res)
	}
}

// A rollback opens the older index, replays what changed since onto it,
// and only then moves the alias; when the replay fails the older index is
// closed again and the alias stays.
func TestRollbackReplaysThenSwaps(t *testing.T) {
	for _, replayFails := range []bool{false, true} {
		env := newTestEnv()
		x := &activities.Indexing{}
		env.RegisterActivity(x)
		since := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
		var calls []string
		env.OnActivity(x.BeginRollback, mock.Anything, "education").Return(
			activities.RollbackPlan{From: "avo-education-2", To: "avo-education-1", Since: since}, nil)
		env.OnActivity(x.CatchUp, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.CatchUpInput) (activities.CatchUpResult, error) {
				calls = append(calls, fmt.Sprintf("catch-up %s reused=%v since=%s", in.Index, in.Reused, in.Since.Format(time.RFC3339)))
				return activities.CatchUpResult{Reloaded: 4}, nil
			})
		env.OnActivity(x.ReplayDeletions, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.ReplayInput) (int, error) {
				calls = append(calls, "replay "+in.Index)
				if replayFails {
					return 0, temporal.NewNonRetryableApplicationError("tombstones unreadable", "Test", nil)
				}
				return 2, nil
			})
		env.OnActivity(x.FinishRollback, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.FinishRollbackInput) error {
				calls = append(calls, "swap "+in.Index)
				return nil
			}).Maybe()
		env.OnActivity(x.AbandonRollback, mock.Anything, mock.Anything).Return(
			func(_ context.Context, in activities.FinishRollbackInput) error {
				calls = append(calls, "close "+in.Index)
				return nil
			}).Maybe()
		env.ExecuteWorkflow(Rollback, RollbackInput{Kind: "education"})
		want := "[catch-up avo-education-1 reused=true since=2026-11-01T08:00:00Z replay avo-education-1 swap avo-education-1]"
		if replayFails {
			want = "[catch-up avo-education-1 reused=true since=2026-11-01T08:00:00Z replay avo-education-1 close avo-education-1]"
			if env.GetWorkflowError() == nil {
				t.Error("a rollback whose replay failed succeeded")
			}
		} else {
			var res RollbackResult
			if err := env.GetWorkflowResult(&res); err != nil || res.To != "avo-education-1" || res.Reloaded != 4 || res.Deleted != 2 {
				t.Errorf("result %+v, %v", res, err)
			}
		}
		if got := fmt.Sprint(calls); got != want {
			t.Errorf("calls %s, want %s", got, want)
		}
	}
}
