package activities

import (
	"context"
	"slices"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// deletions removes records a source no longer has, in the one order that
// survives a retry or a crash: from both indices first, and from S3 only
// once the indices confirmed it. Until then the S3 record is what tells a
// retry which documents to delete. A record S3 no longer holds (a run that
// stopped after its S3 deletes but before the indices heard, under older
// code, or a record never kept) is looked up in the indices by its source
// identifier, so whatever the state a retry leaves no document behind.
type deletions struct {
	h      *Harvest
	source string
	// keys are the S3 records to delete once the indices confirmed.
	keys []string
	// orphans are source identifiers S3 holds no record of.
	orphans []string
	// gone are the documents deleted, noted as tombstones.
	gone []bucket.Tombstone
	// sets are the curated sets that held a deleted item.
	sets []string
}

// add notes the deletion of a source record: its documents are deleted
// when queue sends them, once the page or sweep got through (a page that
// fails half-way deletes nothing).
func (d *deletions) add(ctx context.Context, identifier string) error {
	key := bucket.RecordKey(d.source, identifier)
	var rec profile.Record
	err := d.h.Store.GetJSON(ctx, key, &rec)
	if s3store.IsNotFound(err) {
		d.orphans = append(d.orphans, identifier)
		return nil
	}
	if err != nil {
		return err
	}
	d.keys = append(d.keys, key)
	d.gone = append(d.gone, bucket.Tombstone{ID: rec.ExternalID, Source: d.source, Identifier: identifier})
	return nil
}

// queue sends the deletes to both indices' writers, with those of the
// documents of records S3 held no record of: call it before they close.
func (d *deletions) queue(ctx context.Context, catalog, education *esindex.Writer) error {
	if len(d.orphans) > 0 {
		docs, err := d.h.Index.IDsOf(ctx, d.source, d.orphans)
		if err != nil {
			return err
		}
		for _, doc := range docs {
			d.gone = append(d.gone, bucket.Tombstone{ID: doc.ID, Source: d.source, Identifier: doc.Identifier})
		}
		d.orphans = nil
	}
	// The curated sets that hold a deleted item, while the catalog still says.
	ids := make([]string, len(d.gone))
	for i, t := range d.gone {
		ids[i] = t.ID
	}
	for chunk := range slices.Chunk(ids, 1000) {
		sets, err := curation.NewDesk(d.h.Store, d.h.Index).Affected(ctx, chunk)
		if err != nil {
			return err
		}
		d.sets = append(d.sets, sets...)
	}
	for _, t := range d.gone {
		if err := catalog.Add(ctx, esindex.Op{ID: t.ID, Ref: t.Identifier}); err != nil {
			return err
		}
		if err := education.Add(ctx, esindex.Op{ID: t.ID, Ref: t.Identifier}); err != nil {
			return err
		}
	}
	return nil
}

// removeRecords notes the tombstones and deletes the S3 records, once the
// indices confirmed every delete.
func (d *deletions) removeRecords(ctx context.Context) error {
	now := time.Now().UTC()
	for _, t := range d.gone {
		t.DeletedAt = now
		if err := d.h.Store.PutJSON(ctx, bucket.TombstoneKey(t.ID), t); err != nil {
			return err
		}
	}
	if len(d.keys) == 0 {
		return nil
	}
	if d.h.BeforeRecordDeletes != nil {
		if err := d.h.BeforeRecordDeletes(); err != nil {
			return err
		}
	}
	for _, key := range d.keys {
		if err := d.h.Store.Delete(ctx, key); err != nil {
			return err
		}
	}
	// Curated sets and teachers' pieces that held a deleted item count
	// their items anew.
	slices.Sort(d.sets)
	if err := curation.NewDesk(d.h.Store, d.h.Index).Refresh(ctx, slices.Compact(d.sets)); err != nil {
		return err
	}
	ids := make([]string, len(d.gone))
	for i, t := range d.gone {
		ids[i] = t.ID
	}
	_, err := content.NewDesk(d.h.Store, d.h.Index).Refresh(ctx, ids)
	return err
}
