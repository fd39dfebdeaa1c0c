package activities

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// s3PageSize is how many keys one listing page asks for.
const s3PageSize = 100

// fetchS3 lists one page of a partner bucket and reads its metadata
// objects (never the essence next to them). The page's objects are kept
// raw as JSON lines {key, etag, body}.
func (h *Harvest) fetchS3(ctx context.Context, in PageInput, w *pageWriter, res *PageResult) error {
	src := in.Source.S3
	if src == nil {
		return temporal.NewNonRetryableApplicationError("source "+in.Source.ID+" has no s3 section", "BadSource", nil)
	}
	partner, err := h.partnerStore(ctx, *src)
	if err != nil {
		return err
	}
	objs, next, err := partner.ListPage(ctx, src.Prefix, in.Cursor, s3PageSize)
	if err != nil {
		if s3store.IsPermanent(err) {
			// A missing bucket or permission does not heal by itself.
			return temporal.NewNonRetryableApplicationError("source "+in.Source.ID+": "+s3store.Explain(src.Bucket, src.Prefix, err), "S3", nil)
		}
		return err
	}
	sink, err := newRawSink()
	if err != nil {
		return err
	}
	defer sink.close()
	w.rawKey = in.run().RawPageKey(in.Page, "jsonl")
	res.RawKey, res.Next = w.rawKey, next
	enc := json.NewEncoder(sink)
	sel := src.Selector(in.Source.Mapping)
	for _, o := range objs {
		mapping, ok := sel.Mapping(o.Key)
		if !ok {
			continue // essence, or anything else that is no metadata: never read
		}
		it := rawItem{identifier: o.Key, etag: o.ETag, mapping: mapping}
		obj, err := partner.Get(ctx, o.Key, mappings.MaxRecordBytes)
		switch {
		case err == nil:
			it.body = obj.Body
		case s3store.IsNotFound(err):
			it.problem, it.gone = fmt.Errorf("s3://%s/%s was listed but is gone when read: %w", src.Bucket, o.Key, err), true
		case s3store.IsDenied(err):
			it.problem = fmt.Errorf("reading s3://%s/%s is not allowed: the credentials need s3:GetObject on it: %w", src.Bucket, o.Key, err)
		case errors.Is(err, s3store.ErrTooLarge):
			it.problem = err
		default:
			return err
		}
		if err := enc.Encode(struct {
			Key  string `json:"key"`
			ETag string `json:"etag"`
			Body string `json:"body"`
		}{o.Key, o.ETag, string(it.body)}); err != nil {
			return err
		}
		if err := w.add(ctx, it); err != nil {
			return err
		}
		activity.RecordHeartbeat(ctx, in.Page)
	}
	return sink.upload(ctx, h.Store, w.rawKey, "application/x-ndjson")
}

func (h *Harvest) partnerStore(ctx context.Context, src sources.S3) (*s3store.Store, error) {
	c := h.S3
	c.Bucket = src.Bucket
	if src.Endpoint != "" {
		c.Endpoint = src.Endpoint
	}
	if src.Region != "" {
		c.Region = src.Region
	}
	if src.Profile != "" {
		c.Profile = src.Profile
	}
	return s3store.New(ctx, c)
}
