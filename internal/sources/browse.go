package sources

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/manifest"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// A partner keeps an item's browse copy beside its metadata:
// sidecars/x.xml beside sidecars/x.mp4 (MediaHaven names the sidecar
// after the essence's stem) or x.mp4.xml beside x.mp4. A harvest never
// reads the essence; it only notes where the playable file is.

// playable are the extensions browsers play, the best first, with the
// MIME type a player is told. Masters (MXF, MOV, WAV in broadcast form)
// are essence too, but no browse copy.
var playable = []struct{ ext, mime string }{
	{".webm", "video/webm"}, {".mp4", "video/mp4"}, {".m4v", "video/mp4"},
	{".mp3", "audio/mpeg"}, {".m4a", "audio/mp4"}, {".ogg", "audio/ogg"}, {".aac", "audio/aac"},
}

// BrowseType is the MIME type of a key browsers play, "" for any other.
func BrowseType(key string) string {
	if i := playableRank(key); i >= 0 {
		return playable[i].mime
	}
	return ""
}

func playableRank(key string) int {
	ext := strings.ToLower(path.Ext(key))
	for i, p := range playable {
		if p.ext == ext {
			return i
		}
	}
	return -1
}

// family is what a metadata object and the files beside it share: the
// key up to the first dot of its last segment. Keys of one family are
// listed one after the other (they all start with family + ".").
func family(key string) string {
	dir, name := path.Split(key)
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return dir + name
}

// maxFamily bounds what a Pairer holds: a family larger than this (a
// bucket whose files are named x.1.xml, x.2.xml, ...) is passed on
// without browse copies rather than held in memory.
const maxFamily = 1000

// Pairer sees a bucket's keys in listing (byte) order and hands each
// metadata entry on, in the same order, with the key of its browse copy
// (Entry.Media) once its family has been listed.
type Pairer struct {
	emit     func(manifest.Entry) error
	fam      string
	meta     []manifest.Entry
	media    []string
	overflow bool
}

// NewPairer hands entries to emit.
func NewPairer(emit func(manifest.Entry) error) *Pairer {
	return &Pairer{emit: emit}
}

// Add takes the next listed key: e is its metadata entry, nil for a key
// that is no metadata.
func (p *Pairer) Add(key string, e *manifest.Entry) error {
	if f := family(key); f != p.fam || !strings.HasPrefix(key, f+".") {
		if err := p.Flush(); err != nil {
			return err
		}
		p.fam = f
	}
	switch {
	case p.overflow:
		if e != nil {
			return p.emit(*e)
		}
	case e != nil:
		p.meta = append(p.meta, *e)
	case playableRank(key) >= 0:
		p.media = append(p.media, key)
	}
	if len(p.meta)+len(p.media) > maxFamily {
		// What is held goes with what was seen; the rest of the
		// family goes on without browse copies.
		if err := p.release(); err != nil {
			return err
		}
		p.overflow = true
	}
	return nil
}

// Flush hands on what is held: at the end of a listing, or of a prefix.
func (p *Pairer) Flush() error {
	p.fam, p.overflow = "", false
	return p.release()
}

func (p *Pairer) release() error {
	for _, e := range p.meta {
		e.Media = p.browse(e.Key)
		if err := p.emit(e); err != nil {
			return err
		}
	}
	p.meta, p.media = p.meta[:0], p.media[:0]
	return nil
}

// browse picks the browse copy of a metadata key among its family: the
// file it is named after (x.mp4 for x.mp4.xml), else the best playable.
func (p *Pairer) browse(key string) string {
	stem := strings.TrimSuffix(key, path.Ext(key))
	best, rank := "", len(playable)
	for _, m := range p.media {
		if m == stem {
			return m
		}
		if r := playableRank(m); r < rank {
			best, rank = m, r
		}
	}
	return best
}

// Copies presigns browse copies with the S3 settings of the source each
// was found in (its endpoint, region and credentials profile over avo's
// own), one client a source.
type Copies struct {
	// Load reads the sources file (again when a source is not known yet:
	// one added since the server started).
	Load func() (*File, error)
	// S3 is avo's own S3 settings, which a source's override.
	S3 config.S3

	mu     sync.Mutex
	stores map[string]*s3store.Store
}

// Presign returns an address of m that works for ttl.
func (c *Copies) Presign(ctx context.Context, m profile.Media, ttl time.Duration) (string, error) {
	store, err := c.store(ctx, m.Source)
	if err != nil {
		return "", err
	}
	if store.Bucket != m.Bucket {
		// The source moved to another bucket since the harvest: the copy
		// is where the record says it was.
		store = &s3store.Store{Client: store.Client, Bucket: m.Bucket}
	}
	return store.Presign(ctx, m.Key, ttl, m.Type)
}

func (c *Copies) store(ctx context.Context, id string) (*s3store.Store, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.stores[id]; ok {
		return s, nil
	}
	f, err := c.Load()
	if err != nil {
		return nil, err
	}
	src, err := f.Get(id)
	if err != nil {
		return nil, err
	}
	if src.S3 == nil {
		return nil, fmt.Errorf("source %s is no S3 bucket: it keeps no browse copies", id)
	}
	s, err := s3store.New(ctx, src.S3.Config(c.S3))
	if err != nil {
		return nil, err
	}
	if c.stores == nil {
		c.stores = map[string]*s3store.Store{}
	}
	c.stores[id] = s
	return s, nil
}
