package content

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// SourceID marks the education index's documents of teachers' pieces.
const SourceID = "content"

// readers bounds the S3 requests of a refresh or a rebuild in flight (S3
// answers in tens of milliseconds); parallel the pieces a teacher's
// overview reads at once.
const (
	parallel = 16
	readers  = 64
)

// Publish brings the education index's document of a piece up to date:
// a public piece has one, a private or deleted one none. It reads the
// piece again after the write, so that of two writers the last one's
// piece is what stays; then the bundles that hold the piece follow.
func (d *Desk) Publish(ctx context.Context, id string) error {
	if err := d.publish(ctx, []string{id}); err != nil {
		return err
	}
	if KindOf(id) == Bundle {
		return nil
	}
	bundles, err := d.Indices.Referring(ctx, []string{id})
	if err != nil {
		return err
	}
	return d.publish(ctx, bundles)
}

// Refresh writes again the documents of the public pieces that hold any
// of the items ids, after the items changed (deleted, depublished, their
// duration), and of the bundles that hold those pieces. It returns how
// many documents it wrote.
func (d *Desk) Refresh(ctx context.Context, ids []string) (int, error) {
	n := 0
	for level := 0; level < 2 && len(ids) > 0; level++ {
		var pieces []string
		for chunk := range slices.Chunk(ids, 1000) {
			got, err := d.Indices.Referring(ctx, chunk)
			if err != nil {
				return n, err
			}
			pieces = append(pieces, got...)
		}
		slices.Sort(pieces)
		pieces = slices.Compact(pieces)
		if err := d.publish(ctx, pieces); err != nil {
			return n, err
		}
		n += len(pieces)
		ids = pieces // the bundles that hold them come next
	}
	return n, nil
}

// publish writes the documents of pieces ids as S3 holds them now.
func (d *Desk) publish(ctx context.Context, ids []string) error {
	for attempt := 0; len(ids) > 0; attempt++ {
		if attempt == 5 {
			return fmt.Errorf("pieces %v kept changing while their documents were written", ids)
		}
		read := make([]*Piece, len(ids))
		versions := make([]string, len(ids))
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(readers)
		for i, id := range ids {
			g.Go(func() error {
				p, ver, err := d.Get(gctx, id)
				if errors.Is(err, notfound.Err) {
					return nil
				}
				read[i], versions[i] = p, ver
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		ops, err := d.documentOps(ctx, ids, read, nil)
		if err != nil {
			return err
		}
		if err := d.index(ctx, ops); err != nil {
			return err
		}
		// A piece saved meanwhile may have had its document written
		// before this one: those are written again.
		var again []string
		var mu sync.Mutex
		g, gctx = errgroup.WithContext(ctx)
		g.SetLimit(readers)
		for i, id := range ids {
			g.Go(func() error {
				ver, err := d.Store.Head(gctx, bucket.ContentKey(id))
				if err != nil && !s3store.IsNotFound(err) {
					return err
				}
				if ver != versions[i] {
					mu.Lock()
					again = append(again, id)
					mu.Unlock()
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		ids = again
	}
	return nil
}

// index sends documents to the education index and makes them visible.
func (d *Desk) index(ctx context.Context, ops []esindex.Op) error {
	if len(ops) == 0 {
		return nil
	}
	out, err := d.Indices.Write(ctx, esindex.Education, ops)
	if err != nil {
		return err
	}
	if len(out.Rejected) > 0 {
		return fmt.Errorf("%s refused %s: %s", d.Indices.Alias(esindex.Education), out.Rejected[0].ID, out.Rejected[0].Reason)
	}
	if out.Retryable > 0 {
		return fmt.Errorf("write to %s: %s (run it again)", d.Indices.Alias(esindex.Education), out.RetryableReason)
	}
	return d.Indices.Refresh(ctx, esindex.Education)
}

// documentOps are the education index's writes of pieces (nil: gone):
// the document of a public one, the deletion of any other.
func (d *Desk) documentOps(ctx context.Context, ids []string, pieces []*Piece, known *lookup) ([]esindex.Op, error) {
	if known == nil {
		known = &lookup{}
	}
	var items []string
	for _, p := range pieces {
		if p != nil && p.Public {
			items = append(items, p.Items()...)
			items = append(items, p.Refs()...)
		}
	}
	docs, err := known.fetch(ctx, d, items)
	if err != nil {
		return nil, err
	}
	vocab, err := profile.Vocabularies()
	if err != nil {
		return nil, err
	}
	ops := make([]esindex.Op, len(ids))
	for i, id := range ids {
		ops[i] = esindex.Op{ID: id, Ref: id}
		if p := pieces[i]; p != nil && p.Public {
			doc := d.document(p, docs, vocab)
			if ops[i].Doc, err = json.Marshal(doc); err != nil {
				return nil, err
			}
		}
	}
	return ops, nil
}

// lookup keeps the education index's documents of items (and pieces)
// that one run of documents has read: pieces share popular items, so a
// rebuild asks for each once. It forgets all past maxKnown.
type lookup struct {
	docs    map[string]esindex.Doc
	missing map[string]bool
}

const maxKnown = 200_000

// fetch returns the documents of ids teachers see, reading those not
// known yet.
func (l *lookup) fetch(ctx context.Context, d *Desk, ids []string) (map[string]esindex.Doc, error) {
	if l.docs == nil || len(l.docs)+len(l.missing) > maxKnown {
		l.docs, l.missing = map[string]esindex.Doc{}, map[string]bool{}
	}
	var unknown []string
	for _, id := range ids {
		if _, ok := l.docs[id]; !ok && !l.missing[id] {
			unknown = append(unknown, id)
		}
	}
	slices.Sort(unknown)
	unknown = slices.Compact(unknown)
	got, err := d.docs(ctx, unknown)
	if err != nil {
		return nil, err
	}
	for _, id := range unknown {
		if doc, ok := got[id]; ok {
			l.docs[id] = doc
		} else {
			l.missing[id] = true
		}
	}
	return l.docs, nil
}

// docs reads the education index's documents of ids (what teachers see).
func (d *Desk) docs(ctx context.Context, ids []string) (map[string]esindex.Doc, error) {
	out := map[string]esindex.Doc{}
	for chunk := range slices.Chunk(ids, 1000) {
		got, err := d.Indices.Docs(ctx, esindex.Education, chunk, esindex.FieldExternalID, esindex.FieldType, esindex.FieldTitle,
			esindex.FieldDuration, esindex.FieldThumbnail, esindex.FieldLanguages, esindex.FieldItemCount, "licenses", esindex.FieldProvider)
		if err != nil {
			return nil, err
		}
		for k, v := range got {
			out[k] = v
		}
	}
	return out, nil
}

// document is a public piece as the education index holds it: its own
// title, description and education fields (with their labels and
// inferred levels, as items have them), its owner's name, and the count
// and playing time of what teachers can see of it now.
func (d *Desk) document(p *Piece, docs map[string]esindex.Doc, vocab *profile.Vocabulary) esindex.Doc {
	concepts := func(uris []string) []profile.Concept {
		var out []profile.Concept
		for _, u := range uris {
			out = append(out, profile.Concept{URI: u})
		}
		return out
	}
	description := p.Description
	if description == "" {
		description = p.Instructions
	}
	r := profile.Record{
		ExternalID: p.ID, Type: string(p.Kind), Title: p.Title, Description: description, Thumbnail: p.Thumbnail,
		Keywords: p.Keywords,
		Education: profile.Education{
			Levels: concepts(p.Education.Levels), Degrees: concepts(p.Education.Degrees),
			Subjects: concepts(p.Education.Subjects), Themes: concepts(p.Education.Themes),
		},
	}
	vocab.Enrich(&r)
	uri := d.Store.URI(bucket.ContentKey(p.ID))
	doc := esindex.NewDoc(r, uri)
	doc.Warnings = nil
	doc.Published, doc.SourceID, doc.UpdatedAt = true, SourceID, p.UpdatedAt
	stamp := d.now().Truncate(time.Millisecond)
	doc.OAIDatestamp = &stamp
	doc.OwnerName = p.Owner.Name
	doc.Provenance = esindex.DocProvenance{
		Format: "teacher-" + string(p.Kind), Identifier: p.ID, Raw: uri, Record: uri,
		Harvest: fmt.Sprintf("revision %d", p.Revision), MappingVersion: profile.MappingVersion,
	}
	doc.ContentRefs = append(p.Items(), p.Refs()...)
	doc.QuestionCount = p.Questions()
	doc.HasQuestions = doc.QuestionCount > 0
	for _, b := range p.Blocks {
		target, ok := docs[b.target()]
		if !ok || b.Type == TextBlock {
			continue
		}
		if doc.Thumbnail == "" {
			doc.Thumbnail = target.Thumbnail
		}
		doc.ItemCount++
		if b.Type == ItemBlock {
			doc.DurationSeconds += profile.PlayedSeconds(b.Start, b.End, target.DurationSeconds)
			doc.Languages = esindex.Union(doc.Languages, target.Languages)
		} else {
			doc.DurationSeconds += target.DurationSeconds
		}
	}
	return doc
}

// List returns every piece, by id (an operator's view).
func (d *Desk) List(ctx context.Context) ([]*Piece, error) {
	_, pieces, err := d.all(ctx)
	return slices.DeleteFunc(pieces, func(p *Piece) bool { return p == nil }), err
}

// all reads every piece: ids, and the pieces (nil where one was deleted
// while listed).
func (d *Desk) all(ctx context.Context) ([]string, []*Piece, error) {
	objs, err := d.Store.List(ctx, bucket.ContentPrefix)
	if err != nil {
		return nil, nil, err
	}
	var ids []string
	for _, o := range objs {
		if id := bucket.ContentID(o.Key); ValidID(id) {
			ids = append(ids, id)
		}
	}
	pieces, err := d.readAll(ctx, ids)
	return ids, pieces, err
}

// Documents streams the education index's documents of every public
// piece to add, for an index being rebuilt, and returns how many it gave.
// Readers keep S3 busy while the documents of the pieces read are made
// and indexed a batch at a time, so memory stays bounded and S3 and
// Elasticsearch work at once.
func (d *Desk) Documents(ctx context.Context, add func(esindex.Op) error) (int, error) {
	objs, err := d.Store.List(ctx, bucket.ContentPrefix)
	if err != nil {
		return 0, err
	}
	g, gctx := errgroup.WithContext(ctx)
	keys := make(chan string)
	g.Go(func() error {
		defer close(keys)
		for _, o := range objs {
			if id := bucket.ContentID(o.Key); ValidID(id) {
				select {
				case keys <- id:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
		}
		return nil
	})
	read := make(chan *Piece, 2*readers)
	rg, rctx := errgroup.WithContext(gctx)
	for range readers {
		rg.Go(func() error {
			for id := range keys {
				p, _, err := d.Get(rctx, id)
				if errors.Is(err, notfound.Err) {
					continue // deleted while listed
				}
				if err != nil {
					return err
				}
				select {
				case read <- p:
				case <-rctx.Done():
					return rctx.Err()
				}
			}
			return nil
		})
	}
	g.Go(func() error {
		err := rg.Wait()
		close(read)
		return err
	})
	n := 0
	known := &lookup{}
	flush := func(batch []*Piece) error {
		ids := make([]string, len(batch))
		for i, p := range batch {
			ids[i] = p.ID
		}
		ops, err := d.documentOps(gctx, ids, batch, known)
		if err != nil {
			return err
		}
		for _, op := range ops {
			if op.Doc == nil {
				continue
			}
			if err := add(op); err != nil {
				return err
			}
			n++
		}
		return nil
	}
	g.Go(func() error {
		var batch []*Piece
		for p := range read {
			if batch = append(batch, p); len(batch) == 500 {
				if err := flush(batch); err != nil {
					return err
				}
				batch = nil
			}
		}
		if gctx.Err() != nil {
			return gctx.Err()
		}
		return flush(batch)
	})
	return n, g.Wait()
}

// readAll reads pieces ids at once (nil where one is gone).
func (d *Desk) readAll(ctx context.Context, ids []string) ([]*Piece, error) {
	pieces := make([]*Piece, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(readers)
	for i, id := range ids {
		g.Go(func() error {
			p, _, err := d.Get(gctx, id)
			if errors.Is(err, notfound.Err) {
				return nil // deleted while listed
			}
			pieces[i] = p
			return err
		})
	}
	return pieces, g.Wait()
}

// Sync writes the documents of pieces ids (every piece when none) as S3
// holds them: after the search index missed a change. It returns how many
// pieces it looked at.
func (d *Desk) Sync(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		all, _, err := d.all(ctx)
		if err != nil {
			return 0, err
		}
		ids = all
	}
	for _, id := range ids {
		if !ValidID(id) {
			return 0, notfound.Errorf("no collection, bundle or assignment %s", id)
		}
	}
	if err := d.publish(ctx, ids); err != nil {
		return 0, err
	}
	// Bundles last: they count what the others now show.
	var bundles []string
	for _, id := range ids {
		if KindOf(id) != Bundle {
			continue
		}
		bundles = append(bundles, id)
	}
	return len(ids), d.publish(ctx, bundles)
}
