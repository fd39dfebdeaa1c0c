// Package editorial holds what editors decide about items, kept apart from
// the mapped records so that a re-harvest never undoes it, and the
// operations that record and apply those decisions.
package editorial

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Editorial is what editors decide about an item, kept apart from the
// mapped record (S3 editorial/PID.json) so that a re-harvest never undoes it.
type Editorial struct {
	Published       bool       `json:"published"`
	PublishAt       *time.Time `json:"publish_at,omitempty"`
	DepublishAt     *time.Time `json:"depublish_at,omitempty"`
	DepublishReason string     `json:"depublish_reason,omitempty"`
	By              string     `json:"by,omitempty"`
	At              time.Time  `json:"at"`
}

// Apply puts editorial decisions on a mapped record.
func (e Editorial) Apply(r *profile.Record) {
	r.Rights.Published = e.Published
	r.Rights.PublishAt, r.Rights.DepublishAt = e.PublishAt, e.DepublishAt
	r.Rights.DepublishReason = e.DepublishReason
	at := e.At
	r.Rights.EditorialAt = &at
}

// ErrNotFound matches the error about an item the catalog does not hold.
var ErrNotFound = notfound.Err

// Read returns the editors' decisions about an item, nil when none.
func Read(ctx context.Context, store *s3store.Store, pid string) (*Editorial, error) {
	var ed Editorial
	err := store.GetJSON(ctx, bucket.EditorialKey(pid), &ed)
	if s3store.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &ed, nil
}

// Desk records editors' decisions: in S3, where a re-harvest never undoes
// them, and at once in both indices.
type Desk struct {
	Store   *s3store.Store
	Indices esindex.Indices
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// Decision is an editor's publish or depublish of one item.
type Decision struct {
	Publish bool
	// At and Until bound the publish window (optional).
	At, Until *time.Time
	Reason    string
	By        string
}

// ItemState is an item after an editorial decision.
type ItemState struct {
	ID        string    `json:"id"`
	Editorial Editorial `json:"editorial"`
	// Visible: teachers find it in the education index now.
	Visible bool   `json:"visible"`
	Why     string `json:"why,omitempty"`
}

// Decide records an editor's decision about an item and applies it to
// both indices.
func (d *Desk) Decide(ctx context.Context, id string, dec Decision) (*ItemState, error) {
	if dec.At != nil && dec.Until != nil && !dec.At.Before(*dec.Until) {
		return nil, errors.New("the publish window ends before it begins")
	}
	uri, err := d.Indices.RecordURI(ctx, id)
	if err != nil {
		return nil, err
	}
	key, ok := strings.CutPrefix(uri, d.Store.URI(""))
	if !ok {
		return nil, notfound.Errorf("no item %s in the catalog", id)
	}
	var rec profile.Record
	if err := d.Store.GetJSON(ctx, key, &rec); err != nil {
		return nil, fmt.Errorf("record of %s: %w", id, err)
	}
	now := time.Now().UTC()
	if d.Now != nil {
		now = d.Now().UTC()
	}
	ed := Editorial{Published: dec.Publish, PublishAt: dec.At, DepublishAt: dec.Until, By: dec.By, At: now}
	if !dec.Publish {
		ed = Editorial{DepublishReason: dec.Reason, By: dec.By, At: now}
	}
	if err := d.Store.PutJSON(ctx, bucket.EditorialKey(id), ed); err != nil {
		return nil, err
	}
	ed.Apply(&rec)
	cat, edu, err := esindex.Project(rec, uri, now)
	if err != nil {
		return nil, err
	}
	for i, kind := range []string{esindex.Catalog, esindex.Education} {
		op := []esindex.Op{cat, edu}[i]
		out, err := d.Indices.Write(ctx, kind, []esindex.Op{op})
		if err != nil {
			return nil, err
		}
		if len(out.Rejected) > 0 {
			return nil, fmt.Errorf("%s refused %s: %s", d.Indices.Alias(kind), id, out.Rejected[0].Reason)
		}
		if out.Retryable > 0 {
			return nil, fmt.Errorf("write %s to %s: %s (the decision is kept; run it again)", id, d.Indices.Alias(kind), out.RetryableReason)
		}
		if err := d.Indices.Refresh(ctx, kind); err != nil {
			return nil, err
		}
	}
	st := &ItemState{ID: id, Editorial: ed, Visible: rec.VisibleToTeachers(now)}
	if !st.Visible {
		st.Why = rec.Invisibility(now)
	}
	return st, nil
}

// ParseWhen reads the edge of a publish window: an RFC 3339 date-time or a
// date (midnight UTC); empty is no edge.
func ParseWhen(v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	for _, layout := range []string{time.RFC3339, time.DateOnly} {
		if t, err := time.Parse(layout, v); err == nil {
			return &t, nil
		}
	}
	return nil, errors.New("want a date (2026-09-01) or an RFC 3339 date-time")
}
