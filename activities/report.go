package activities

import (
	"context"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
)

// FinishResult locates the report.
type FinishResult struct {
	ReportKey string `json:"report_key"`
}

// FinishHarvest makes the run's writes visible to search and writes its
// report, whatever the run's outcome.
func (h *Harvest) FinishHarvest(ctx context.Context, r bucket.Report) (FinishResult, error) {
	if bucket.Finished(r.Status) {
		for _, kind := range esindex.Kinds {
			if err := h.Index.Refresh(ctx, kind); err != nil {
				return FinishResult{}, err
			}
		}
	}
	if !r.FinishedAt.IsZero() && !r.StartedAt.IsZero() {
		r.Seconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
	}
	if bucket.Finished(r.Status) && r.Watermark != "" {
		wm := bucket.Watermark{ResponseDate: r.Watermark, Granularity: r.Granularity, HarvestID: r.HarvestID, CompletedAt: r.FinishedAt}
		if err := h.Store.PutJSON(ctx, bucket.WatermarkKey(r.Source, r.Set), wm); err != nil {
			return FinishResult{}, err
		}
	}
	key := bucket.ReportKey(r.Source, r.Set, r.HarvestID)
	if err := h.Store.PutJSON(ctx, key, r); err != nil {
		return FinishResult{}, err
	}
	if err := h.Store.PutJSON(ctx, bucket.LatestReportKey(r.Source, r.Set), r); err != nil {
		return FinishResult{}, err
	}
	h.log().Info("harvest finished", "source", r.Source, "set", r.Set, "status", r.Status,
		"records", r.Counts.Records, "indexed", r.Counts.Indexed, "quarantined", r.Counts.Quarantined, "report", key)
	return FinishResult{ReportKey: key}, nil
}
