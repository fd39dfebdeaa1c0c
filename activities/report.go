package activities

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
)

// Run states a report can end in.
const (
	StatusCompleted = "completed"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Report is the account of one harvest run that operators read.
type Report struct {
	Source       string                 `json:"source"`
	Set          string                 `json:"set,omitempty"`
	HarvestID    string                 `json:"harvest_id"`
	Status       string                 `json:"status"`
	Error        string                 `json:"error,omitempty"`
	From         string                 `json:"from,omitempty"`
	Until        string                 `json:"until,omitempty"`
	ResponseDate string                 `json:"response_date,omitempty"`
	Counts       Counts                 `json:"counts"`
	Quarantine   map[string]KindSummary `json:"quarantine,omitempty"`
	StartedAt    time.Time              `json:"started_at"`
	FinishedAt   time.Time              `json:"finished_at"`
	Seconds      float64                `json:"seconds"`
	// Watermark, when set on a completed run, is where the next
	// incremental harvest starts.
	Watermark   string `json:"watermark,omitempty"`
	Granularity string `json:"granularity,omitempty"`
}

// KindSummary counts the quarantined records of one kind (for invalid
// records, of one broken rule) and keeps a few as examples.
type KindSummary struct {
	Count    int             `json:"count"`
	Examples []QuarantineRef `json:"examples"`
}

// MaxExamples bounds the examples kept per kind (and in workflow state).
const MaxExamples = 5

// AddQuarantine folds page refs into a per-kind summary.
func AddQuarantine(sum map[string]KindSummary, refs []QuarantineRef) map[string]KindSummary {
	if len(refs) == 0 {
		return sum
	}
	if sum == nil {
		sum = map[string]KindSummary{}
	}
	for _, r := range refs {
		// An invalid record counts once under each rule it breaks.
		kinds := []string{r.Kind}
		if len(r.Rules) > 0 {
			kinds = kinds[:0]
			for _, rule := range r.Rules {
				kinds = append(kinds, r.Kind+": "+rule)
			}
		}
		for _, kind := range kinds {
			k := sum[kind]
			k.Count++
			if len(k.Examples) < MaxExamples {
				k.Examples = append(k.Examples, r)
			}
			sum[kind] = k
		}
	}
	return sum
}

// MergeQuarantine adds a page's summary to a run's.
func MergeQuarantine(sum, page map[string]KindSummary) map[string]KindSummary {
	if len(page) == 0 {
		return sum
	}
	if sum == nil {
		sum = map[string]KindSummary{}
	}
	// Sorted keys: the same order on every replay.
	//workflowcheck:ignore
	for _, kind := range slices.Sorted(maps.Keys(page)) {
		p := page[kind]
		k := sum[kind]
		k.Count += p.Count
		for _, e := range p.Examples {
			if len(k.Examples) < MaxExamples {
				k.Examples = append(k.Examples, e)
			}
		}
		sum[kind] = k
	}
	return sum
}

// FinishResult locates the report.
type FinishResult struct {
	ReportKey string `json:"report_key"`
}

// ReportKey is where the report of a run is kept; LatestReportKey holds a
// copy of the newest one per source and set.
func ReportKey(source, set, harvestID string) string {
	return fmt.Sprintf("reports/%s/%s/%s.json", source, setPath(set), harvestID)
}

// LatestReportKey is the newest report of a source and set.
func LatestReportKey(source, set string) string {
	return fmt.Sprintf("reports/%s/%s/latest.json", source, setPath(set))
}

// FinishHarvest makes the run's writes visible to search and writes its
// report, whatever the run's outcome.
func (h *Harvest) FinishHarvest(ctx context.Context, r Report) (FinishResult, error) {
	if r.Status == StatusCompleted {
		for _, kind := range esindex.Kinds {
			if err := h.Index.Refresh(ctx, kind); err != nil {
				return FinishResult{}, err
			}
		}
	}
	if !r.FinishedAt.IsZero() && !r.StartedAt.IsZero() {
		r.Seconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
	}
	if r.Status == StatusCompleted && r.Watermark != "" {
		wm := Watermark{ResponseDate: r.Watermark, Granularity: r.Granularity, HarvestID: r.HarvestID, CompletedAt: r.FinishedAt}
		if err := h.Store.PutJSON(ctx, WatermarkKey(r.Source, r.Set), wm); err != nil {
			return FinishResult{}, err
		}
	}
	key := ReportKey(r.Source, r.Set, r.HarvestID)
	if err := h.Store.PutJSON(ctx, key, r); err != nil {
		return FinishResult{}, err
	}
	if err := h.Store.PutJSON(ctx, LatestReportKey(r.Source, r.Set), r); err != nil {
		return FinishResult{}, err
	}
	h.log().Info("harvest finished", "source", r.Source, "set", r.Set, "status", r.Status,
		"records", r.Counts.Records, "indexed", r.Counts.Indexed, "quarantined", r.Counts.Quarantined, "report", key)
	return FinishResult{ReportKey: key}, nil
}
