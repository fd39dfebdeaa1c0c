package workflows

import (
	"go.temporal.io/sdk/workflow"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
)

// pageRuns runs a harvest's page activities several at once (on any worker)
// and adds up what each did. After a page fails no new one should start:
// the ones running finish and are counted, and the run ends with the
// first error.
type pageRuns struct {
	in      *HarvestInput
	st      *Status
	pending []workflow.Future
	err     error
}

// start runs one more page.
func (p *pageRuns) start(f workflow.Future) { p.pending = append(p.pending, f) }

// waitOne waits for any running page and counts it.
func (p *pageRuns) waitOne(ctx workflow.Context) {
	if len(p.pending) == 0 {
		return
	}
	done := -1
	sel := workflow.NewSelector(ctx)
	for i, f := range p.pending {
		sel.AddFuture(f, func(workflow.Future) { done = i })
	}
	sel.Select(ctx)
	var page activities.PageResult
	err := p.pending[done].Get(ctx, &page)
	p.pending = append(p.pending[:done], p.pending[done+1:]...)
	if err != nil {
		p.in.addPartial(err)
		if p.err == nil {
			p.err = err
		}
	} else {
		p.in.Counts.Add(page.Counts)
		p.in.Quarantine = bucket.MergeQuarantine(p.in.Quarantine, page.Quarantine)
	}
	p.st.Counts, p.st.Quarantine, p.st.UpdatedAt = p.in.Counts, p.in.Quarantine, workflow.Now(ctx)
}

// waitBelow waits until fewer than n pages run.
func (p *pageRuns) waitBelow(ctx workflow.Context, n int) {
	for len(p.pending) >= max(n, 1) {
		p.waitOne(ctx)
	}
}

// drain waits for every running page and returns the first error.
func (p *pageRuns) drain(ctx workflow.Context) error {
	for len(p.pending) > 0 {
		p.waitOne(ctx)
	}
	return p.err
}
