package activities

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/curation"

	"go.temporal.io/sdk/activity"

	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// defaultWriters bounds the S3 writes of one page in flight at once when
// the worker does not say.
const defaultWriters = 32

// pageWriter takes a page's records one at a time as they are parsed:
// maps and validates each, writes it to S3 (several at once) and queues it
// for Elasticsearch, quarantining what fails. Nothing grows with the page
// but the counts and the list of identifiers seen.
type pageWriter struct {
	h      *Harvest
	in     PageInput
	rawKey string
	now    time.Time
	// sets are the curated sets holding an item the page wrote; stored
	// the items it wrote, for the teachers' pieces that hold them.
	sets   []string
	stored []string
	// catalog and education write the page's records to the two indices.
	catalog, education *esindex.Writer
	puts               *pageGroup

	// deletes are the records the source deleted on this page.
	deletes deletions

	mu   sync.Mutex
	res  *PageResult
	done map[string]bool // identifiers already taken on this page
	// claims maps the PIDs of the page's records to their identifiers.
	claims map[string]string
	seen   []string // for the sweep: "+id" present, "-id" deleted
	n      int      // items taken, numbering quarantine entries
	// staged are mapped records waiting for a look at the catalog.
	staged []staged
	// rewrite writes records the catalog holds as they are mapped now
	// (a replay: S3 may hold them otherwise).
	rewrite bool
}

// newPageWriter opens a page writer with index writers of its own.
func (h *Harvest) newPageWriter(ctx context.Context, in PageInput, res *PageResult) (*pageWriter, error) {
	iw, err := h.openWriters(ctx, 1)
	if err != nil {
		return nil, err
	}
	return h.pageWriterWith(in, res, iw[0]), nil
}

// pageWriterWith makes a page writer that writes to the indices through
// iw, which its finish or abandon closes.
func (h *Harvest) pageWriterWith(in PageInput, res *PageResult, iw pageIndexWriters) *pageWriter {
	w := &pageWriter{h: h, in: in, now: h.now().UTC(), catalog: iw.catalog, education: iw.education, res: res, done: map[string]bool{}, claims: map[string]string{},
		deletes: deletions{h: h, source: in.Source.ID}}
	writers := h.Writers
	if writers <= 0 {
		writers = defaultWriters
	}
	w.puts = newPageGroup(&h.pool, writers)
	return w
}

// taken reports (and notes) whether the page already holds an identifier:
// a salvaged page offers records again that the first parse already took.
func (w *pageWriter) taken(id string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done[id] {
		return true
	}
	w.done[id] = true
	return false
}

// add takes one record of the page.
func (w *pageWriter) add(ctx context.Context, it rawItem) error {
	if it.identifier != "" && w.taken(it.identifier) {
		return nil
	}
	w.mu.Lock()
	w.res.Counts.Records++
	seq := w.n
	w.n++
	w.mu.Unlock()
	if seq%50 == 0 {
		activity.RecordHeartbeat(ctx, w.in.Page)
	}
	recKey := bucket.RecordKey(w.in.Source.ID, it.identifier)
	if it.deleted {
		// Earlier writes of this page may concern the same record.
		if err := w.flushStaged(ctx); err != nil {
			return err
		}
		if err := w.puts.Wait(); err != nil {
			return err
		}
		if err := w.deletes.add(ctx, it.identifier); err != nil {
			return err
		}
		w.count(func(c *bucket.Counts) { c.Deleted++ })
		w.note("-" + it.identifier)
		return nil
	}
	if it.problem != nil {
		if !it.gone {
			// It is there, only unreadable now: a sweep must keep what
			// an earlier run made of it.
			w.note("+" + it.identifier)
		}
		return w.quarantine(ctx, seq, it, "unreadable", it.problem, nil)
	}
	// The record exists at the source, whatever becomes of it here: a
	// sweep must not take it for deleted.
	w.note("+" + it.identifier)
	origin := mappings.Origin{
		Source: w.in.Source.ID, Set: w.in.Set, Identifier: it.identifier, Datestamp: it.datestamp,
		ETag: it.etag, VersionID: it.version, Raw: w.h.Store.URI(w.rawKey) + "#" + it.identifier, Harvest: w.in.HarvestID, Now: w.now,
		Media: it.media,
	}
	if it.raw != "" {
		origin.Set, origin.Raw, origin.Harvest = it.set, it.raw, it.harvest
	}
	mapping := w.in.Source.Mapping
	if it.mapping != "" {
		mapping = it.mapping
	}
	rec, problems, err := mapRecord(mapping, it.body, origin)
	if err != nil {
		return w.quarantine(ctx, seq, it, "unmappable", err, nil)
	}
	if len(problems) > 0 {
		return w.quarantine(ctx, seq, it, "invalid", problems, nil)
	}
	if other := w.claim(rec.ExternalID, it.identifier); other != "" {
		return w.quarantine(ctx, seq, it, "duplicate-pid", fmt.Errorf(
			"PID %s is also claimed by record %s of this page: two records of source %s are never merged into one document",
			rec.ExternalID, other, w.in.Source.ID), nil)
	}
	rec.Provenance.ContentHash = rec.ContentHash()
	w.mu.Lock()
	w.staged = append(w.staged, staged{seq: seq, it: it, rec: rec, recKey: recKey})
	full := len(w.staged) >= stageSize
	w.mu.Unlock()
	if full {
		return w.flushStaged(ctx)
	}
	return nil
}

// staged is a mapped record waiting for the page's next look at the
// catalog.
type staged struct {
	seq    int
	it     rawItem
	rec    profile.Record
	recKey string
}

// stageSize is how many mapped records one look at the catalog covers.
const stageSize = 100

// flushStaged looks the staged records up in the catalog in one request
// and writes those that need it: a record mapped exactly as the catalog
// holds it is unchanged and written nowhere; a PID another source record
// holds is quarantined; the editors' decisions are read only for items
// that have them: the catalog's document says so, or, for an item it does
// not hold (deleted and harvested again), the list of decided items.
func (w *pageWriter) flushStaged(ctx context.Context) error {
	w.mu.Lock()
	batch := w.staged
	w.staged = nil
	w.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	ids := make([]string, len(batch))
	for i, s := range batch {
		ids[i] = s.rec.ExternalID
	}
	known, err := w.h.Index.Lookup(ctx, ids)
	if err != nil {
		return err
	}
	var decided map[string]bool
	if len(known) < len(batch) {
		if decided, err = w.h.decided(ctx, w.in.HarvestID); err != nil {
			return err
		}
	}
	for _, s := range batch {
		k, found := known[s.rec.ExternalID]
		own := found && k.Source == w.in.Source.ID && k.Identifier == s.it.identifier
		// A document this run wrote already (an attempt of the page that
		// died before it reported) is written again, so that the retry
		// counts what a clean run counts.
		if own && !w.rewrite && k.ContentHash != "" && k.ContentHash == s.rec.Provenance.ContentHash && k.Harvest != w.in.HarvestID {
			w.count(func(c *bucket.Counts) { c.Unchanged++ })
			continue
		}
		// Pages are processed several at once: a record that changed
		// while the run listed it comes twice, and the later version
		// stays whichever page is written last.
		if own && k.Harvest == w.in.HarvestID && s.it.datestamp != "" && k.Datestamp > s.it.datestamp {
			w.count(func(c *bucket.Counts) { c.Superseded++ })
			continue
		}
		w.puts.Go(func() error {
			if found && !own {
				source, identifier, err := w.h.claimant(ctx, k, s.rec.ExternalID)
				if err != nil {
					return err
				}
				if identifier != "" {
					return w.quarantine(ctx, s.seq, s.it, "duplicate-pid", fmt.Errorf(
						"PID %s is already the document of record %s of source %s: a second record never replaces it",
						s.rec.ExternalID, identifier, source), nil)
				}
			}
			if len(s.rec.Warnings) > 0 {
				w.count(func(c *bucket.Counts) { c.Warnings++ })
			}
			// What editors decided about the item outlives its re-harvest
			// (and its deletion: an item harvested again keeps them).
			ed, err := w.h.store(ctx, s.rec, s.recKey, w.now, found && k.Editorial || !found && decided[s.rec.ExternalID], w.catalog, w.education)
			w.mu.Lock()
			w.stored = append(w.stored, s.rec.ExternalID)
			if ed != nil {
				for id := range ed.Sets {
					w.sets = append(w.sets, id)
				}
			}
			w.mu.Unlock()
			return err
		})
	}
	return nil
}

// claim notes that identifier's record claims a PID on this page, and
// returns the identifier of another record that claimed it first.
func (w *pageWriter) claim(pid, identifier string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if other, ok := w.claims[pid]; ok && other != identifier {
		return other
	}
	w.claims[pid] = identifier
	return ""
}

// claimant returns the other source record that holds pid, as the
// catalog knows it (k), if S3 still holds that record; "" when the PID is
// free. A document whose record is gone does not hold the PID: its record
// was deleted and the delete has not reached the index.
func (h *Harvest) claimant(ctx context.Context, k esindex.Known, pid string) (string, string, error) {
	if k.Source == "" || k.Identifier == "" {
		return "", "", nil // a document not written by a harvest (a test's, an import)
	}
	_, err := h.Store.Head(ctx, bucket.RecordKey(k.Source, k.Identifier))
	if s3store.IsNotFound(err) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("holder of %s: %w", pid, err)
	}
	return k.Source, k.Identifier, nil
}

// store writes a mapped record, with the editors' decisions on it, to S3
// and to both indices, and returns those decisions (nil when none).
func (h *Harvest) store(ctx context.Context, rec profile.Record, recKey string, now time.Time, readEditorial bool, catalog, education *esindex.Writer) (*editorial.Editorial, error) {
	var ed *editorial.Editorial
	if readEditorial {
		var err error
		if ed, err = editorial.Read(ctx, h.Store, rec.ExternalID); err != nil {
			return nil, err
		}
		if ed != nil {
			ed.Apply(&rec)
		}
	}
	body, err := json.Marshal(rec)
	if err != nil {
		return ed, err
	}
	if err := h.Store.Put(ctx, recKey, body, "application/json"); err != nil {
		return ed, err
	}
	vocab, err := profile.Vocabularies()
	if err != nil {
		return ed, err
	}
	cat, edu, err := esindex.Project(ed.Overlay(rec, vocab), h.Store.URI(recKey), now)
	if err != nil {
		return ed, err
	}
	if err := catalog.Add(ctx, cat); err != nil {
		return ed, err
	}
	return ed, education.Add(ctx, edu)
}

func (w *pageWriter) count(f func(*bucket.Counts)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f(&w.res.Counts)
}

func (w *pageWriter) note(line string) {
	if !w.in.TrackSeen {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seen = append(w.seen, line)
}

// finish waits for the page's writes and checks every one: a write that
// may be retried fails the page (sending it again loses and duplicates
// nothing); a document Elasticsearch refuses is quarantined.
func (w *pageWriter) finish(ctx context.Context) error {
	perr := w.flushStaged(ctx)
	if err := w.puts.Wait(); perr == nil {
		perr = err
	}
	if perr == nil {
		perr = w.deletes.queue(ctx, w.catalog, w.education)
	}
	out, err, eout, eerr := w.closeWriters(ctx)
	w.mu.Lock()
	w.res.Counts.Indexed = out.Indexed
	w.res.Counts.Visible = eout.Indexed
	w.mu.Unlock()
	if perr != nil {
		return perr
	}
	if err = errors.Join(err, eerr); err != nil {
		return err
	}
	if n := out.Retryable + eout.Retryable; n > 0 {
		return fmt.Errorf("source %s page %d: %d index writes need another attempt: %s",
			w.in.Source.ID, w.in.Page, n, out.RetryableReason+eout.RetryableReason)
	}
	// A document the catalog refused is refused by the education index
	// too (the same mapping); it is quarantined once.
	if len(out.Rejected) == 0 {
		out.Rejected = eout.Rejected
	}
	for i, rej := range out.Rejected {
		it := rawItem{identifier: rej.Ref}
		cause := fmt.Errorf("elasticsearch refused document %s: HTTP %d %s", rej.ID, rej.Status, rej.Reason)
		if err := w.quarantine(ctx, w.n+i, it, "index-rejected", cause, rej.Doc); err != nil {
			return err
		}
	}
	// Every index write holds: the deleted records may leave S3.
	if err := w.deletes.removeRecords(ctx); err != nil {
		return err
	}
	// Curated sets that hold an item the page changed count their
	// visible items anew (removeRecords did so for deleted ones).
	if len(w.sets) > 0 {
		slices.Sort(w.sets)
		if err := curation.NewDesk(w.h.Store, w.h.Index).Refresh(ctx, slices.Compact(w.sets)); err != nil {
			return err
		}
	}
	// So do the public teachers' pieces holding one (an item that came
	// back, changed its duration or left the education index).
	if _, err := content.NewDesk(w.h.Store, w.h.Index).Refresh(ctx, w.stored); err != nil {
		return err
	}
	w.res.Counts.IndexRejected = len(out.Rejected)
	if w.in.TrackSeen {
		if err := writeSeen(ctx, w.h.Store, w.in.run(), w.in.Page, w.seen); err != nil {
			return err
		}
	}
	return nil
}

// written is what a page that failed in its last steps wrote: its
// documents, not its deletes (S3 still holds those records).
func (w *pageWriter) written() PageResult {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := PageResult{Counts: w.res.Counts, Quarantine: w.res.Quarantine}
	p.Counts.Pages, p.Counts.Deleted = 0, 0
	return p
}

// abandon ends a page that failed: its writes are waited for, not
// checked, and the queued ones still go out (also when the page was
// cancelled), so that what it returns, what the page wrote anyway, is what
// S3 and the indices hold of it. Deletes are only sent by a page that got
// through, so a failed page deleted nothing.
func (w *pageWriter) abandon(ctx context.Context) PageResult {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	// The records mapped before the page broke go out too: a retry then
	// finds them unchanged.
	_ = w.flushStaged(ctx)
	_ = w.puts.Wait()
	out, _, eout, _ := w.closeWriters(ctx)
	w.mu.Lock()
	defer w.mu.Unlock()
	p := PageResult{Counts: w.res.Counts, Quarantine: w.res.Quarantine}
	p.Counts.Pages, p.Counts.Deleted = 0, 0
	p.Counts.Indexed, p.Counts.Visible, p.Counts.IndexRejected = out.Indexed, eout.Indexed, 0
	return p
}

// closeWriters flushes both indices' writers at once.
func (w *pageWriter) closeWriters(ctx context.Context) (out esindex.Outcome, err error, eout esindex.Outcome, eerr error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		eout, eerr = w.education.Close(ctx)
	}()
	out, err = w.catalog.Close(ctx)
	<-done
	return out, err, eout, eerr
}

// mapRecord maps, enriches and checks a record, turning a panic on
// hostile input into an error for that one record.
func mapRecord(format string, raw []byte, o mappings.Origin) (rec profile.Record, problems profile.Problems, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mapping failed: %v", p)
		}
	}()
	if len(bytes.TrimSpace(raw)) == 0 {
		return rec, nil, errors.New("the record has no metadata")
	}
	return mappings.Map(format, raw, o)
}

// maxQuarantinedRaw bounds the raw bytes copied into an entry; the whole
// record stays in the raw page.
const maxQuarantinedRaw = 1 << 20

func (w *pageWriter) quarantine(ctx context.Context, seq int, it rawItem, kind string, cause error, doc []byte) error {
	key := w.in.run().QuarantineKey(w.in.Page, seq)
	var msgs []string
	for _, line := range strings.Split(cause.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			msgs = append(msgs, line)
		}
	}
	raw := it.body
	if len(raw) > maxQuarantinedRaw {
		raw = raw[:maxQuarantinedRaw]
	}
	id := it.identifier
	if id == "" {
		id = "(no identifier)"
	}
	var rules []string
	var ps profile.Problems
	if errors.As(cause, &ps) {
		rules = ps.Rules()
	}
	e := bucket.QuarantineEntry{
		Source: w.in.Source.ID, Set: w.in.Set, Harvest: w.in.HarvestID, Page: w.in.Page, Identifier: id,
		Kind: kind, Errors: msgs, RawPage: w.h.Store.URI(w.rawKey), Raw: string(raw), Document: string(doc), Rules: rules, At: w.now,
	}
	if err := w.h.Store.PutJSON(ctx, key, e); err != nil {
		return err
	}
	reason := strings.Join(msgs, "; ")
	w.h.log().Warn("record quarantined", "source", w.in.Source.ID, "identifier", id, "kind", kind, "reason", reason)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.res.Counts.Quarantined++
	w.res.Quarantine = bucket.AddQuarantine(w.res.Quarantine, []bucket.QuarantineRef{{Key: key, Kind: kind, Rules: rules, Reason: reason}})
	return nil
}

// rawSink spools a page's bytes, gzipped, to a temporary file while they
// are parsed, and then sends the file to S3: the page is never held whole.
type rawSink struct {
	f  *os.File
	zw *gzip.Writer
}

// sinkWriters are compressors kept for the next page: a new one reserves
// about a megabyte, which for every page was an eighth of what a
// harvesting worker allocated.
var sinkWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return zw
}}

func newRawSink() (*rawSink, error) {
	f, err := os.CreateTemp("", "avo-page-*.gz")
	if err != nil {
		return nil, err
	}
	zw := sinkWriters.Get().(*gzip.Writer)
	zw.Reset(f)
	return &rawSink{f: f, zw: zw}, nil
}

func (s *rawSink) Write(p []byte) (int, error) { return s.zw.Write(p) }

// upload closes the spool and writes it to key.
func (s *rawSink) upload(ctx context.Context, store *s3store.Store, key, contentType string) error {
	if err := s.zw.Close(); err != nil {
		return err
	}
	size, err := s.f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return store.PutReader(ctx, key, s.f, size, contentType, map[string]string{"avo-encoding": "gzip"})
}

// contents reads the spooled bytes back, uncompressed (for salvage).
func (s *rawSink) contents() ([]byte, error) {
	_ = s.zw.Flush()
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(s.f)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(zr)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = nil // the stream is not closed yet: everything written so far
	}
	_, _ = s.f.Seek(0, io.SeekEnd)
	return b, err
}

func (s *rawSink) close() {
	s.f.Close()
	os.Remove(s.f.Name())
	s.zw.Reset(io.Discard) // lets go of the file
	sinkWriters.Put(s.zw)
}
