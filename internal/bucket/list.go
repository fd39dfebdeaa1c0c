package bucket

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// QuarantineFilter selects quarantined records.
type QuarantineFilter struct {
	Source  string
	Harvest string
	// Kind matches the kind (unmappable, invalid, ...) or a broken rule.
	Kind  string
	Limit int
}

// QuarantinedRecord is one entry with its key.
type QuarantinedRecord struct {
	Key string `json:"key"`
	QuarantineEntry
}

// ListQuarantine returns quarantined records, newest harvests first.
func ListQuarantine(ctx context.Context, store *s3store.Store, f QuarantineFilter) ([]QuarantinedRecord, error) {
	prefix := QuarantinePrefix
	if f.Source != "" {
		prefix += f.Source + "/"
	}
	objs, err := store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key > objs[j].Key })
	var out []QuarantinedRecord
	for _, o := range objs {
		if f.Harvest != "" && !strings.Contains(o.Key, "/"+f.Harvest+"/") {
			continue
		}
		q, err := ReadQuarantine(ctx, store, o.Key)
		if err != nil {
			return nil, err
		}
		if f.Kind != "" && q.Kind != f.Kind && !slices.Contains(q.Rules, f.Kind) {
			continue
		}
		out = append(out, *q)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}

// ReadQuarantine reads one entry.
func ReadQuarantine(ctx context.Context, store *s3store.Store, key string) (*QuarantinedRecord, error) {
	if !strings.HasPrefix(key, QuarantinePrefix) {
		key = QuarantinePrefix + key
	}
	q := &QuarantinedRecord{Key: key}
	if err := store.GetJSON(ctx, key, &q.QuarantineEntry); err != nil {
		if s3store.IsNotFound(err) {
			return nil, notfound.Errorf("no quarantined record %s", key)
		}
		return nil, err
	}
	return q, nil
}

// ErrNotFound matches the errors about an object the bucket does not hold.
var ErrNotFound = notfound.Err

// ReadReport reads the report of one run of a source and set.
func ReadReport(ctx context.Context, store *s3store.Store, source, set, harvestID string) (*Report, error) {
	var r Report
	if err := store.GetJSON(ctx, ReportKey(source, set, harvestID), &r); err != nil {
		if s3store.IsNotFound(err) {
			return nil, notfound.Errorf("no report of run %s of %s%s", harvestID, source, SetLabel(set))
		}
		return nil, err
	}
	return &r, nil
}

// LatestReport reads the report of the newest finished harvest of a source
// and set.
func LatestReport(ctx context.Context, store *s3store.Store, source, set string) (*Report, error) {
	var r Report
	if err := store.GetJSON(ctx, LatestReportKey(source, set), &r); err != nil {
		if s3store.IsNotFound(err) {
			return nil, notfound.Errorf("no report of %s%s", source, SetLabel(set))
		}
		return nil, err
	}
	return &r, nil
}

// SetLabel names a set after a source in messages (" set kunst"); the
// whole repository needs no words.
func SetLabel(set string) string {
	if set == "" {
		return ""
	}
	return " set " + set
}
