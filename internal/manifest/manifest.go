// Package manifest keeps long sorted lists of keys in S3 as compressed
// chunks: what a partner bucket held at a run (key, ETag, size, last
// modified), the identifiers a set held, the work a run hands out. Both
// sides of a comparison are sorted, so two lists are compared by a
// streaming merge whose memory does not grow with their length.
package manifest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Entry is one line of a manifest. Only Key is required; lists of
// identifiers carry nothing else.
type Entry struct {
	Key      string `json:"key"`
	ETag     string `json:"etag,omitempty"`
	Size     int64  `json:"size,omitempty"`
	Modified int64  `json:"modified,omitempty"` // Unix seconds
	// Media is the key of the browse copy beside a metadata object.
	Media string `json:"media,omitempty"`
}

// Chunk is one stored part of a manifest.
type Chunk struct {
	Key   string `json:"key"`
	First string `json:"first"`
	Last  string `json:"last"`
	Count int    `json:"count"`
}

// Index lists a manifest's chunks in key order.
type Index struct {
	Chunks []Chunk `json:"chunks"`
	Count  int     `json:"count"`
}

// ErrUnsorted is returned for an entry that does not sort after the one
// before it: a manifest holds every key once, in byte order.
var ErrUnsorted = errors.New("manifest entries out of order")

// DefaultChunk is how many entries a chunk holds by default: a few MB
// uncompressed, a few hundred kB stored.
const DefaultChunk = 20_000

// Writer writes a manifest chunk by chunk; nothing but one chunk is held.
type Writer struct {
	store  *s3store.Store
	prefix string
	size   int
	buf    bytes.Buffer
	zw     *gzip.Writer
	cur    Chunk
	last   string
	any    bool
	idx    Index
}

// NewWriter writes a manifest under prefix, size entries a chunk.
func NewWriter(store *s3store.Store, prefix string, size int) *Writer {
	if size <= 0 {
		size = DefaultChunk
	}
	w := &Writer{store: store, prefix: prefix, size: size, idx: Index{Chunks: []Chunk{}}}
	w.zw, _ = gzip.NewWriterLevel(&w.buf, gzip.BestSpeed)
	return w
}

// Add appends e, which must sort after every entry before it.
func (w *Writer) Add(ctx context.Context, e Entry) error {
	if w.any && e.Key <= w.last {
		return fmt.Errorf("%w: %q after %q", ErrUnsorted, e.Key, w.last)
	}
	w.any, w.last = true, e.Key
	if w.cur.Count == 0 {
		w.cur.First = e.Key
	}
	w.cur.Last = e.Key
	w.cur.Count++
	if _, err := w.zw.Write(encode(e)); err != nil {
		return err
	}
	if w.cur.Count >= w.size {
		return w.flush(ctx)
	}
	return nil
}

// Count is how many entries were added so far.
func (w *Writer) Count() int { return w.idx.Count + w.cur.Count }

func (w *Writer) flush(ctx context.Context) error {
	if w.cur.Count == 0 {
		return nil
	}
	if err := w.zw.Close(); err != nil {
		return err
	}
	w.cur.Key = fmt.Sprintf("%schunk-%06d.tsv.gz", w.prefix, len(w.idx.Chunks)+1)
	if err := w.store.PutReader(ctx, w.cur.Key, bytes.NewReader(w.buf.Bytes()), int64(w.buf.Len()),
		"text/tab-separated-values", map[string]string{"avo-encoding": "gzip"}); err != nil {
		return err
	}
	w.idx.Chunks = append(w.idx.Chunks, w.cur)
	w.idx.Count += w.cur.Count
	w.cur = Chunk{}
	w.buf.Reset()
	w.zw.Reset(&w.buf)
	return nil
}

// Close writes the last chunk and returns the manifest's index.
func (w *Writer) Close(ctx context.Context) (Index, error) {
	if err := w.flush(ctx); err != nil {
		return Index{}, err
	}
	return w.idx, nil
}

// A line is the key, escaped so that it holds no tab or newline, then
// the ETag, size and modification time when there are any, then the
// browse copy's key (escaped too) when there is one.
func encode(e Entry) []byte {
	var b strings.Builder
	b.WriteString(escaper.Replace(e.Key))
	if e.ETag != "" || e.Size != 0 || e.Modified != 0 || e.Media != "" {
		b.WriteByte('\t')
		b.WriteString(e.ETag)
		b.WriteByte('\t')
		b.WriteString(strconv.FormatInt(e.Size, 10))
		b.WriteByte('\t')
		b.WriteString(strconv.FormatInt(e.Modified, 10))
	}
	if e.Media != "" {
		b.WriteByte('\t')
		b.WriteString(escaper.Replace(e.Media))
	}
	b.WriteByte('\n')
	return []byte(b.String())
}

var (
	escaper   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	unescaper = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n", `\r`, "\r")
)

func decode(line string) (Entry, error) {
	k, rest, found := strings.Cut(line, "\t")
	e := Entry{Key: k}
	if strings.Contains(k, `\`) {
		e.Key = unescaper.Replace(k)
	}
	if !found {
		return e, nil
	}
	parts := strings.Split(rest, "\t")
	if len(parts) != 3 && len(parts) != 4 {
		return e, fmt.Errorf("manifest line %q: want key, etag, size and time, and maybe a browse copy", line)
	}
	if len(parts) == 4 {
		e.Media = unescaper.Replace(parts[3])
	}
	var err1, err2 error
	e.ETag = parts[0]
	e.Size, err1 = strconv.ParseInt(parts[1], 10, 64)
	e.Modified, err2 = strconv.ParseInt(parts[2], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return e, fmt.Errorf("manifest line %q: %w", line, err)
	}
	return e, nil
}

// Reader reads a manifest in order, one chunk in memory at a time.
type Reader struct {
	store *s3store.Store
	idx   Index
	next  int // the chunk to read next
	lines *bufio.Scanner
	chunk string
	last  string
	any   bool
}

// Open reads the manifest idx lists; an empty index reads nothing.
func Open(store *s3store.Store, idx Index) *Reader {
	return &Reader{store: store, idx: idx}
}

// Next returns the next entry, or false at the end.
func (r *Reader) Next(ctx context.Context) (Entry, bool, error) {
	for {
		if r.lines != nil && r.lines.Scan() {
			line := r.lines.Text()
			if line == "" {
				continue
			}
			e, err := decode(line)
			if err != nil {
				return e, false, fmt.Errorf("%s: %w", r.store.URI(r.chunk), err)
			}
			// Every consumer relies on the order: a list that breaks
			// it is refused rather than compared wrongly.
			if r.any && e.Key <= r.last {
				return e, false, fmt.Errorf("%s: %w: %q after %q", r.store.URI(r.chunk), ErrUnsorted, e.Key, r.last)
			}
			r.any, r.last = true, e.Key
			return e, true, nil
		}
		if r.lines != nil {
			if err := r.lines.Err(); err != nil {
				return Entry{}, false, fmt.Errorf("%s: %w", r.store.URI(r.chunk), err)
			}
		}
		if r.next >= len(r.idx.Chunks) {
			return Entry{}, false, nil
		}
		r.chunk = r.idx.Chunks[r.next].Key
		r.next++
		body, err := r.store.GetGzip(ctx, r.chunk)
		if err != nil {
			return Entry{}, false, err
		}
		r.lines = bufio.NewScanner(bytes.NewReader(body))
		r.lines.Buffer(make([]byte, 64<<10), 4<<20)
	}
}

// ReadChunk returns the entries of one chunk of idx (a batch of work).
func ReadChunk(ctx context.Context, store *s3store.Store, idx Index, i int) ([]Entry, error) {
	if i < 0 || i >= len(idx.Chunks) {
		return nil, fmt.Errorf("manifest has no chunk %d (it has %d)", i, len(idx.Chunks))
	}
	r := Open(store, Index{Chunks: idx.Chunks[i : i+1]})
	var out []Entry
	for {
		e, ok, err := r.Next(ctx)
		if err != nil || !ok {
			return out, err
		}
		out = append(out, e)
	}
}

// Each calls fn for every entry of the manifest, in order.
func Each(ctx context.Context, store *s3store.Store, idx Index, fn func(Entry) error) error {
	r := Open(store, idx)
	for {
		e, ok, err := r.Next(ctx)
		if err != nil || !ok {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// Delete removes a manifest's chunks.
func Delete(ctx context.Context, store *s3store.Store, idx Index) error {
	var errs []error
	for _, c := range idx.Chunks {
		errs = append(errs, store.Delete(ctx, c.Key))
	}
	return errors.Join(errs...)
}
