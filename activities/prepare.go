package activities

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/mappings"

	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// Granularities of OAI-PMH datestamps.
const (
	DayGranularity     = "YYYY-MM-DD"
	SecondsGranularity = "YYYY-MM-DDThh:mm:ssZ"
)

// PrepareInput is an operator's request for a harvest.
type PrepareInput struct {
	Source sources.Source `json:"source"`
	Set    string         `json:"set,omitempty"`
	// Full ignores the watermark and harvests everything.
	Full  bool   `json:"full,omitempty"`
	From  string `json:"from,omitempty"`
	Until string `json:"until,omitempty"`
}

// PrepareResult is how the harvest will run.
type PrepareResult struct {
	Granularity   string `json:"granularity,omitempty"`
	DeletedRecord string `json:"deleted_record,omitempty"`
	// From and Until are the window in the provider's granularity; From
	// comes from the watermark unless given or Full.
	From          string `json:"from,omitempty"`
	Until         string `json:"until,omitempty"`
	FromWatermark bool   `json:"from_watermark,omitempty"`
	// TrackSeen: the source does not report deletions, so the records seen
	// are kept, and a complete run's misses are deletions.
	TrackSeen bool `json:"track_seen,omitempty"`
	// Complete: the run lists everything (no window).
	Complete bool `json:"complete,omitempty"`
}

// PrepareHarvest asks the provider about itself (Identify), reads the
// watermark and settles the harvest's window.
func (h *Harvest) PrepareHarvest(ctx context.Context, in PrepareInput) (PrepareResult, error) {
	var out PrepareResult
	if in.Source.Kind == sources.KindS3 {
		// A listing is always whole: what it no longer holds is gone,
		// found by comparing it with the last run's (ListS3).
		out.Complete = true
		return out, nil
	}
	client, err := h.oaiClient(in.Source)
	if err != nil {
		return out, err
	}
	id, err := client.Identify(ctx)
	if err != nil {
		return out, withBackoff(ctx, classify("Identify at "+in.Source.OAI.URL+" for source "+in.Source.ID, err), 0)
	}
	out.Granularity, out.DeletedRecord = id.Granularity, strings.TrimSpace(id.DeletedRecord)
	if out.Granularity != DayGranularity && out.Granularity != SecondsGranularity {
		h.log().Warn("provider states no usable granularity; using days", "source", in.Source.ID, "granularity", id.Granularity)
		out.Granularity = DayGranularity
	}
	out.TrackSeen = out.DeletedRecord != "persistent"
	from := in.From
	if from == "" && !in.Full {
		var wm bucket.Watermark
		switch err := h.Store.GetJSON(ctx, bucket.WatermarkKey(in.Source.ID, in.Set), &wm); {
		case err == nil:
			from, out.FromWatermark = wm.ResponseDate, true
		case !s3store.IsNotFound(err):
			return out, err
		}
	}
	if out.From, err = ToGranularity(from, out.Granularity, false); err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), "BadWindow", nil)
	}
	if out.Until, err = ToGranularity(in.Until, out.Granularity, true); err != nil {
		return out, temporal.NewNonRetryableApplicationError(err.Error(), "BadWindow", nil)
	}
	if out.From != "" && out.Until != "" && out.From > out.Until {
		err := fmt.Errorf("from %s is after until %s", out.From, out.Until)
		return out, temporal.NewNonRetryableApplicationError(err.Error(), "BadWindow", nil)
	}
	out.Complete = out.From == "" && out.Until == ""
	return out, nil
}

// ToGranularity writes a date or date-time in a provider's granularity. A
// from of day granularity is the day the time falls in (the overlap of
// one granule keeps anything changed that day); an until covers its day.
func ToGranularity(v, granularity string, until bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", nil
	}
	var t time.Time
	var err error
	dayOnly := false
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err = time.Parse(layout, v); err == nil {
			dayOnly = layout == "2006-01-02"
			break
		}
	}
	if err != nil {
		return "", fmt.Errorf("%q is not a date (2006-01-02) or date-time (2006-01-02T15:04:05Z)", v)
	}
	t = t.UTC()
	if granularity == DayGranularity {
		return t.Format("2006-01-02"), nil
	}
	if dayOnly && until {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t.Format("2006-01-02T15:04:05Z"), nil
}

// ErrUnknownSource is the error type of a harvest of a source the sources
// file no longer has.
const ErrUnknownSource = "UnknownSource"

// LoadSource reads a source's settings from the sources file as they are
// now: a schedule names its source, and every run it starts harvests with
// the settings of the moment it fires.
func (h *Harvest) LoadSource(_ context.Context, id string) (sources.Source, error) {
	if h.SourcesFile == "" {
		err := fmt.Errorf("source %s: this worker has no sources file configured (sources)", id)
		return sources.Source{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrUnknownSource, nil)
	}
	f, err := sources.Load(h.SourcesFile, mappings.Known)
	if err != nil {
		return sources.Source{}, temporal.NewNonRetryableApplicationError(err.Error(), "BadSourcesFile", nil)
	}
	src, err := f.Get(id)
	if err != nil {
		return sources.Source{}, temporal.NewNonRetryableApplicationError(err.Error(), ErrUnknownSource, nil)
	}
	return src, nil
}
