package pipeline

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/bucket"

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
	bucket.QuarantineEntry
}

// ListQuarantine returns quarantined records, newest harvests first.
func (c *Clients) ListQuarantine(ctx context.Context, f QuarantineFilter) ([]QuarantinedRecord, error) {
	prefix := "quarantine/"
	if f.Source != "" {
		prefix += f.Source + "/"
	}
	objs, err := c.Store.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key > objs[j].Key })
	var out []QuarantinedRecord
	for _, o := range objs {
		if f.Harvest != "" && !strings.Contains(o.Key, "/"+f.Harvest+"/") {
			continue
		}
		q, err := c.QuarantinedRecord(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		if f.Kind != "" && q.Kind != f.Kind && !contains(q.Rules, f.Kind) {
			continue
		}
		out = append(out, *q)
		if f.Limit > 0 && len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}

// QuarantinedRecord reads one entry.
func (c *Clients) QuarantinedRecord(ctx context.Context, key string) (*QuarantinedRecord, error) {
	if !strings.HasPrefix(key, "quarantine/") {
		key = "quarantine/" + key
	}
	q := &QuarantinedRecord{Key: key}
	if err := c.Store.GetJSON(ctx, key, &q.QuarantineEntry); err != nil {
		if s3store.IsNotFound(err) {
			return nil, fmt.Errorf("%w: no quarantined record %s", ErrNotFound, key)
		}
		return nil, err
	}
	return q, nil
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
