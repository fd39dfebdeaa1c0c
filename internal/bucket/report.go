package bucket

import (
	"maps"
	"slices"
	"time"
)

// Run states a report can end in. A run that went through but in which
// Elasticsearch refused documents (quarantined, not searchable) is not
// "completed": operators must look.
const (
	StatusCompleted               = "completed"
	StatusCompletedWithRejections = "completed_with_rejections"
	StatusFailed                  = "failed"
	StatusCancelled               = "cancelled"
)

// Finished reports whether a run in this state went through to the end
// (its watermark may move).
func Finished(status string) bool {
	return status == StatusCompleted || status == StatusCompletedWithRejections
}

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

// Counts are the tallies of a page or a run.
type Counts struct {
	Pages       int `json:"pages"`
	Records     int `json:"records"` // records received, deleted ones included
	Indexed     int `json:"indexed"`
	Deleted     int `json:"deleted"`
	Quarantined int `json:"quarantined"`
	Warnings    int `json:"warnings"` // records indexed with warnings
	// Repaired counts invalid UTF-8 and forbidden characters mended.
	Repaired int `json:"repaired"`
	// Salvaged records came one by one (GetRecord) from an unparsable page.
	Salvaged int `json:"salvaged"`
	// Swept records were deleted because a complete run no longer saw them.
	Swept int `json:"swept"`
	// Visible records went to the education index too (teachers see them).
	Visible int `json:"visible"`
	// IndexRejected records were refused by Elasticsearch (and quarantined).
	IndexRejected int `json:"index_rejected"`
	// Listed keys of a partner bucket, and the metadata objects among
	// them that had not changed since the last run (not read again).
	Listed    int `json:"listed,omitempty"`
	Unchanged int `json:"unchanged,omitempty"`
	// Superseded records were not written because the same run had
	// already written a later version of them (a record changed while
	// the run listed it, processed out of order).
	Superseded int `json:"superseded,omitempty"`
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Pages += o.Pages
	c.Records += o.Records
	c.Indexed += o.Indexed
	c.Deleted += o.Deleted
	c.Quarantined += o.Quarantined
	c.Warnings += o.Warnings
	c.Repaired += o.Repaired
	c.Salvaged += o.Salvaged
	c.Swept += o.Swept
	c.Visible += o.Visible
	c.IndexRejected += o.IndexRejected
	c.Listed += o.Listed
	c.Unchanged += o.Unchanged
	c.Superseded += o.Superseded
}

// Watermark is where the next incremental harvest of a source and set
// starts: the responseDate of the last run that completed.
type Watermark struct {
	ResponseDate string    `json:"response_date"`
	Granularity  string    `json:"granularity"`
	HarvestID    string    `json:"harvest_id"`
	CompletedAt  time.Time `json:"completed_at"`
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

// Tombstone is a document removed because its source deleted the record.
type Tombstone struct {
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	Identifier string    `json:"identifier,omitempty"`
	DeletedAt  time.Time `json:"deleted_at"`
}
