package activities

import (
	"context"
	"strings"
	"sync"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
)

// decided knows, per harvest run, which items editors had decided about
// when the run first wrote a record the catalog did not hold: such a
// record (new, or deleted and harvested again) needs its decisions read
// only when it has some, so a first harvest of millions of records asks
// S3 about none of them, where it would read a decision (almost always
// absent) for each. Editors decide about items the catalog holds, whose
// documents say so; a decision made later in the run is about one of
// those, and the next run lists again.
type decided struct {
	mu    sync.Mutex
	runs  map[string]map[string]bool
	order []string
}

// decidedRuns is how many runs' lists a worker keeps (runs of several
// sources go on at once).
const decidedRuns = 8

// decided returns the items editors had decided about, listed once per run.
func (h *Harvest) decided(ctx context.Context, run string) (map[string]bool, error) {
	d := &h.decisions
	d.mu.Lock()
	defer d.mu.Unlock()
	if pids, ok := d.runs[run]; ok {
		return pids, nil
	}
	objs, err := h.Store.List(ctx, bucket.EditorialPrefix)
	if err != nil {
		return nil, err
	}
	pids := make(map[string]bool, len(objs))
	for _, o := range objs {
		if pid, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, bucket.EditorialPrefix), ".json"); ok {
			pids[pid] = true
		}
	}
	if d.runs == nil {
		d.runs = map[string]map[string]bool{}
	}
	if len(d.order) == decidedRuns {
		delete(d.runs, d.order[0])
		d.order = d.order[1:]
	}
	d.runs[run], d.order = pids, append(d.order, run)
	return pids, nil
}
