package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// WindowsInput names a span of time.
type WindowsInput struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// WindowsResult counts the items whose place in the education index was
// set again: now visible, or now hidden.
type WindowsResult struct {
	Checked int `json:"checked"`
	Visible int `json:"visible"`
	Hidden  int `json:"hidden"`
	// Settled: teachers' pieces whose documents lagged behind, now written.
	Settled int `json:"settled"`
}

// ApplyWindows brings the education index up to date with the clock: an
// item whose publish window opened or closed, or whose licence expired,
// within (From, To] is written to or deleted from it. Writing again what
// is already right changes nothing, so spans may overlap.
func (x *Indexing) ApplyWindows(ctx context.Context, in WindowsInput) (WindowsResult, error) {
	var out WindowsResult
	w, err := x.Index.NewWriter(ctx, esindex.Education)
	if err != nil {
		return out, err
	}
	now := x.now().UTC()
	prefix := x.Store.URI("")
	after := ""
	var changed []string
	for {
		items, err := x.Index.WindowEdges(ctx, in.From, in.To, after, 500)
		if err != nil {
			_, _ = w.Close(ctx)
			return out, err
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			out.Checked++
			key, ok := strings.CutPrefix(it.RecordURI, prefix)
			if !ok {
				x.log().Warn("publish window: the catalog names no record of this bucket", "id", it.ID, "record", it.RecordURI)
				continue
			}
			_, edu, found, err := x.project(ctx, key, now)
			if err != nil {
				_, _ = w.Close(ctx)
				return out, err
			}
			if !found {
				continue // deleted; the delete reached both indices
			}
			if edu.Doc != nil {
				out.Visible++
			} else {
				out.Hidden++
			}
			changed = append(changed, it.ID)
			if err := w.Add(ctx, edu); err != nil {
				_, _ = w.Close(ctx)
				return out, err
			}
		}
		after = items[len(items)-1].ID
		activity.RecordHeartbeat(ctx, out.Checked)
	}
	res, err := w.Close(ctx)
	if err != nil {
		return out, err
	}
	if res.Retryable > 0 {
		return out, fmt.Errorf("publish windows: %d writes need another attempt: %s", res.Retryable, res.RetryableReason)
	}
	for _, rej := range res.Rejected {
		if err := x.quarantine(ctx, x.Index.Alias(esindex.Education), rej); err != nil {
			return out, err
		}
	}
	if out.Checked > 0 {
		if err := x.Index.Refresh(ctx, esindex.Education); err != nil {
			return out, err
		}
	}
	// The curated sets and teachers' pieces holding an item that came or
	// went count its items anew.
	if err := refreshHolders(ctx, x.Store, x.Index, changed); err != nil {
		return out, err
	}
	// Teachers' changes whose documents were not written (Elasticsearch
	// was down, a server stopped) are written now.
	out.Settled, err = content.NewDesk(x.Store, x.Index).Settle(ctx)
	return out, err
}

// refreshHolders writes again the documents of the published curated
// sets and public teachers' pieces that hold any of the items ids.
func refreshHolders(ctx context.Context, store *s3store.Store, ix esindex.Indices, ids []string) error {
	if _, err := content.NewDesk(store, ix).Refresh(ctx, ids); err != nil {
		return err
	}
	d := curation.NewDesk(store, ix)
	var sets []string
	for chunk := range slices.Chunk(ids, 1000) {
		got, err := d.Affected(ctx, chunk)
		if err != nil {
			return err
		}
		for _, id := range got {
			if !slices.Contains(sets, id) {
				sets = append(sets, id)
			}
		}
	}
	return d.Refresh(ctx, sets)
}
