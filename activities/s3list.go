package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/manifest"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// s3ListPage is how many keys one listing request asks for: the most S3
// gives.
const s3ListPage = 1000

// removeChunk is how many vanished keys one removal activity deletes.
const removeChunk = 1000

// ListInput asks for a partner bucket's listing, compared with the last
// completed run's manifest.
type ListInput struct {
	Source    sources.Source `json:"source"`
	HarvestID string         `json:"harvest_id"`
	// Full reads every metadata object again, changed or not.
	Full bool `json:"full,omitempty"`
}

// ListResult counts what the listing found; the lists themselves are in
// S3 (bucket.Listing), a workflow's history holds only these numbers.
type ListResult struct {
	Listed    int `json:"listed"`    // every key listed
	Metadata  int `json:"metadata"`  // keys the rules take
	Added     int `json:"added"`     // metadata objects new since the last run
	Changed   int `json:"changed"`   // changed (ETag or size), or to read again
	Unchanged int `json:"unchanged"` // not read again
	Removed   int `json:"removed"`   // the last run had them; gone now
	Previous  int `json:"previous"`  // metadata objects of the last run
	// Batches of work (Work's chunks) and chunks of removals.
	Batches       int `json:"batches"`
	RemovedChunks int `json:"removed_chunks"`
}

// ListS3 lists a partner bucket, 1,000 keys a request, keeps the metadata
// objects among them as this run's manifest and compares it, as it goes,
// with the last completed run's: what is new or changed becomes work in
// batches, what vanished becomes removals. Memory stays bounded whatever
// the number of keys: both lists are sorted and read in step. A retry
// lists again from the start and writes the same lists.
func (h *Harvest) ListS3(ctx context.Context, in ListInput) (ListResult, error) {
	var out ListResult
	src := in.Source.S3
	if src == nil {
		return out, temporal.NewNonRetryableApplicationError("source "+in.Source.ID+" has no s3 section", "BadSource", nil)
	}
	partner, err := h.partnerStore(ctx, *src)
	if err != nil {
		return out, err
	}
	var last bucket.Current
	switch err := h.Store.GetJSON(ctx, bucket.ManifestKey(in.Source.ID, ""), &last); {
	case s3store.IsNotFound(err):
	case err != nil:
		return out, err
	}
	out.Previous = last.Manifest.Count
	run := bucket.Run{Source: in.Source.ID, Harvest: in.HarvestID}
	_, batch, _ := src.Limits()
	listing := manifest.NewWriter(h.Store, run.ManifestPrefix("listing"), 0)
	work := manifest.NewWriter(h.Store, run.ManifestPrefix("work"), batch)
	removed := manifest.NewWriter(h.Store, run.ManifestPrefix("removed"), removeChunk)
	retry := newLookahead(manifest.Open(h.Store, last.Retry))
	diff := manifest.NewDiffer(manifest.Open(h.Store, last.Manifest), func(c manifest.Change, e manifest.Entry) error {
		switch c {
		case manifest.Removed:
			out.Removed++
			return removed.Add(ctx, e)
		case manifest.Unchanged:
			again, err := retry.has(ctx, e.Key)
			if err != nil {
				return err
			}
			if !in.Full && !again {
				out.Unchanged++
				return nil
			}
			out.Changed++
		case manifest.Changed:
			out.Changed++
		case manifest.Added:
			out.Added++
		}
		return work.Add(ctx, e)
	})
	sel := src.Selector(in.Source.Mapping)
	// Each metadata entry goes on with the browse copy beside it, once
	// the keys that could be that copy have been listed.
	var prefix string
	pairs := sources.NewPairer(func(e manifest.Entry) error {
		if err := listing.Add(ctx, e); err != nil {
			return fmt.Errorf("listing of s3://%s/%s: %w", src.Bucket, prefix, err)
		}
		return diff.Push(ctx, e)
	})
	for _, prefix = range src.AllPrefixes() {
		token := ""
		for {
			objs, next, err := partner.ListPage(ctx, prefix, token, s3ListPage)
			if err != nil {
				if s3store.IsPermanent(err) {
					// A missing bucket or permission does not heal by itself.
					return out, temporal.NewNonRetryableApplicationError("source "+in.Source.ID+": "+s3store.Explain(src.Bucket, prefix, err), "S3", nil)
				}
				return out, err
			}
			for _, o := range objs {
				out.Listed++
				if _, ok := sel.Mapping(o.Key); !ok {
					// Essence, or anything else that is no metadata:
					// never read, but it may be a browse copy.
					if err := pairs.Add(o.Key, nil); err != nil {
						return out, err
					}
					continue
				}
				out.Metadata++
				e := manifest.Entry{Key: o.Key, ETag: o.ETag, Size: o.Size, Modified: o.LastModified.Unix()}
				if err := pairs.Add(o.Key, &e); err != nil {
					return out, err
				}
			}
			activity.RecordHeartbeat(ctx, out.Listed)
			if next == "" {
				break
			}
			token = next
		}
		if err := pairs.Flush(); err != nil {
			return out, err
		}
	}
	if err := diff.Close(ctx); err != nil {
		return out, err
	}
	var l bucket.Listing
	if l.Manifest, err = listing.Close(ctx); err != nil {
		return out, err
	}
	if l.Work, err = work.Close(ctx); err != nil {
		return out, err
	}
	if l.Removed, err = removed.Close(ctx); err != nil {
		return out, err
	}
	out.Batches, out.RemovedChunks = len(l.Work.Chunks), len(l.Removed.Chunks)
	if err := h.Store.PutJSON(ctx, run.ListingKey(), l); err != nil {
		return out, err
	}
	h.log().Info("bucket listed", "source", in.Source.ID, "listed", out.Listed, "metadata", out.Metadata,
		"added", out.Added, "changed", out.Changed, "unchanged", out.Unchanged, "removed", out.Removed, "batches", out.Batches)
	return out, nil
}

// lookahead answers, for keys asked in order, whether a sorted manifest
// holds them.
type lookahead struct {
	r    *manifest.Reader
	head *manifest.Entry
	done bool
}

func newLookahead(r *manifest.Reader) *lookahead { return &lookahead{r: r} }

func (l *lookahead) has(ctx context.Context, key string) (bool, error) {
	for !l.done {
		if l.head == nil {
			e, ok, err := l.r.Next(ctx)
			if err != nil {
				return false, err
			}
			if !ok {
				l.done = true
				break
			}
			l.head = &e
		}
		switch {
		case l.head.Key < key:
			l.head = nil
		case l.head.Key == key:
			return true, nil
		default:
			return false, nil
		}
	}
	return false, nil
}

// MassDelete refuses to delete more than MassDeleteShare of what a
// source (and set) held, unless the operator allowed it.
func MassDelete(source, set string, gone, held int, allow bool) error {
	if allow || held == 0 || float64(gone) <= MassDeleteShare*float64(held) {
		return nil
	}
	msg := fmt.Sprintf("refusing to delete %d of the %d records of source %s%s (%.0f%%) that this complete harvest did not see: "+
		"more than %.0f%%; if the provider really removed them, harvest again with --full --allow-mass-delete",
		gone, held, source, bucket.SetLabel(set), 100*float64(gone)/float64(held), 100*MassDeleteShare)
	return temporal.NewNonRetryableApplicationError(msg, ErrMassDelete, nil)
}

// RemoveInput asks for one chunk of a bucket run's removals.
type RemoveInput struct {
	Source    string `json:"source"`
	HarvestID string `json:"harvest_id"`
	Chunk     int    `json:"chunk"`
}

// RemoveGone deletes the records of one chunk of the objects that
// vanished from a partner bucket, from the indices and from S3.
func (h *Harvest) RemoveGone(ctx context.Context, in RemoveInput) (int, error) {
	run := bucket.Run{Source: in.Source, Harvest: in.HarvestID}
	var l bucket.Listing
	if err := h.Store.GetJSON(ctx, run.ListingKey(), &l); err != nil {
		return 0, err
	}
	entries, err := manifest.ReadChunk(ctx, h.Store, l.Removed, in.Chunk)
	if err != nil {
		return 0, err
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		ids[i] = e.Key
	}
	return h.deleteAll(ctx, in.Source, "", ids)
}

// CommitInput ends a bucket run that got through.
type CommitInput struct {
	Source    string `json:"source"`
	HarvestID string `json:"harvest_id"`
}

// CommitManifest makes the run's listing the manifest the next run
// compares with, with the keys its batches could not read (read again
// next time), and deletes the lists of the run before. Only a run that
// completed gets here: after a failed one the next run compares with the
// same manifest as it did, and does its work again.
func (h *Harvest) CommitManifest(ctx context.Context, in CommitInput) error {
	run := bucket.Run{Source: in.Source, Harvest: in.HarvestID}
	var l bucket.Listing
	if err := h.Store.GetJSON(ctx, run.ListingKey(), &l); err != nil {
		return err
	}
	// Batches hold consecutive ranges of sorted keys, each retry list
	// sorted: in batch order they make one sorted list.
	retry := manifest.NewWriter(h.Store, run.ManifestPrefix("retry-next"), 0)
	for i := range l.Work.Chunks {
		var keys []string
		if err := h.Store.GetJSON(ctx, run.RetryKey(i+1), &keys); err != nil && !s3store.IsNotFound(err) {
			return err
		}
		for _, k := range keys {
			if err := retry.Add(ctx, manifest.Entry{Key: k}); err != nil {
				return err
			}
		}
	}
	next := bucket.Current{Harvest: in.HarvestID, Manifest: l.Manifest}
	var err error
	if next.Retry, err = retry.Close(ctx); err != nil {
		return err
	}
	var last bucket.Current
	switch err := h.Store.GetJSON(ctx, bucket.ManifestKey(in.Source, ""), &last); {
	case s3store.IsNotFound(err):
	case err != nil:
		return err
	}
	if last.Harvest == in.HarvestID {
		return nil // committed by an attempt before this one
	}
	if err := h.Store.PutJSON(ctx, bucket.ManifestKey(in.Source, ""), next); err != nil {
		return err
	}
	if last.Harvest != "" {
		// The run before is superseded: its lists go.
		cctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
		defer cancel()
		old := bucket.Run{Source: in.Source, Harvest: last.Harvest}
		if err := h.Store.DeletePrefix(cctx, old.RunPrefix()); err != nil {
			h.log().Warn("the lists of a superseded run stay", "source", in.Source, "harvest", last.Harvest, "err", err)
		}
	}
	return nil
}
