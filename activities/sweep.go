package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/manifest"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// MassDeleteShare is the share of a set's records a sweep may delete
// without the operator's --allow-mass-delete.
const MassDeleteShare = 0.15

// SweepInput closes a run of a source that does not report deletions.
type SweepInput struct {
	Source    string `json:"source"`
	Set       string `json:"set,omitempty"`
	HarvestID string `json:"harvest_id"`
	// Complete runs listed everything: what they did not see is gone.
	Complete        bool `json:"complete"`
	AllowMassDelete bool `json:"allow_mass_delete,omitempty"`
	// OtherSets of the source: a record still in one of them stays.
	OtherSets []string `json:"other_sets,omitempty"`
}

// SweepResult counts what the sweep did.
type SweepResult struct {
	Members         int `json:"members"`
	Removed         int `json:"removed"`
	KeptInOtherSets int `json:"kept_in_other_sets,omitempty"`
}

// Seen marks in a page's seen list.
const (
	seenPresent = "+"
	seenDeleted = "-"
)

// mergeFanIn bounds the seen lists merged at once; more are merged in
// rounds. Each open list holds one chunk in memory.
const mergeFanIn = 64

// deleteChunk is how many records a sweep deletes in one go.
const deleteChunk = 1000

// Sweep updates a set's membership with what the run saw and, after a
// complete run, deletes the records it held but no longer saw, unless that
// is more than MassDeleteShare of them and the operator did not allow it.
// Every list involved (the pages' seen lists, the members before and
// after, the records gone) is a sorted manifest read in step with the
// others: memory does not grow with the set.
func (h *Harvest) Sweep(ctx context.Context, in SweepInput) (SweepResult, error) {
	var out SweepResult
	run := bucket.Run{Source: in.Source, Set: in.Set, Harvest: in.HarvestID}
	seen, err := h.mergedSeen(ctx, run)
	if err != nil {
		return out, err
	}
	prev, err := h.membersIndex(ctx, in.Source, in.Set)
	if err != nil {
		return out, err
	}
	members := manifest.NewWriter(h.Store, run.ManifestPrefix("members"), 0)
	gone := manifest.NewWriter(h.Store, run.ManifestPrefix("gone"), deleteChunk)
	var pending *manifest.Entry // a seen id, its marks folded together
	flush := func(old bool) error {
		// old: the set held the id before this run.
		e := pending
		pending = nil
		if e == nil {
			return nil
		}
		switch {
		case e.ETag == seenPresent:
			return members.Add(ctx, manifest.Entry{Key: e.Key})
		case e.ETag == seenDeleted:
			return nil
		case !old:
			return nil
		case in.Complete:
			return gone.Add(ctx, manifest.Entry{Key: e.Key})
		default:
			return members.Add(ctx, manifest.Entry{Key: e.Key})
		}
	}
	// Both streams are sorted; ids come from the seen lists (source 1)
	// and the members before (source 0), a member's entry first.
	readers := []*manifest.Reader{manifest.Open(h.Store, prev), seen}
	held := false
	err = manifest.Merge(ctx, readers, func(src int, e manifest.Entry) error {
		if pending != nil && pending.Key != e.Key {
			if err := flush(held); err != nil {
				return err
			}
			held = false
		}
		if src == 0 {
			held = true
			pending = &manifest.Entry{Key: e.Key}
			return nil
		}
		if pending == nil {
			pending = &manifest.Entry{Key: e.Key}
		}
		// A deletion anywhere in the run wins over a sighting.
		if e.ETag == seenDeleted || pending.ETag != seenDeleted {
			pending.ETag = e.ETag
		}
		return nil
	})
	if err == nil {
		err = flush(held)
	}
	if err != nil {
		return out, err
	}
	mIdx, err := members.Close(ctx)
	if err != nil {
		return out, err
	}
	gIdx, err := gone.Close(ctx)
	if err != nil {
		return out, err
	}
	if in.Complete {
		if err := MassDelete(in.Source, in.Set, gIdx.Count, prev.Count, in.AllowMassDelete); err != nil {
			return out, err
		}
		if err := h.sweepGone(ctx, in, gIdx, &out); err != nil {
			return out, err
		}
		if out.Removed > 0 || out.KeptInOtherSets > 0 {
			h.log().Info("swept records the source no longer has", "source", in.Source, "set", in.Set, "removed", out.Removed, "kept_in_other_sets", out.KeptInOtherSets)
		}
	}
	out.Members = mIdx.Count
	return out, h.commitMembers(ctx, in, mIdx)
}

// sweepGone deletes the records of gone that no other set of the source
// holds, a chunk at a time.
func (h *Harvest) sweepGone(ctx context.Context, in SweepInput, gone manifest.Index, out *SweepResult) error {
	if gone.Count == 0 {
		return nil
	}
	readers := []*manifest.Reader{manifest.Open(h.Store, gone)}
	for _, other := range in.OtherSets {
		if other == in.Set {
			continue
		}
		idx, err := h.membersIndex(ctx, in.Source, other)
		if err != nil {
			return err
		}
		readers = append(readers, manifest.Open(h.Store, idx))
	}
	var batch []string
	del := func() error {
		n, err := h.deleteAll(ctx, in.Source, in.Set, batch)
		out.Removed += n
		batch = batch[:0]
		return err
	}
	// The gone list is source 0: an id of it is followed by the same id
	// from every other set that holds it.
	var cur string
	var curGone, curKept bool
	settle := func() error {
		if !curGone {
			return nil
		}
		if curKept {
			out.KeptInOtherSets++
			return nil
		}
		batch = append(batch, cur)
		if len(batch) >= deleteChunk {
			return del()
		}
		return nil
	}
	err := manifest.Merge(ctx, readers, func(src int, e manifest.Entry) error {
		if e.Key != cur {
			if err := settle(); err != nil {
				return err
			}
			cur, curGone, curKept = e.Key, false, false
		}
		if src == 0 {
			curGone = true
		} else {
			curKept = true
		}
		return nil
	})
	if err == nil {
		err = settle()
	}
	if err == nil && len(batch) > 0 {
		err = del()
	}
	return err
}

// mergedSeen reads the run's seen lists as one sorted stream, merging
// them in rounds of mergeFanIn lists when there are more.
func (h *Harvest) mergedSeen(ctx context.Context, run bucket.Run) (*manifest.Reader, error) {
	objs, err := h.Store.List(ctx, run.SeenPrefix())
	if err != nil {
		return nil, err
	}
	lists := make([]manifest.Index, len(objs))
	for i, o := range objs {
		lists[i] = manifest.Index{Chunks: []manifest.Chunk{{Key: o.Key}}}
	}
	for round := 1; len(lists) > mergeFanIn; round++ {
		var next []manifest.Index
		for g := 0; g < len(lists); g += mergeFanIn {
			group := lists[g:min(g+mergeFanIn, len(lists))]
			w := manifest.NewWriter(h.Store, run.ManifestPrefix(fmt.Sprintf("seen-merge/%d/%d", round, g/mergeFanIn)), 0)
			if err := h.foldSeen(ctx, group, w.Add); err != nil {
				return nil, err
			}
			idx, err := w.Close(ctx)
			if err != nil {
				return nil, err
			}
			next = append(next, idx)
			activity.RecordHeartbeat(ctx, round)
		}
		lists = next
	}
	// The last round is merged on the fly into a reader.
	w := manifest.NewWriter(h.Store, run.ManifestPrefix("seen-all"), 0)
	if err := h.foldSeen(ctx, lists, w.Add); err != nil {
		return nil, err
	}
	idx, err := w.Close(ctx)
	if err != nil {
		return nil, err
	}
	return manifest.Open(h.Store, idx), nil
}

// foldSeen merges seen lists into one, an id once: deleted if any list
// says so.
func (h *Harvest) foldSeen(ctx context.Context, lists []manifest.Index, add func(context.Context, manifest.Entry) error) error {
	readers := make([]*manifest.Reader, len(lists))
	for i, l := range lists {
		readers[i] = manifest.Open(h.Store, l)
	}
	var pending *manifest.Entry
	err := manifest.Merge(ctx, readers, func(_ int, e manifest.Entry) error {
		if pending != nil && pending.Key == e.Key {
			if e.ETag == seenDeleted {
				pending.ETag = seenDeleted
			}
			return nil
		}
		if pending != nil {
			if err := add(ctx, *pending); err != nil {
				return err
			}
		}
		pending = &manifest.Entry{Key: e.Key, ETag: e.ETag}
		return nil
	})
	if err == nil && pending != nil {
		err = add(ctx, *pending)
	}
	return err
}

// writeSeen keeps the identifiers a page saw, sorted, for the sweep.
// lines are "+id" (present) or "-id" (deleted).
func writeSeen(ctx context.Context, store *s3store.Store, run bucket.Run, page int, lines []string) error {
	marks := map[string]string{}
	for _, l := range lines {
		mark, id := l[:1], l[1:]
		if marks[id] != seenDeleted {
			marks[id] = mark
		}
	}
	ids := make([]string, 0, len(marks))
	for id := range marks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w := manifest.NewWriter(store, run.SeenKey(page), len(ids)+1)
	for _, id := range ids {
		if err := w.Add(ctx, manifest.Entry{Key: id, ETag: marks[id]}); err != nil {
			return err
		}
	}
	_, err := w.Close(ctx)
	return err
}

// membersIndex is the manifest of the identifiers a set held after its
// last run: the one the sweep committed, or the single sorted list kept
// before there were manifests.
func (h *Harvest) membersIndex(ctx context.Context, source, set string) (manifest.Index, error) {
	var cur bucket.Current
	err := h.Store.GetJSON(ctx, bucket.ManifestKey(source, set), &cur)
	if err == nil {
		return cur.Manifest, nil
	}
	if !s3store.IsNotFound(err) {
		return manifest.Index{}, err
	}
	key := bucket.MembersKey(source, set)
	body, err := h.Store.GetGzip(ctx, key)
	if s3store.IsNotFound(err) {
		return manifest.Index{}, nil
	}
	if err != nil {
		return manifest.Index{}, err
	}
	n := 0
	if len(body) > 0 {
		n = strings.Count(strings.TrimSuffix(string(body), "\n"), "\n") + 1
	}
	return manifest.Index{Chunks: []manifest.Chunk{{Key: key}}, Count: n}, nil
}

// commitMembers makes the run's members the set's, and lets the lists of
// the run before go.
func (h *Harvest) commitMembers(ctx context.Context, in SweepInput, members manifest.Index) error {
	var last bucket.Current
	if err := h.Store.GetJSON(ctx, bucket.ManifestKey(in.Source, in.Set), &last); err != nil && !s3store.IsNotFound(err) {
		return err
	}
	if last.Harvest == in.HarvestID {
		return nil
	}
	next := bucket.Current{Harvest: in.HarvestID, Manifest: members, Retry: manifest.Index{Chunks: []manifest.Chunk{}}}
	if err := h.Store.PutJSON(ctx, bucket.ManifestKey(in.Source, in.Set), next); err != nil {
		return err
	}
	var errs []error
	if last.Harvest != "" {
		errs = append(errs, h.Store.DeletePrefix(ctx, bucket.Run{Source: in.Source, Set: in.Set, Harvest: last.Harvest}.RunPrefix()))
	}
	errs = append(errs, h.Store.Delete(ctx, bucket.MembersKey(in.Source, in.Set)))
	if err := errors.Join(errs...); err != nil {
		h.log().Warn("the lists of a superseded run stay", "source", in.Source, "set", in.Set, "err", err)
	}
	return nil
}

// deleteAll deletes records of a source from both indices and, once they
// confirmed, from S3, and returns how many.
func (h *Harvest) deleteAll(ctx context.Context, source, set string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	idx, err := h.Index.NewWriter(ctx, esindex.Catalog)
	if err != nil {
		return 0, err
	}
	edu, err := h.Index.NewWriter(ctx, esindex.Education)
	if err != nil {
		_, _ = idx.Close(ctx)
		return 0, err
	}
	dels := deletions{h: h, source: source}
	for i, id := range ids {
		if err := dels.add(ctx, id); err != nil {
			_, _ = idx.Close(ctx)
			_, _ = edu.Close(ctx)
			return 0, err
		}
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	err = dels.queue(ctx, idx, edu)
	res, cerr := idx.Close(ctx)
	eres, eerr := edu.Close(ctx)
	if err = errors.Join(err, cerr, eerr); err != nil {
		return 0, err
	}
	if n := res.Retryable + len(res.Rejected) + eres.Retryable + len(eres.Rejected); n > 0 {
		return 0, fmt.Errorf("deletes of %s%s: %d need another attempt: %s", source, bucket.SetLabel(set), n, res.RetryableReason+eres.RetryableReason)
	}
	if err := dels.removeRecords(ctx); err != nil {
		return 0, err
	}
	recordSwept(ctx, source, len(ids))
	return len(ids), nil
}
