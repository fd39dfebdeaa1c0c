package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/manifest"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// fetchS3 reads one batch of the metadata objects a listing found new or
// changed (never the essence next to them), several at once, and hands
// them to the page's writer in key order. The batch is kept raw as JSON
// lines {key, etag, version_id, body}; keys that could not be read are
// noted for the next run.
func (h *Harvest) fetchS3(ctx context.Context, in PageInput, w *pageWriter, res *PageResult) error {
	src := in.Source.S3
	if src == nil {
		return temporal.NewNonRetryableApplicationError("source "+in.Source.ID+" has no s3 section", "BadSource", nil)
	}
	var l bucket.Listing
	if err := h.Store.GetJSON(ctx, in.run().ListingKey(), &l); err != nil {
		return err
	}
	entries, err := manifest.ReadChunk(ctx, h.Store, l.Work, in.Page-1)
	if err != nil {
		return err
	}
	partner, err := h.partnerStore(ctx, *src)
	if err != nil {
		return err
	}
	sink, err := newRawSink()
	if err != nil {
		return err
	}
	defer sink.close()
	w.rawKey = in.run().RawPageKey(in.Page, "jsonl")
	res.RawKey = w.rawKey
	enc := json.NewEncoder(sink)
	sel := src.Selector(in.Source.Mapping)
	concurrency, _, _ := src.Limits()

	// Objects are read up to concurrency at once and taken in key order,
	// so that a retried batch numbers its quarantine entries the same.
	// fctx ends the reads when the batch fails; the writes the page
	// writer started go on with ctx until it finishes.
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make([]chan fetched, len(entries))
	for i := range ready {
		ready[i] = make(chan fetched, 1)
	}
	slots := make(chan struct{}, concurrency)
	go func() {
		for i, e := range entries {
			select {
			case slots <- struct{}{}:
			case <-fctx.Done():
				return
			}
			go func() { ready[i] <- h.fetchObject(fctx, partner, in.Source.ID, *src, sel, e) }()
		}
	}()
	var retry []string
	for i := range entries {
		var f fetched
		select {
		case f = <-ready[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-slots
		if f.err != nil {
			return f.err
		}
		if f.skip {
			continue
		}
		if f.it.problem != nil && !errors.Is(f.it.problem, s3store.ErrTooLarge) {
			// Unreadable now, or gone: the next run reads it again (or,
			// when it is gone for good, no longer lists it).
			retry = append(retry, f.it.identifier)
		}
		if err := enc.Encode(struct {
			Key       string `json:"key"`
			ETag      string `json:"etag"`
			VersionID string `json:"version_id,omitempty"`
			Body      string `json:"body"`
		}{f.it.identifier, f.it.etag, f.it.version, string(f.it.body)}); err != nil {
			return err
		}
		if err := w.add(ctx, f.it); err != nil {
			return err
		}
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, in.Page)
		}
	}
	if len(retry) > 0 {
		if err := h.Store.PutJSON(ctx, in.run().RetryKey(in.Page), retry); err != nil {
			return err
		}
	} else if err := h.Store.Delete(ctx, in.run().RetryKey(in.Page)); err != nil {
		return err
	}
	return sink.upload(ctx, h.Store, w.rawKey, "application/x-ndjson")
}

// fetched is one object of a batch as read: an item for the page writer,
// nothing (skip), or an error that fails the batch.
type fetched struct {
	it   rawItem
	skip bool
	err  error
}

// fetchObject reads one metadata object. An object over the record limit
// is not read at all; one the credentials may not read, or that is gone,
// becomes a record with its problem; anything else fails the batch (and
// Temporal retries it).
func (h *Harvest) fetchObject(ctx context.Context, partner *s3store.Store, source string, src sources.S3, sel sources.Selector, e manifest.Entry) fetched {
	mapping, ok := sel.Mapping(e.Key)
	if !ok {
		return fetched{skip: true} // the rules changed since the listing
	}
	it := rawItem{identifier: e.Key, etag: e.ETag, mapping: mapping}
	if e.Media != "" {
		it.media = &profile.Media{Source: source, Bucket: src.Bucket, Key: e.Media, Type: sources.BrowseType(e.Media)}
	}
	if e.Size > mappings.MaxRecordBytes {
		it.problem = fmt.Errorf("s3://%s/%s: %w (%d bytes, over %d): not read", src.Bucket, e.Key, s3store.ErrTooLarge, e.Size, mappings.MaxRecordBytes)
		return fetched{it: it}
	}
	obj, err := partner.Get(ctx, e.Key, mappings.MaxRecordBytes)
	switch {
	case err == nil:
		it.body, it.etag, it.version = obj.Body, obj.ETag, obj.VersionID
	case s3store.IsNotFound(err):
		it.problem, it.gone = fmt.Errorf("s3://%s/%s was listed but is gone when read: %w", src.Bucket, e.Key, err), true
	case s3store.IsDenied(err):
		it.problem = fmt.Errorf("reading s3://%s/%s is not allowed: the credentials need s3:GetObject on it: %w", src.Bucket, e.Key, err)
	case errors.Is(err, s3store.ErrTooLarge):
		it.problem = err
	default:
		return fetched{err: err}
	}
	return fetched{it: it}
}

func (h *Harvest) partnerStore(ctx context.Context, src sources.S3) (*s3store.Store, error) {
	return s3store.New(ctx, src.Config(h.S3))
}
