// Package editorial holds what editors decide about items, kept apart from
// the mapped records so that a re-harvest never undoes it, and the
// operations that record and apply those decisions.
package editorial

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/audit"
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
	// Sets are the published curated sets that hold the item, with what
	// each changes of its education fields.
	Sets map[string]Hold `json:"sets,omitempty"`
	// Revision counts the changes; Change is the last one, also in the
	// audit log (a log entry a crash lost is written again from here).
	Revision int          `json:"revision,omitempty"`
	Change   *audit.Entry `json:"change,omitempty"`
}

// Hold is a published curated set's hold on an item.
type Hold struct {
	Since     time.Time  `json:"since"`
	Overrides *Overrides `json:"overrides,omitempty"`
}

// Overrides are an editor's education fields for an item in a curated
// set: each one given replaces what the partner said. Concepts are
// vocabulary URIs.
type Overrides struct {
	Levels      []string `json:"levels,omitempty"`
	Degrees     []string `json:"degrees,omitempty"`
	Subjects    []string `json:"subjects,omitempty"`
	Themes      []string `json:"themes,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Empty reports whether o overrides nothing.
func (o *Overrides) Empty() bool {
	return o == nil || len(o.Levels)+len(o.Degrees)+len(o.Subjects)+len(o.Themes)+len(o.Keywords) == 0 && o.Description == ""
}

// Check names the first override that is not a concept of the scheme its
// field needs.
func (o *Overrides) Check(v *profile.Vocabulary) error {
	if o == nil {
		return nil
	}
	for _, f := range []struct {
		what, scheme string
		uris         []string
	}{
		{"education level", profile.StructureScheme, o.Levels},
		{"education degree", profile.StructureScheme, o.Degrees},
		{"subject", profile.SubjectScheme, o.Subjects},
		{"theme", profile.ThemeScheme, o.Themes},
	} {
		for _, u := range f.uris {
			c, ok := v.Concept(u)
			if !ok || c.Scheme != f.scheme {
				return fmt.Errorf("%s %s is not in the vocabulary %s", f.what, u, f.scheme)
			}
		}
	}
	return nil
}

// Apply puts editorial decisions on a mapped record: what the record in S3
// keeps. While a published set holds the item it is published, without
// the item's own window.
func (e Editorial) Apply(r *profile.Record) {
	r.Rights.Published = e.Published
	r.Rights.PublishAt, r.Rights.DepublishAt = e.PublishAt, e.DepublishAt
	r.Rights.DepublishReason = e.DepublishReason
	r.Rights.Sets = nil
	if len(e.Sets) > 0 {
		r.Rights.Published, r.Rights.PublishAt, r.Rights.DepublishAt = true, nil, nil
		r.Rights.Sets = slices.Sorted(maps.Keys(e.Sets))
	}
	at := e.At
	r.Rights.EditorialAt = &at
}

// Overlay returns the record as the indices show it: with the education
// fields the curated sets holding it override. Where two sets override
// one field their concepts are joined; the description is the first
// set's (by id). The record in S3 keeps what the partner said, so the
// overrides end with the last set that holds the item.
func (e *Editorial) Overlay(r profile.Record, v *profile.Vocabulary) profile.Record {
	if e == nil || len(e.Sets) == 0 {
		return r
	}
	var levels, degrees, subjects, themes, keywords []string
	description := ""
	for _, id := range slices.Sorted(maps.Keys(e.Sets)) {
		o := e.Sets[id].Overrides
		if o.Empty() {
			continue
		}
		levels, degrees = esindex.Union(levels, o.Levels), esindex.Union(degrees, o.Degrees)
		subjects, themes = esindex.Union(subjects, o.Subjects), esindex.Union(themes, o.Themes)
		keywords = esindex.Union(keywords, o.Keywords)
		if description == "" {
			description = o.Description
		}
	}
	ed := r.Education
	set := func(dst *[]profile.Concept, uris []string) {
		if len(uris) == 0 {
			return
		}
		*dst = nil
		for _, u := range uris {
			*dst = append(*dst, profile.Concept{URI: u})
		}
	}
	// Inferred concepts came from what is being replaced: they are
	// inferred again from the overrides.
	ed.Levels = explicit(ed.Levels)
	ed.Themes = explicit(ed.Themes)
	set(&ed.Levels, levels)
	set(&ed.Degrees, degrees)
	set(&ed.Subjects, subjects)
	set(&ed.Themes, themes)
	if len(degrees) > 0 && len(levels) == 0 {
		ed.Levels = nil
	}
	r.Education = ed
	if len(keywords) > 0 {
		r.Keywords = keywords
	}
	if description != "" {
		r.Description = description
	}
	warnings := r.Warnings
	v.Enrich(&r)
	r.Warnings = warnings
	return r
}

func explicit(cs []profile.Concept) []profile.Concept {
	var out []profile.Concept
	for _, c := range cs {
		if !c.Inferred {
			out = append(out, c)
		}
	}
	return out
}

// ErrNotFound matches the error about an item the catalog does not hold.
var ErrNotFound = notfound.Err

// Read returns the editors' decisions about an item, nil when none.
func Read(ctx context.Context, store *s3store.Store, pid string) (*Editorial, error) {
	ed, _, err := read(ctx, store, pid)
	return ed, err
}

func read(ctx context.Context, store *s3store.Store, pid string) (*Editorial, string, error) {
	var ed Editorial
	ver, err := store.GetJSONVersion(ctx, bucket.EditorialKey(pid), &ed)
	if s3store.IsNotFound(err) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	return &ed, ver, nil
}

// Update changes the editors' decisions about an item: change edits them
// (nil when there were none) and returns what it did, in words, or nil
// when nothing changed; the write holds only if nobody else changed them
// since they were read, else Update reads them again and repeats. The
// change goes into the item's audit log.
func Update(ctx context.Context, store *s3store.Store, pid, by, action string, now time.Time, change func(*Editorial) []string) (Editorial, error) {
	for attempt := 0; ; attempt++ {
		cur, version, err := read(ctx, store, pid)
		if err != nil {
			return Editorial{}, err
		}
		var ed Editorial
		if cur != nil {
			ed = *cur
			ed.Sets = maps.Clone(cur.Sets)
			if ed.Change != nil {
				if err := audit.Heal(ctx, store, bucket.AuditItems, pid, *ed.Change, version); err != nil {
					return Editorial{}, err
				}
			}
		}
		what := change(&ed)
		if what == nil {
			return ed, nil
		}
		ed.By, ed.At = by, now
		ed.Revision++
		ed.Change = &audit.Entry{Revision: ed.Revision, At: now, By: by, Action: action, Changes: what, Before: version}
		b, err := json.Marshal(ed)
		if err != nil {
			return Editorial{}, err
		}
		after, err := store.PutIf(ctx, bucket.EditorialKey(pid), b, "application/json", version)
		if s3store.IsConflict(err) && attempt < 20 {
			continue
		}
		if err != nil {
			return Editorial{}, err
		}
		e := *ed.Change
		e.After = after
		return ed, audit.Append(ctx, store, bucket.AuditItems, pid, e)
	}
}

// Desk records editors' decisions: in S3, where a re-harvest never undoes
// them, and at once in both indices.
type Desk struct {
	Store   *s3store.Store
	Indices esindex.Indices
	// Now is the clock (tests pin it).
	Now func() time.Time
	// Changed hears of items a decision changed, for what holds them
	// (teachers' collections count their items anew); nil: nothing does.
	Changed func(ctx context.Context, ids []string) error
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

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Decide records an editor's decision about an item and applies it to
// both indices.
func (d *Desk) Decide(ctx context.Context, id string, dec Decision) (*ItemState, error) {
	if dec.At != nil && dec.Until != nil && !dec.At.Before(*dec.Until) {
		return nil, errors.New("the publish window ends before it begins")
	}
	if _, _, err := d.record(ctx, id); err != nil {
		return nil, err
	}
	now := d.now()
	action := "publish"
	if !dec.Publish {
		action = "depublish"
	}
	ed, err := Update(ctx, d.Store, id, dec.By, action, now, func(e *Editorial) []string {
		before := fmt.Sprint(e.Published, e.PublishAt, e.DepublishAt, e.DepublishReason)
		e.Published, e.PublishAt, e.DepublishAt, e.DepublishReason = dec.Publish, dec.At, dec.Until, ""
		if !dec.Publish {
			e.PublishAt, e.DepublishAt, e.DepublishReason = nil, nil, dec.Reason
		}
		what := []string{"published: " + fmt.Sprint(dec.Publish)}
		if dec.At != nil || dec.Until != nil {
			what = append(what, "window: "+when(dec.At)+" to "+when(dec.Until))
		}
		if dec.Reason != "" {
			what = append(what, "reason: "+dec.Reason)
		}
		if before == fmt.Sprint(e.Published, e.PublishAt, e.DepublishAt, e.DepublishReason) {
			return nil
		}
		return what
	})
	if err != nil {
		return nil, err
	}
	st, err := d.Reproject(ctx, id, &ed)
	if err != nil || d.Changed == nil {
		return st, err
	}
	if err := d.Changed(ctx, []string{id}); err != nil {
		return st, fmt.Errorf("the decision about %s is made, but what holds the item did not follow: %w", id, err)
	}
	return st, nil
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// record finds an item's mapped record through the catalog.
func (d *Desk) record(ctx context.Context, id string) (profile.Record, string, error) {
	var rec profile.Record
	uri, err := d.Indices.RecordURI(ctx, id)
	if err != nil {
		return rec, "", err
	}
	key, ok := strings.CutPrefix(uri, d.Store.URI(""))
	if !ok {
		return rec, "", notfound.Errorf("no item %s in the catalog", id)
	}
	if err := d.Store.GetJSON(ctx, key, &rec); err != nil {
		return rec, "", fmt.Errorf("record of %s: %w", id, err)
	}
	return rec, key, nil
}

// Reproject writes an item again into both indices with the editors'
// decisions ed on it (read from S3 when nil), and says whether teachers
// see it now.
func (d *Desk) Reproject(ctx context.Context, id string, ed *Editorial) (*ItemState, error) {
	cat, edu, st, err := d.Projection(ctx, id, ed)
	if err != nil {
		return nil, err
	}
	return st, d.Write(ctx, []esindex.Op{cat}, []esindex.Op{edu})
}

// Projection returns an item's writes into both indices with the editors'
// decisions ed on it (read from S3 when nil), and its state after them.
func (d *Desk) Projection(ctx context.Context, id string, ed *Editorial) (cat, edu esindex.Op, st *ItemState, err error) {
	rec, key, err := d.record(ctx, id)
	if err != nil {
		return cat, edu, nil, err
	}
	if ed == nil {
		if ed, err = Read(ctx, d.Store, id); err != nil {
			return cat, edu, nil, err
		}
		if ed == nil {
			ed = &Editorial{}
		}
	}
	now := d.now()
	ed.Apply(&rec)
	v, err := profile.Vocabularies()
	if err != nil {
		return cat, edu, nil, err
	}
	cat, edu, err = esindex.Project(ed.Overlay(rec, v), d.Store.URI(key), now)
	if err != nil {
		return cat, edu, nil, err
	}
	st = &ItemState{ID: id, Editorial: *ed, Visible: rec.VisibleToTeachers(now)}
	if !st.Visible {
		st.Why = rec.Invisibility(now)
	}
	return cat, edu, st, nil
}

// Write sends items' writes to both indices, checks every one and makes
// them visible to searches at once.
func (d *Desk) Write(ctx context.Context, cat, edu []esindex.Op) error {
	for i, kind := range []string{esindex.Catalog, esindex.Education} {
		ops := [][]esindex.Op{cat, edu}[i]
		if len(ops) == 0 {
			continue
		}
		out, err := d.Indices.Write(ctx, kind, ops)
		if err != nil {
			return err
		}
		if len(out.Rejected) > 0 {
			return fmt.Errorf("%s refused %s: %s", d.Indices.Alias(kind), out.Rejected[0].ID, out.Rejected[0].Reason)
		}
		if out.Retryable > 0 {
			return fmt.Errorf("write to %s: %s (the decision is kept; run it again)", d.Indices.Alias(kind), out.RetryableReason)
		}
		if err := d.Indices.Refresh(ctx, kind); err != nil {
			return err
		}
	}
	return nil
}

// History is the change log of an item's decisions, oldest first.
func History(ctx context.Context, store *s3store.Store, id string) ([]audit.Entry, error) {
	ed, version, err := read(ctx, store, id)
	if err != nil {
		return nil, err
	}
	if ed != nil && ed.Change != nil {
		if err := audit.Heal(ctx, store, bucket.AuditItems, id, *ed.Change, version); err != nil {
			return nil, err
		}
	}
	return audit.List(ctx, store, bucket.AuditItems, id)
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
