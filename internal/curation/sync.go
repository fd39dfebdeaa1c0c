package curation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Type is the education index's administrative type of a curated set.
const Type = "collectie"

// SourceID marks documents that come from curation, not from a harvest.
const SourceID = "curation"

// Outcome is what a look at a set's publication did and what it waits for.
type Outcome struct {
	Status Status `json:"status"`
	// Published or Depublished: this look made the step.
	Published   bool `json:"published,omitempty"`
	Depublished bool `json:"depublished,omitempty"`
	// Refused: the items that kept the publication from happening.
	Refused []string `json:"refused,omitempty"`
	// Wake is the next date the set waits for; Pending that it waits for
	// something (a date, or an approval).
	Wake    *time.Time `json:"wake,omitempty"`
	Pending bool       `json:"pending"`
	// Held is how many items the set holds in the indices now.
	Held int `json:"held"`
}

// Sync brings a set's publication up to date at now: publishes it when it
// is approved and its date has come (unless an item lacks the education
// licence: then the publication is refused and the items named),
// depublishes it when its end has come, and makes the items and the
// set's document in the indices agree with the set. It may run any number
// of times: each run after the first finds nothing more to do.
func (d *Desk) Sync(ctx context.Context, id string) (Outcome, error) {
	for attempt := 0; ; attempt++ {
		s, ver, err := d.Get(ctx, id)
		if errors.Is(err, notfound.Err) {
			return Outcome{}, nil // a set that is gone holds nothing
		}
		if err != nil {
			return Outcome{}, err
		}
		now := d.now()
		publish, depublish, _ := s.Due(now)
		var out Outcome
		var what []string
		action := ""
		switch {
		case publish:
			bad, err := d.unlicensed(ctx, s)
			if err != nil {
				return Outcome{}, err
			}
			action = "publish"
			if len(bad) > 0 {
				s.Refused, s.PublishAt = bad, nil
				out.Refused = bad
				what = []string{fmt.Sprintf("publication refused: %d items lack the education licence (%s, or %s for a fragment): %s",
					len(bad), profile.EducationLicence, profile.FragmentLicence, strings.Join(bad, ", "))}
			} else {
				s.Status, s.PublishedAt, s.Refused = Published, &now, nil
				out.Published = true
				what = []string{"status: approved → published"}
			}
		case depublish:
			s.Status = Depublished
			out.Depublished = true
			action = "depublish"
			what = []string{"status: published → depublished", "reason: " + s.DepublishReason}
		}
		// The indices follow the set first, then S3 says what the set
		// is: a set S3 calls published is live. A step lost to a crash
		// or to an editor's change is made again by the next sync.
		held, err := d.hold(ctx, s)
		if err != nil {
			return Outcome{}, err
		}
		if err := d.writeDocument(ctx, s); err != nil {
			return Outcome{}, err
		}
		if action != "" {
			_, err := d.save(ctx, s, ver, "publication", action, what, "")
			if s3store.IsConflict(err) && attempt < 10 {
				continue // an editor changed it meanwhile: look again
			}
			if err != nil {
				return Outcome{}, err
			}
		}
		_, _, wake := s.Due(d.now())
		out.Status, out.Wake, out.Pending, out.Held = s.Status, wake, s.Pending(), held
		return out, nil
	}
}

// hold gives a published set's items its hold and overrides, and takes
// them from items it no longer holds (all of them, once it is not
// published). It returns how many items it holds.
func (d *Desk) hold(ctx context.Context, s *Set) (int, error) {
	want := map[string]Item{}
	if s.Status == Published {
		for _, it := range s.Items {
			want[it.ExternalID] = it
		}
	}
	holding, err := d.Indices.Holding(ctx, s.ID)
	if err != nil {
		return 0, err
	}
	ids := s.IDs()
	for _, id := range holding {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	since := d.now()
	if s.PublishedAt != nil {
		since = *s.PublishedAt
	}
	var cats, edus []esindex.Op
	held := 0
	for _, id := range ids {
		it, keep := want[id]
		if !keep && !slices.Contains(holding, id) {
			continue // never held: nothing to take away
		}
		ed, err := editorial.Update(ctx, d.Store, id, "set "+s.ID, "hold", d.now(), func(e *editorial.Editorial) []string {
			cur, had := e.Sets[s.ID]
			if !keep {
				if !had {
					return nil
				}
				delete(e.Sets, s.ID)
				return []string{"released by set " + s.ID}
			}
			h := editorial.Hold{Since: since, Overrides: it.Overrides}
			if had && sameHold(cur, h) {
				return nil
			}
			if e.Sets == nil {
				e.Sets = map[string]editorial.Hold{}
			}
			e.Sets[s.ID] = h
			return []string{"held by set " + s.ID}
		})
		if err != nil {
			return 0, err
		}
		cat, edu, _, err := d.Items.Projection(ctx, id, &ed)
		if errors.Is(err, notfound.Err) {
			continue // its partner deleted it: the hold waits in case it comes back
		}
		if err != nil {
			return 0, err
		}
		cats, edus = append(cats, cat), append(edus, edu)
		if keep {
			held++
		}
	}
	return held, d.Items.Write(ctx, cats, edus)
}

func sameHold(a, b editorial.Hold) bool {
	if !a.Since.Equal(b.Since) {
		return false
	}
	if a.Overrides.Empty() || b.Overrides.Empty() {
		return a.Overrides.Empty() == b.Overrides.Empty()
	}
	x, y := *a.Overrides, *b.Overrides
	return slices.Equal(x.Levels, y.Levels) && slices.Equal(x.Degrees, y.Degrees) && slices.Equal(x.Subjects, y.Subjects) &&
		slices.Equal(x.Themes, y.Themes) && slices.Equal(x.Keywords, y.Keywords) && x.Description == y.Description
}

// writeDocument puts a published set with visible items into the
// education index as a document of type collectie, and takes any other
// set out of it.
func (d *Desk) writeDocument(ctx context.Context, s *Set) error {
	op, err := d.documentOp(ctx, s)
	if err != nil {
		return err
	}
	return d.Items.Write(ctx, nil, []esindex.Op{op})
}

// documentOp is the education index's write of a set: its document when
// it is published and teachers see an item of it, else its deletion.
func (d *Desk) documentOp(ctx context.Context, s *Set) (esindex.Op, error) {
	op := esindex.Op{ID: s.ID, Ref: s.ID}
	if s.Status != Published {
		return op, nil
	}
	doc, err := d.Document(ctx, s)
	if err != nil || doc.ItemCount == 0 {
		return op, err
	}
	op.Doc, err = json.Marshal(doc)
	return op, err
}

// Document is a published set as the education index holds it: its own
// title and description, and the education fields, keywords and duration
// of the items teachers can see now (with the set's overrides).
func (d *Desk) Document(ctx context.Context, s *Set) (esindex.Doc, error) {
	items, err := d.Indices.Docs(ctx, esindex.Education, s.IDs())
	if err != nil {
		return esindex.Doc{}, err
	}
	doc := esindex.Doc{
		ExternalID: s.ID, AdministrativeType: Type, Title: s.Title, Abstract: s.Description, Thumbnail: s.Thumbnail,
		Published: true, PublishAt: s.PublishAt, DepublishAt: s.DepublishAt, SourceID: SourceID,
		Provenance: esindex.DocProvenance{
			Format: "curated-set", Identifier: s.ID, Raw: d.Store.URI(bucket.SetKey(s.ID)), Record: d.Store.URI(bucket.SetKey(s.ID)),
			Harvest: fmt.Sprintf("revision %d", s.Revision), MappingVersion: profile.MappingVersion,
		},
		UpdatedAt: s.UpdatedAt,
	}
	stamp := d.now().Truncate(time.Millisecond)
	doc.OAIDatestamp = &stamp
	for _, it := range s.Items {
		item, ok := items[it.ExternalID]
		if !ok {
			continue
		}
		doc.ItemCount++
		if doc.Thumbnail == "" {
			doc.Thumbnail = item.Thumbnail
		}
		doc.DurationSeconds += profile.PlayedSeconds(it.Start, it.End, item.DurationSeconds)
		doc.Languages = esindex.Union(doc.Languages, item.Languages)
		doc.Keywords = esindex.Union(doc.Keywords, item.Keywords)
		doc.Context = esindex.Union(doc.Context, item.Context)
		doc.TypicalAgeRange = esindex.Union(doc.TypicalAgeRange, item.TypicalAgeRange)
		doc.Classification = esindex.Union(doc.Classification, item.Classification)
		doc.ThemeLabels = esindex.Union(doc.ThemeLabels, item.ThemeLabels)
		doc.LevelIDs = esindex.Union(doc.LevelIDs, item.LevelIDs)
		doc.DegreeIDs = esindex.Union(doc.DegreeIDs, item.DegreeIDs)
		doc.SubjectIDs = esindex.Union(doc.SubjectIDs, item.SubjectIDs)
		doc.ThemeIDs = esindex.Union(doc.ThemeIDs, item.ThemeIDs)
		doc.Licenses = esindex.Union(doc.Licenses, item.Licenses)
		if item.OriginalCP != "" {
			doc.Publishers = esindex.Union(doc.Publishers, []string{item.OriginalCP})
		}
	}
	return doc, nil
}

// ItemProblem is an item of a set that teachers do not see, and why.
type ItemProblem struct {
	ExternalID string `json:"external_id"`
	Why        string `json:"why"`
}

// Problems returns the items of a set that teachers cannot see now, or,
// for a set not yet published, could not see once it is.
func (d *Desk) Problems(ctx context.Context, s *Set) ([]ItemProblem, error) {
	cat, err := d.Indices.Docs(ctx, esindex.Catalog, s.IDs())
	if err != nil {
		return nil, err
	}
	edu, err := d.Indices.Docs(ctx, esindex.Education, s.IDs(), esindex.FieldExternalID)
	if err != nil {
		return nil, err
	}
	now := d.now()
	out := []ItemProblem{}
	for _, id := range s.IDs() {
		doc, inCatalog := cat[id]
		_, visible := edu[id]
		switch {
		case !inCatalog:
			out = append(out, ItemProblem{id, "not in the catalog (deleted by its partner)"})
		case !visible:
			// The set publishes its items whatever their own decisions say:
			// what keeps one from teachers is its licence, a deletion, an expiry.
			r := profile.Record{Rights: profile.Rights{Licenses: doc.Licenses, Published: true, Deleted: doc.Deleted, ExpiryDate: doc.ExpiryDate}}
			why := r.Invisibility(now)
			if why == "" && s.Status == Published {
				why = "not in the education index"
			}
			if why != "" {
				out = append(out, ItemProblem{id, why})
			}
		}
	}
	return out, nil
}

// View is a set as the API shows it: the set, and its items teachers can
// see, in order.
type View struct {
	Set *Set `json:"set"`
	// Version is the set's version, for If-Match.
	Version     string     `json:"version"`
	Items       []ViewItem `json:"items"`
	Unavailable int        `json:"unavailable"`
}

// ViewItem is an item of a set as teachers see it.
type ViewItem struct {
	ExternalID string      `json:"external_id"`
	Start      *float64    `json:"start,omitempty"`
	End        *float64    `json:"end,omitempty"`
	Item       esindex.Doc `json:"item"`
}

// Show returns a set with its visible items; editors see any set, others
// only published ones.
func (d *Desk) Show(ctx context.Context, id string, editor bool) (*View, error) {
	s, ver, err := d.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !editor && s.Status != Published {
		return nil, notfound.Errorf("no published set %s", id)
	}
	docs, err := d.Indices.Docs(ctx, esindex.Education, s.IDs())
	if err != nil {
		return nil, err
	}
	v := &View{Set: s, Version: ver, Items: []ViewItem{}}
	for _, it := range s.Items {
		doc, ok := docs[it.ExternalID]
		if !ok {
			v.Unavailable++
			continue
		}
		v.Items = append(v.Items, ViewItem{ExternalID: it.ExternalID, Start: it.Start, End: it.End, Item: doc})
	}
	if !editor {
		// Who edits a set, and how, is the editors' business.
		pub := *s
		pub.Owners, pub.Review, pub.Change, pub.Refused, pub.CreatedBy, pub.UpdatedBy = nil, nil, nil, nil, "", ""
		pub.Items = nil
		v.Set, v.Version = &pub, ""
	}
	return v, nil
}

// Affected returns the published sets that hold any of the items ids, for
// a writer that changed them.
func (d *Desk) Affected(ctx context.Context, ids []string) ([]string, error) {
	docs, err := d.Indices.Docs(ctx, esindex.Catalog, ids, esindex.FieldCuratedSets)
	if err != nil {
		return nil, err
	}
	var sets []string
	for _, doc := range docs {
		sets = esindex.Union(sets, doc.CuratedSets)
	}
	slices.Sort(sets)
	return sets, nil
}

// Refresh writes the documents of sets again, after their items changed.
func (d *Desk) Refresh(ctx context.Context, sets []string) error {
	for _, id := range sets {
		s, _, err := d.Get(ctx, id)
		if errors.Is(err, notfound.Err) {
			continue
		}
		if err != nil {
			return err
		}
		if err := d.writeDocument(ctx, s); err != nil {
			return fmt.Errorf("document of set %s: %w", id, err)
		}
	}
	return nil
}

// Documents returns the education index's documents of every published
// set, for an index being rebuilt.
func (d *Desk) Documents(ctx context.Context) ([]esindex.Op, error) {
	sets, err := d.List(ctx)
	if err != nil {
		return nil, err
	}
	var ops []esindex.Op
	for _, s := range sets {
		op, err := d.documentOp(ctx, &s)
		if err != nil {
			return nil, err
		}
		if op.Doc != nil {
			ops = append(ops, op)
		}
	}
	return ops, nil
}
