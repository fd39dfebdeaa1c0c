package workflows

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// A source's sets are harvested one after another, each in its own child
// workflow that knows the other sets; a set that fails does not stop the
// next, and the source harvest then fails naming it.
func TestHarvestSourceSetsInTurn(t *testing.T) {
	env := newTestEnv()
	env.RegisterWorkflow(Harvest)
	multi := src
	multi.OAI = &sources.OAI{URL: src.OAI.URL, MetadataPrefix: "oai_dc", Sets: []string{"kunst", "film", "muziek"}}
	var order []string
	env.OnWorkflow(Harvest, mock.Anything, mock.Anything).Return(
		func(_ workflow.Context, in HarvestInput) (HarvestResult, error) {
			order = append(order, in.Set)
			if strings.Join(in.OtherSets, ",") != "kunst,film,muziek" || in.HarvestID == "" {
				return HarvestResult{}, errors.New("child started without the source's sets or a harvest id")
			}
			if in.Set == "film" {
				return HarvestResult{}, temporal.NewNonRetryableApplicationError("provider down", "HTTP-503", nil)
			}
			return HarvestResult{Counts: bucket.Counts{Records: 10, Indexed: 10}}, nil
		})
	env.ExecuteWorkflow(HarvestSource, SourceInput{Source: multi})
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != "SetsFailed" || !strings.Contains(err.Error(), "set film") || strings.Contains(err.Error(), "set kunst") {
		t.Fatalf("want a failure naming set film, got %v", err)
	}
	var res SourceResult
	if err := appErr.Details(&res); err != nil {
		t.Fatal(err)
	}
	if strings.Join(order, ",") != "kunst,film,muziek" || len(res.Sets) != 3 {
		t.Fatalf("sets harvested %v, outcomes %+v", order, res.Sets)
	}
	if res.Sets[0].Result.Counts.Records != 10 || res.Sets[1].Error == "" || res.Sets[2].Error != "" ||
		res.Sets[1].WorkflowID != HarvestWorkflowID("s1", "film") {
		t.Errorf("outcomes %+v", res.Sets)
	}
}

func TestSetsOfASource(t *testing.T) {
	if got := Sets(src); len(got) != 1 || got[0] != "" {
		t.Errorf("a source without sets is harvested whole: %q", got)
	}
}

func TestBriefIsOneLineWithTheCause(t *testing.T) {
	env := newTestEnv()
	h := &activities.Harvest{}
	env.RegisterActivity(h)
	env.OnActivity(h.PrepareHarvest, mock.Anything, mock.Anything).Return(activities.PrepareResult{},
		temporal.NewNonRetryableApplicationError("Identify at http://host/oai for source s1: connection refused (5 attempts over 20 s)", "Transient", nil))
	env.OnActivity(h.FinishHarvest, mock.Anything, mock.Anything).Return(activities.FinishResult{}, nil)
	env.ExecuteWorkflow(Harvest, HarvestInput{Source: src, HarvestID: "h"})
	err := env.GetWorkflowError()
	if err == nil {
		t.Fatal("the harvest succeeded")
	}
	got := Brief(fmt.Errorf("harvest of s1 failed: %w", err))
	want := "harvest of s1 failed: Identify at http://host/oai for source s1: connection refused (5 attempts over 20 s)"
	if got != want {
		t.Errorf("Brief:\n got %s\nwant %s\n(chain: %v)", got, want, err)
	}
	if Brief(errors.New("plain\nerror")) != "plain error" {
		t.Error("a plain error is not one line")
	}
}
