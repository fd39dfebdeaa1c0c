package content

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// View is a piece as the API shows it to one person: its blocks in order,
// each available or not (and why), with what teachers see of its item.
type View struct {
	Piece *Piece `json:"piece"`
	// Version is the piece's version, for If-Match (its members only).
	Version string `json:"version,omitempty"`
	// Right is what the caller may do ("" for a public piece of another).
	Right           Right       `json:"right,omitempty"`
	Blocks          []ViewBlock `json:"blocks"`
	ItemCount       int         `json:"item_count"`
	Unavailable     int         `json:"unavailable"`
	DurationSeconds int         `json:"duration_seconds"`
}

// ViewBlock is a block and what it shows now.
type ViewBlock struct {
	Block
	Available bool `json:"available"`
	// Why an item or piece cannot be shown.
	Why  string       `json:"why,omitempty"`
	Item *esindex.Doc `json:"item,omitempty"`
	// Piece is a bundle's collection or assignment.
	Piece *Summary `json:"piece,omitempty"`
}

// Summary is a piece in a list.
type Summary struct {
	ID           string    `json:"id"`
	Kind         Kind      `json:"kind"`
	Title        string    `json:"title"`
	Owner        Person    `json:"owner"`
	Right        Right     `json:"right,omitempty"`
	Public       bool      `json:"is_public"`
	Contributors int       `json:"contributors"`
	Revision     int       `json:"revision"`
	UpdatedAt    time.Time `json:"updated_at"`
	// Problems are the blocks that cannot be shown (when asked for).
	Problems []BlockProblem `json:"problems,omitempty"`
}

// BlockProblem is a block that cannot be shown, and why.
type BlockProblem struct {
	Block  int    `json:"block"` // from 1
	Target string `json:"target"`
	Why    string `json:"why"`
}

func summary(p *Piece, right Right) Summary {
	return Summary{
		ID: p.ID, Kind: p.Kind, Title: p.Title, Owner: Person{ID: p.Owner.ID, Name: p.Owner.Name}, Right: right,
		Public: p.Public, Contributors: len(p.Shares), Revision: p.Revision, UpdatedAt: p.UpdatedAt,
	}
}

// Show returns a piece as the caller may see it: members see all of it
// and its version; other teachers a public piece without who shares it;
// pupils an assignment while it is available, without its answers.
func (d *Desk) Show(ctx context.Context, id string, c Caller) (*View, error) {
	p, ver, err := d.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	right := c.rightOn(p)
	switch {
	case c.Pupil && !right.CanRead():
		if !p.Available(d.now()) {
			return nil, notfound.Errorf("no assignment %s open to pupils now", id)
		}
		p = forPupils(p)
		ver, right = "", noRight
	case !right.CanRead():
		if !p.Public {
			return nil, notfound.Errorf("no collection, bundle or assignment %s that you may see", id)
		}
		p = forOthers(p)
		ver, right = "", noRight
	case right == invitedRight:
		ver = ""
	}
	v := &View{Piece: p, Version: ver, Right: right, Blocks: make([]ViewBlock, len(p.Blocks))}
	probs, err := d.blocks(ctx, p, c, v.Blocks)
	if err != nil {
		return nil, err
	}
	v.Unavailable = len(probs)
	for _, b := range v.Blocks {
		switch {
		case !b.Available:
		case b.Type == ItemBlock:
			v.ItemCount++
			v.DurationSeconds += profile.PlayedSeconds(b.Start, b.End, b.Item.DurationSeconds)
		case b.Piece != nil:
			v.ItemCount++
		}
	}
	if c.Pupil {
		for i := range v.Blocks {
			if !v.Blocks[i].Available {
				v.Blocks[i].Why = "unavailable"
			}
		}
	}
	return v, nil
}

// forOthers is a public piece as teachers other than its members see it.
func forOthers(p *Piece) *Piece {
	out := *p
	out.Shares, out.Change = []Share{}, nil
	out.Owner.Email = ""
	out.CreatedBy, out.UpdatedBy = out.Owner.Name, ""
	return &out
}

// forPupils is an assignment as pupils see it: no answers, no people.
func forPupils(p *Piece) *Piece {
	out := *forOthers(p)
	out.Owner = Person{Name: p.Owner.Name}
	out.CreatedBy = ""
	out.Blocks = make([]Block, len(p.Blocks))
	for i, b := range p.Blocks {
		b.Questions = slices.Clone(b.Questions)
		for j := range b.Questions {
			b.Questions[j].Answers = nil
		}
		out.Blocks[i] = b
	}
	return &out
}

// blocks fills out with p's blocks as they show now, and returns those
// that cannot be shown.
func (d *Desk) blocks(ctx context.Context, p *Piece, c Caller, out []ViewBlock) ([]BlockProblem, error) {
	visible, err := d.Indices.Docs(ctx, esindex.Education, p.Items())
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range p.Items() {
		if _, ok := visible[id]; !ok {
			missing = append(missing, id)
		}
	}
	catalog, err := d.Indices.Docs(ctx, esindex.Catalog, missing, "licenses", "is_deleted", "is_published", "expiry_date", "publish_at", "depublish_at")
	if err != nil {
		return nil, err
	}
	pieces := map[string]*Summary{}
	why := map[string]string{}
	for _, ref := range p.Refs() {
		q, _, err := d.Get(ctx, ref)
		switch {
		case errors.Is(err, notfound.Err):
			why[ref] = "deleted by its owner"
		case err != nil:
			return nil, err
		case !c.rightOn(q).CanRead() && !(q.Public && !c.Pupil):
			why[ref] = "private to its owner"
		default:
			s := summary(q, "")
			pieces[ref] = &s
		}
	}
	now := d.now()
	probs := []BlockProblem{}
	for i, b := range p.Blocks {
		vb := ViewBlock{Block: b, Available: true}
		switch b.Type {
		case ItemBlock:
			doc, ok := visible[b.ExternalID]
			if ok {
				if err := fits(b, doc); err != nil {
					vb.Available, vb.Why = false, strings.TrimPrefix(err.Error(), "item "+b.ExternalID+": ")
				} else {
					vb.Item = &doc
				}
				break
			}
			vb.Available = false
			cat, inCatalog := catalog[b.ExternalID]
			if !inCatalog {
				vb.Why = "deleted from the archive"
				break
			}
			r := profile.Record{Rights: profile.Rights{Licenses: cat.Licenses, Published: cat.Published, Deleted: cat.Deleted,
				ExpiryDate: cat.ExpiryDate, PublishAt: cat.PublishAt, DepublishAt: cat.DepublishAt}}
			if vb.Why = r.Invisibility(now); vb.Why == "" {
				vb.Why = "not in the education index"
			}
		case CollectionBlock, AssignmentBlock:
			vb.Piece = pieces[b.Ref]
			vb.Available, vb.Why = vb.Piece != nil, why[b.Ref]
		}
		if !vb.Available {
			probs = append(probs, BlockProblem{Block: i + 1, Target: b.target(), Why: vb.Why})
		}
		out[i] = vb
	}
	return probs, nil
}

// Problems returns the blocks of a piece that cannot be shown now, and why.
func (d *Desk) Problems(ctx context.Context, p *Piece, c Caller) ([]BlockProblem, error) {
	return d.blocks(ctx, p, c, make([]ViewBlock, len(p.Blocks)))
}

// Overview is a teacher's pieces, as the current platform splits them.
type Overview struct {
	SharedWithMe []Summary `json:"shared_with_me"`
	SharedByMe   []Summary `json:"shared_by_me"`
	NotShared    []Summary `json:"not_shared"`
	// Invitations wait for the teacher's answer.
	Invitations []Summary `json:"invitations"`
}

// Mine lists the caller's pieces and invitations, newest change first;
// with problems, each with the blocks that cannot be shown.
func (d *Desk) Mine(ctx context.Context, c Caller, problems bool) (*Overview, error) {
	prefixes := []string{bucket.PersonContentPrefix(personKey(c.ID))}
	if c.Email != "" {
		prefixes = append(prefixes, bucket.InvitationPrefix(personKey(strings.ToLower(c.Email))))
	}
	var ids []string
	for _, prefix := range prefixes {
		objs, err := d.Store.List(ctx, prefix)
		if err != nil {
			return nil, err
		}
		for _, o := range objs {
			if id := bucket.MarkID(o.Key); ValidID(id) && !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	out := &Overview{SharedWithMe: []Summary{}, SharedByMe: []Summary{}, NotShared: []Summary{}, Invitations: []Summary{}}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for _, id := range ids {
		g.Go(func() error {
			p, _, err := d.Get(gctx, id)
			if errors.Is(err, notfound.Err) {
				return nil // deleted: its mark is stale
			}
			if err != nil {
				return err
			}
			right := c.rightOn(p)
			if !right.CanRead() {
				return nil // a mark left from a right taken away
			}
			s := summary(p, right)
			if problems {
				if s.Problems, err = d.Problems(gctx, p, c); err != nil {
					return fmt.Errorf("%s: %w", id, err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			switch {
			case right == invitedRight:
				out.Invitations = append(out.Invitations, s)
			case right != OwnerRight:
				out.SharedWithMe = append(out.SharedWithMe, s)
			case len(p.Shares) > 0:
				out.SharedByMe = append(out.SharedByMe, s)
			default:
				out.NotShared = append(out.NotShared, s)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, l := range [][]Summary{out.SharedWithMe, out.SharedByMe, out.NotShared, out.Invitations} {
		sort.Slice(l, func(i, j int) bool {
			if !l[i].UpdatedAt.Equal(l[j].UpdatedAt) {
				return l[i].UpdatedAt.After(l[j].UpdatedAt)
			}
			return l[i].ID < l[j].ID
		})
	}
	return out, nil
}
