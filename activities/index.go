package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/editorial"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Indexing holds the activities that build indices from S3 alone.
type Indexing struct {
	Store  *s3store.Store
	Index  esindex.Indices
	Logger *slog.Logger
	Now    func() time.Time
}

func (x *Indexing) now() time.Time {
	if x.Now != nil {
		return x.Now()
	}
	return time.Now()
}

// ErrCountMismatch is the error type of a rebuilt index whose document
// count differs from S3 beyond the tolerance.
const ErrCountMismatch = "CountMismatch"

// WriterLifetime bounds how long a writer opened before a rebuild began
// may go on writing without knowing of it (a harvest page's time limit):
// records changed since the rebuild began, less this, are loaded again
// before the swap.
const WriterLifetime = 20 * time.Minute

// BeginRebuild creates the index a rebuild of kind loads.
func (x *Indexing) BeginRebuild(ctx context.Context, kind string) (string, error) {
	name, err := x.Index.BeginBuild(ctx, kind)
	if err != nil {
		return "", temporal.NewNonRetryableApplicationError(err.Error(), "BeginRebuild", nil)
	}
	return name, nil
}

// LoadInput asks for one page of records into the new index.
type LoadInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	Page  int    `json:"page"`
	Token string `json:"token,omitempty"`
}

// LoadResult counts a page.
type LoadResult struct {
	Read     int    `json:"read"`
	Indexed  int    `json:"indexed"`
	Skipped  int    `json:"skipped"` // not visible to teachers (education)
	Rejected int    `json:"rejected"`
	Next     string `json:"next,omitempty"`
	Done     bool   `json:"done,omitempty"` // the last page was loaded
}

// recordsPerLoad is how many records one load activity reads.
const recordsPerLoad = 1000

// LoadRecords reads a page of mapped records from S3, with the editors'
// decisions on them, and writes them to the index being built.
func (x *Indexing) LoadRecords(ctx context.Context, in LoadInput) (LoadResult, error) {
	var out LoadResult
	objs, next, err := x.Store.ListPage(ctx, bucket.RecordsPrefix, in.Token, recordsPerLoad)
	if err != nil {
		return out, err
	}
	out.Next = next
	keys := make([]string, 0, len(objs))
	for _, o := range objs {
		if strings.HasSuffix(o.Key, ".json") {
			keys = append(keys, o.Key)
		}
	}
	loaded, res, err := x.load(ctx, in.Kind, in.Index, keys, false)
	if err != nil {
		return out, err
	}
	var visible []string
	for _, l := range loaded {
		if !l.found {
			continue // deleted since the listing; the dual write removed it
		}
		out.Read++
		if l.indexed {
			visible = append(visible, l.key)
		} else {
			out.Skipped++
		}
	}
	if in.Kind == esindex.Education {
		slices.Sort(visible)
		if err := x.Store.Put(ctx, bucket.RebuildManifestKey(in.Index, in.Page), []byte(strings.Join(visible, "\n")), "text/plain"); err != nil {
			return out, err
		}
	}
	out.Indexed, out.Rejected = res.Indexed, len(res.Rejected)
	return out, nil
}

// loaded is what became of one record key.
type loaded struct {
	key     string
	found   bool
	indexed bool // sent to the index (else: not visible, for education)
}

// load writes the records at keys to the index, with their editorial
// decisions, and quarantines what Elasticsearch refuses. Writes that may
// be retried fail the call.
//
// A record teachers may not see is left out of a new education index; an
// index that held documents before (reused) gets its delete.
func (x *Indexing) load(ctx context.Context, kind, index string, keys []string, reused bool) ([]loaded, esindex.Outcome, error) {
	w, err := x.Index.IndexWriter(index)
	if err != nil {
		return nil, esindex.Outcome{}, err
	}
	now := x.now().UTC()
	out := make([]loaded, len(keys))
	var g errgroup.Group
	g.SetLimit(defaultWriters)
	for i, key := range keys {
		out[i].key = key
		g.Go(func() error {
			cat, edu, found, err := x.project(ctx, key, now)
			if err != nil || !found {
				return err
			}
			out[i].found = true
			op := cat
			if kind == esindex.Education {
				op = edu
			}
			if op.Doc == nil {
				if reused {
					return w.Add(ctx, op)
				}
				return nil
			}
			op.Ref = key
			out[i].indexed = true
			return w.Add(ctx, op)
		})
		if i%100 == 0 {
			activity.RecordHeartbeat(ctx, i)
		}
	}
	gerr := g.Wait()
	res, err := w.Close(ctx)
	if gerr != nil {
		return nil, res, gerr
	}
	if err != nil {
		return nil, res, err
	}
	if res.Retryable > 0 {
		return nil, res, fmt.Errorf("rebuild of %s: %d writes need another attempt: %s", index, res.Retryable, res.RetryableReason)
	}
	for _, rej := range res.Rejected {
		if err := x.quarantine(ctx, index, rej); err != nil {
			return nil, res, err
		}
	}
	return out, res, nil
}

// project reads the record at key with its editorial decisions and
// returns its writes at now; found is false when the record is gone.
func (x *Indexing) project(ctx context.Context, key string, now time.Time) (cat, edu esindex.Op, found bool, err error) {
	var rec profile.Record
	if err := x.Store.GetJSON(ctx, key, &rec); err != nil {
		if s3store.IsNotFound(err) {
			return cat, edu, false, nil
		}
		return cat, edu, false, err
	}
	ed, err := editorial.Read(ctx, x.Store, rec.ExternalID)
	if err != nil {
		return cat, edu, false, err
	}
	if ed != nil {
		ed.Apply(&rec)
	}
	vocab, err := profile.Vocabularies()
	if err != nil {
		return cat, edu, false, err
	}
	cat, edu, err = esindex.Project(ed.Overlay(rec, vocab), x.Store.URI(key), now)
	return cat, edu, err == nil, err
}

// quarantine keeps a document a rebuilt index refused, with the reason,
// beside those refused during harvests.
func (x *Indexing) quarantine(ctx context.Context, index string, rej esindex.Rejection) error {
	var doc struct {
		Source     string `json:"source_id"`
		Provenance struct {
			Set        string `json:"set"`
			Identifier string `json:"identifier"`
			Raw        string `json:"raw"`
		} `json:"provenance"`
	}
	_ = json.Unmarshal(rej.Doc, &doc) // the entry names what it can
	reason := fmt.Sprintf("elasticsearch refused document %s in %s: HTTP %d %s", rej.ID, index, rej.Status, rej.Reason)
	e := bucket.QuarantineEntry{
		Source: doc.Source, Set: doc.Provenance.Set, Harvest: "rebuild " + index, Identifier: doc.Provenance.Identifier,
		Kind: "index-rejected", Errors: []string{reason, "record: " + x.Store.URI(rej.Ref)},
		RawPage: doc.Provenance.Raw, Document: string(rej.Doc), At: x.now().UTC(),
	}
	key := bucket.RebuildQuarantineKey(doc.Source, index, rej.ID)
	if err := x.Store.PutJSON(ctx, key, e); err != nil {
		return err
	}
	// The count check expects the document to be missing.
	if err := x.Store.Put(ctx, bucket.RebuildRejectedPrefix(index)+url.PathEscape(rej.ID), nil, "text/plain"); err != nil {
		return err
	}
	x.log().Warn("record quarantined", "index", index, "id", rej.ID, "record", rej.Ref, "kind", e.Kind, "reason", reason)
	return nil
}

// CatchUpInput asks to bring a loaded index up to date with S3.
type CatchUpInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	// Since: records and editorial decisions changed from then on are
	// loaded again.
	Since time.Time `json:"since"`
	// Pages is how many load pages wrote a manifest (education).
	Pages int `json:"pages"`
	// Reused: the index held documents before (a rollback's); a record no
	// longer visible is deleted from it.
	Reused bool `json:"reused,omitempty"`
}

// CatchUpResult is what S3 holds now and what the index must hold.
type CatchUpResult struct {
	Records  int `json:"records"`
	Expected int `json:"expected"`
	Reloaded int `json:"reloaded"`
	Rejected int `json:"rejected"`
}

// CatchUp lists every record in S3 once more: it loads again those that
// changed since the rebuild began (or whose editorial decisions did), so
// no write made meanwhile is missed even by a writer that opened before
// the rebuild did, and it counts what the index must hold: every record
// for the catalog; for the education index, those the load found visible
// (from its manifests) and, of the changed ones, those visible now.
func (x *Indexing) CatchUp(ctx context.Context, in CatchUpInput) (CatchUpResult, error) {
	var out CatchUpResult
	changed, err := x.editedSince(ctx, in.Since)
	if err != nil {
		return out, err
	}
	seen := newManifestReader(x.Store, in.Index, in.Pages)
	var again []string
	token := ""
	for {
		objs, next, err := x.Store.ListPage(ctx, bucket.RecordsPrefix, token, 1000)
		if err != nil {
			return out, err
		}
		for _, o := range objs {
			if !strings.HasSuffix(o.Key, ".json") {
				continue
			}
			out.Records++
			if !o.LastModified.Before(in.Since) || changed[o.Key] {
				again = append(again, o.Key)
				continue
			}
			if in.Kind == esindex.Catalog {
				out.Expected++
				continue
			}
			ok, err := seen.has(ctx, o.Key)
			if err != nil {
				return out, err
			}
			if ok {
				out.Expected++
			}
		}
		activity.RecordHeartbeat(ctx, out.Records)
		if next == "" {
			break
		}
		token = next
	}
	for chunk := range slices.Chunk(again, recordsPerLoad) {
		loads, res, err := x.load(ctx, in.Kind, in.Index, chunk, in.Reused)
		if err != nil {
			return out, err
		}
		for _, l := range loads {
			if l.found && l.indexed {
				out.Expected++
			}
		}
		out.Reloaded += len(chunk)
		out.Rejected += len(res.Rejected)
	}
	if in.Kind == esindex.Education {
		// Published curated sets and public teachers' pieces are
		// documents of the education index too, made from S3.
		n, err := x.loadSets(ctx, in.Index)
		if err != nil {
			return out, err
		}
		out.Expected += n
	}
	return out, nil
}

// loadSets writes the documents of the published curated sets and the
// public teachers' pieces into index.
func (x *Indexing) loadSets(ctx context.Context, index string) (int, error) {
	ops, err := curation.NewDesk(x.Store, x.Index).Documents(ctx)
	if err != nil {
		return 0, err
	}
	w, err := x.Index.IndexWriter(index)
	if err != nil {
		return 0, err
	}
	for _, op := range ops {
		if err := w.Add(ctx, op); err != nil {
			_, _ = w.Close(ctx)
			return 0, err
		}
	}
	pieces, err := content.NewDesk(x.Store, x.Index).Documents(ctx, func(op esindex.Op) error { return w.Add(ctx, op) })
	if err != nil {
		_, _ = w.Close(ctx)
		return 0, err
	}
	res, err := w.Close(ctx)
	if err != nil {
		return 0, err
	}
	if len(res.Rejected) > 0 || res.Retryable > 0 {
		return 0, fmt.Errorf("curated sets and teachers' pieces into %s: %d refused, %d to retry", index, len(res.Rejected), res.Retryable)
	}
	return len(ops) + pieces, nil
}

// editedSince returns the record keys of items whose editorial decisions
// changed since then.
func (x *Indexing) editedSince(ctx context.Context, since time.Time) (map[string]bool, error) {
	objs, err := x.Store.List(ctx, bucket.EditorialPrefix)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	prefix := x.Store.URI("")
	for _, o := range objs {
		if o.LastModified.Before(since) {
			continue
		}
		pid := bucket.EditorialPID(o.Key)
		uri, err := x.Index.RecordURI(ctx, pid)
		if err != nil {
			return nil, err
		}
		if key, ok := strings.CutPrefix(uri, prefix); ok {
			out[key] = true
		}
	}
	return out, nil
}

// manifestReader walks the manifests of a load in order; keys are asked
// for in ascending order, the order S3 lists them in.
type manifestReader struct {
	store *s3store.Store
	index string
	pages int
	page  int
	sc    *bufio.Scanner
	cur   string
	done  bool
}

func newManifestReader(store *s3store.Store, index string, pages int) *manifestReader {
	return &manifestReader{store: store, index: index, pages: pages}
}

// has reports whether key is in a manifest.
func (m *manifestReader) has(ctx context.Context, key string) (bool, error) {
	for !m.done && m.cur < key {
		if err := m.advance(ctx); err != nil {
			return false, err
		}
	}
	return !m.done && m.cur == key, nil
}

func (m *manifestReader) advance(ctx context.Context) error {
	for {
		if m.sc != nil && m.sc.Scan() {
			if m.cur = m.sc.Text(); m.cur != "" {
				return nil
			}
			continue
		}
		if m.page >= m.pages {
			m.done = true
			return nil
		}
		obj, err := m.store.Get(ctx, bucket.RebuildManifestKey(m.index, m.page), 64<<20)
		if err != nil {
			return fmt.Errorf("rebuild manifest %d: %w", m.page, err)
		}
		m.page++
		m.sc = bufio.NewScanner(bytes.NewReader(obj.Body))
		m.sc.Buffer(nil, 1<<20)
	}
}

// FinishRebuildInput checks a loaded index.
type FinishRebuildInput struct {
	Kind      string `json:"kind"`
	Index     string `json:"index"`
	Expected  int    `json:"expected"`
	Tolerance int    `json:"tolerance"`
}

// FinishRebuildResult is what the check found.
type FinishRebuildResult struct {
	Docs     int `json:"docs"`
	Expected int `json:"expected"`
	// Refused documents were quarantined; the index cannot hold them.
	Refused int `json:"refused"`
}

// FinishRebuild restores the index's serving settings and compares its
// documents with what S3 says it must hold: the records it can index,
// less those Elasticsearch refused (quarantined, each counted once). A
// difference beyond the tolerance stops the rebuild before the swap.
func (x *Indexing) FinishRebuild(ctx context.Context, in FinishRebuildInput) (FinishRebuildResult, error) {
	if err := x.Index.FinishBuild(ctx, in.Kind, in.Index); err != nil {
		return FinishRebuildResult{}, err
	}
	docs, err := x.Index.CountIndex(ctx, in.Index)
	if err != nil {
		return FinishRebuildResult{}, err
	}
	refused, err := x.Store.List(ctx, bucket.RebuildRejectedPrefix(in.Index))
	if err != nil {
		return FinishRebuildResult{}, err
	}
	res := FinishRebuildResult{Docs: docs, Expected: in.Expected - len(refused), Refused: len(refused)}
	if diff := docs - res.Expected; diff > in.Tolerance || -diff > in.Tolerance {
		msg := fmt.Sprintf("index %s holds %d documents where S3 says %d (%d indexable records, %d refused and quarantined): a difference of %d, over the tolerance of %d; the alias was not moved",
			in.Index, docs, res.Expected, in.Expected, len(refused), diff, in.Tolerance)
		return res, temporal.NewNonRetryableApplicationError(msg, ErrCountMismatch, nil)
	}
	return res, nil
}

// SwapInput moves an alias to a rebuilt index.
type SwapInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
	Keep  int    `json:"keep"`
}

// SwapResult names the indices the alias left and those deleted.
type SwapResult struct {
	Previous   []string `json:"previous,omitempty"`
	Pruned     []string `json:"pruned,omitempty"`
	PruneError string   `json:"prune_error,omitempty"`
}

// SwapIndex points the alias at the rebuilt index in one call, then
// deletes old indices beyond the Keep most recent. Once the alias moved
// the rebuild has succeeded: a failed prune is reported, not raised.
func (x *Indexing) SwapIndex(ctx context.Context, in SwapInput) (SwapResult, error) {
	prev, err := x.Index.Swap(ctx, in.Kind, in.Index)
	if err != nil {
		return SwapResult{}, err
	}
	out := SwapResult{Previous: prev}
	out.Pruned, err = x.Index.Prune(ctx, in.Kind, in.Keep)
	if err != nil {
		out.PruneError = err.Error()
		x.log().Warn("prune old indices", "kind", in.Kind, "err", err)
	}
	if err := x.Store.DeletePrefix(ctx, bucket.RebuildPrefix(in.Index)); err != nil {
		x.log().Warn("remove rebuild manifests", "index", in.Index, "err", err)
	}
	return out, nil
}

// AbandonInput names the index of a rebuild that failed.
type AbandonInput struct {
	Kind  string `json:"kind"`
	Index string `json:"index"`
}

// AbandonRebuild deletes the index of a rebuild that failed (never one
// the alias points at) and its manifests.
func (x *Indexing) AbandonRebuild(ctx context.Context, in AbandonInput) error {
	if err := x.Index.Abandon(ctx, in.Kind, in.Index); err != nil {
		return err
	}
	return x.Store.DeletePrefix(ctx, bucket.RebuildPrefix(in.Index))
}

func (x *Indexing) log() *slog.Logger {
	if x.Logger != nil {
		return x.Logger
	}
	return slog.Default()
}

// SyncSet brings a curated set's publication up to date (curation.Desk.Sync).
func (x *Indexing) SyncSet(ctx context.Context, id string) (curation.Outcome, error) {
	d := curation.NewDesk(x.Store, x.Index)
	d.Now, d.Items.Now = x.Now, x.Now
	out, err := d.Sync(ctx, id)
	if err != nil {
		return out, err
	}
	x.log().Info("curated set synced", "set", id, "status", out.Status, "published", out.Published,
		"depublished", out.Depublished, "refused", len(out.Refused), "held", out.Held, "wake", out.Wake)
	return out, nil
}
