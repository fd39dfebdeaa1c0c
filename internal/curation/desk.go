package curation

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Desk is where editors work on curated sets: S3 keeps each set and its
// change log; the items a published set holds get the set's hold (and
// overrides) in their editorial decisions, and the set a document of its
// own in the education index.
type Desk struct {
	Store   *s3store.Store
	Indices esindex.Indices
	Items   *editorial.Desk
	// Notify tells the set's publication that the set changed (it starts
	// one when none runs); nil when nothing schedules publications.
	Notify func(ctx context.Context, id string) error
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// NewDesk returns a desk over a bucket and indices.
func NewDesk(store *s3store.Store, ix esindex.Indices) *Desk {
	return &Desk{Store: store, Indices: ix, Items: &editorial.Desk{Store: store, Indices: ix}}
}

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Conflict is a write made over a version that is no longer the set's:
// another editor saved first. It carries the set as it is now.
type Conflict struct {
	Set     *Set
	Version string
}

func (c *Conflict) Error() string {
	return fmt.Sprintf("set %s was changed by %s at %s (now version %s, revision %d): read it again and redo the change",
		c.Set.ID, c.Set.UpdatedBy, c.Set.UpdatedAt.Format(time.RFC3339), c.Version, c.Set.Revision)
}

// Get reads a set and its version.
func (d *Desk) Get(ctx context.Context, id string) (*Set, string, error) {
	if !ValidID(id) {
		return nil, "", notfound.Errorf("no set %s", id)
	}
	var s Set
	ver, err := d.Store.GetJSONVersion(ctx, bucket.SetKey(id), &s)
	if s3store.IsNotFound(err) {
		return nil, "", notfound.Errorf("no set %s", id)
	}
	if err != nil {
		return nil, "", err
	}
	return &s, ver, nil
}

// List returns every set, by id.
func (d *Desk) List(ctx context.Context) ([]Set, error) {
	objs, err := d.Store.List(ctx, bucket.SetsPrefix)
	if err != nil {
		return nil, err
	}
	out := []Set{}
	for _, o := range objs {
		id := bucket.SetID(o.Key)
		if id == "" {
			continue
		}
		s, _, err := d.Get(ctx, id)
		if errors.Is(err, notfound.Err) {
			continue // deleted while listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, nil
}

// Create saves a new draft set; an id is made when s has none.
func (d *Desk) Create(ctx context.Context, s Set, by string) (*Set, string, error) {
	if s.ID == "" {
		s.ID = newID()
	}
	if !ValidID(s.ID) {
		return nil, "", problemf("set id %q: want set- and lower-case letters, digits and dashes", s.ID)
	}
	now := d.now()
	s.Status, s.Revision, s.Change, s.Review = Draft, 0, nil, nil
	s.PublishAt, s.DepublishAt, s.PublishedAt, s.Refused = nil, nil, nil, nil
	s.CreatedAt, s.CreatedBy = now, by
	if len(s.Owners) == 0 {
		s.Owners = []string{by}
	}
	if s.Items == nil {
		s.Items = []Item{}
	}
	vocab, err := profile.Vocabularies()
	if err != nil {
		return nil, "", err
	}
	if err := s.check(vocab); err != nil {
		return nil, "", err
	}
	if err := d.checkItems(ctx, &s, s.IDs()); err != nil {
		return nil, "", err
	}
	ver, err := d.save(ctx, &s, "", by, "create", []string{"created"}, "")
	if s3store.IsConflict(err) {
		return nil, "", problemf("set %s exists already", s.ID)
	}
	return &s, ver, err
}

// Edit changes a set's content if version is still its version. Changing
// a set under review or approved sends it back to draft: what is reviewed
// is what goes live. A published set's changes go live at once.
func (d *Desk) Edit(ctx context.Context, id, version string, e Edit, by string) (*Set, string, error) {
	return d.change(ctx, id, version, by, "edit", "", func(s *Set) ([]string, error) {
		before := slices.Clone(s.Items)
		what, err := e.apply(s)
		if err != nil || len(what) == 0 {
			return what, err
		}
		// Items added, or whose fragment changed, are checked against
		// the catalog (those already there may since have been deleted:
		// the set is still edited, and its problems list them).
		var touched []string
		for _, it := range s.Items {
			if !slices.ContainsFunc(before, func(b Item) bool { return sameSpan(b, it) }) {
				touched = append(touched, it.ExternalID)
			}
		}
		if err := d.checkItems(ctx, s, touched); err != nil {
			return nil, err
		}
		if s.Status == InReview || s.Status == Approved {
			what = append(what, fmt.Sprintf("status: %s → %s (changed after review)", s.Status, Draft))
			s.Status = Draft
		}
		return what, nil
	})
}

// Take makes a step (review, approve, reject, publish, depublish,
// withdraw) if version is still the set's version.
func (d *Desk) Take(ctx context.Context, id, version string, st Step, by string) (*Set, string, error) {
	return d.change(ctx, id, version, by, st.Action, st.Comment, func(s *Set) ([]string, error) {
		what, err := st.take(s, by, d.now())
		if err != nil {
			return nil, err
		}
		if st.Action == ActionPublish || st.Action == ActionApprove {
			// Refuse at once what the publication would refuse.
			if bad, err := d.unlicensed(ctx, s); err != nil || len(bad) > 0 {
				if err == nil {
					err = problemf("set %s cannot be published: %d items lack the education licence (%s, or %s for a fragment): %s",
						s.ID, len(bad), profile.EducationLicence, profile.FragmentLicence, strings.Join(bad, ", "))
				}
				return nil, err
			}
		}
		return what, nil
	})
}

// change reads a set, checks the version, edits it and saves it; the
// publication hears of it.
func (d *Desk) change(ctx context.Context, id, version, by, action, comment string, edit func(*Set) ([]string, error)) (*Set, string, error) {
	s, cur, err := d.Get(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if version != "" && version != cur {
		return nil, "", &Conflict{Set: s, Version: cur}
	}
	what, err := edit(s)
	if err != nil {
		return nil, "", err
	}
	if len(what) == 0 {
		return s, cur, nil
	}
	vocab, err := profile.Vocabularies()
	if err != nil {
		return nil, "", err
	}
	if err := s.check(vocab); err != nil {
		return nil, "", err
	}
	ver, err := d.save(ctx, s, cur, by, action, what, comment)
	if s3store.IsConflict(err) {
		now, nowVer, gerr := d.Get(ctx, id)
		if gerr != nil {
			return nil, "", gerr
		}
		return nil, "", &Conflict{Set: now, Version: nowVer}
	}
	if err != nil {
		return nil, "", err
	}
	if d.Notify != nil && (s.Pending() || s.Status == Published || s.Status == Depublished) {
		if err := d.Notify(ctx, s.ID); err != nil {
			return s, ver, fmt.Errorf("set %s is saved, but its publication did not hear of it: %w", s.ID, err)
		}
	}
	return s, ver, nil
}

// save writes s over version ("" for a new set) and logs the change.
func (d *Desk) save(ctx context.Context, s *Set, version, by, action string, what []string, comment string) (string, error) {
	if s.Change != nil {
		if err := audit.Heal(ctx, d.Store, bucket.AuditSets, s.ID, *s.Change, version); err != nil {
			return "", err
		}
	}
	now := d.now()
	s.UpdatedAt, s.UpdatedBy = now, by
	s.Revision++
	s.Change = &audit.Entry{Revision: s.Revision, At: now, By: by, Action: action, Comment: comment, Changes: what, Before: version}
	b, err := json.Marshal(s)
	if err != nil {
		return "", err
	}
	ver, err := d.Store.PutIf(ctx, bucket.SetKey(s.ID), b, "application/json", version)
	if err != nil {
		return "", err
	}
	e := *s.Change
	e.After = ver
	return ver, audit.Append(ctx, d.Store, bucket.AuditSets, s.ID, e)
}

// History is a set's change log, oldest first.
func (d *Desk) History(ctx context.Context, id string) ([]audit.Entry, error) {
	s, ver, err := d.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.Change != nil {
		if err := audit.Heal(ctx, d.Store, bucket.AuditSets, id, *s.Change, ver); err != nil {
			return nil, err
		}
	}
	return audit.List(ctx, d.Store, bucket.AuditSets, id)
}

// checkItems names the first of ids the catalog does not hold, or holds
// as deleted, or whose fragment runs past its end.
func (d *Desk) checkItems(ctx context.Context, s *Set, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	docs, err := d.Indices.Docs(ctx, esindex.Catalog, ids, esindex.FieldExternalID, "is_deleted", esindex.FieldDuration)
	if err != nil {
		return err
	}
	for _, id := range ids {
		doc, ok := docs[id]
		switch {
		case !ok:
			return problemf("item %s is not in the catalog", id)
		case doc.Deleted:
			return problemf("item %s was deleted by its partner", id)
		}
		i := slices.IndexFunc(s.Items, func(it Item) bool { return it.ExternalID == id })
		if it := s.Items[i]; it.End != nil && doc.DurationSeconds > 0 && *it.End > float64(doc.DurationSeconds) {
			return problemf("item %s: the fragment ends at %gs, after the item's end (%ds)", id, *it.End, doc.DurationSeconds)
		}
	}
	return nil
}

// unlicensed returns the set's items whose licences do not allow education
// use (ONDERWIJS-FRAGMENT allows a fragment only), or that the catalog no
// longer holds.
func (d *Desk) unlicensed(ctx context.Context, s *Set) ([]string, error) {
	docs, err := d.Indices.Docs(ctx, esindex.Catalog, s.IDs(), "licenses", "is_deleted")
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, it := range s.Items {
		doc, ok := docs[it.ExternalID]
		fragment := it.Start != nil || it.End != nil
		switch {
		case !ok || doc.Deleted:
		case slices.Contains(doc.Licenses, profile.EducationLicence):
			continue
		case fragment && slices.Contains(doc.Licenses, profile.FragmentLicence):
			continue // the licence allows fragments only, and this is one
		}
		bad = append(bad, it.ExternalID)
	}
	return bad, nil
}

// sameSpan reports whether a and b are the same item and fragment.
func sameSpan(a, b Item) bool {
	eq := func(x, y *float64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	return a.ExternalID == b.ExternalID && eq(a.Start, b.Start) && eq(a.End, b.End)
}

func newID() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "set-" + string(b)
}
