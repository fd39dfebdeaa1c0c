package oaipmh

import (
	"bytes"
	"fmt"
	"io"
)

// window is the byte reader under the XML decoder. It keeps the bytes from
// a mark onwards, so the parser can cut one record's bytes out of a stream
// it reads only once; before the mark it keeps only a short tail. Memory
// thus follows the largest record, not the page.
type window struct {
	r    io.Reader
	buf  []byte
	base int64 // stream offset of buf[0]
	pos  int   // next byte to hand out is buf[pos]
	mark int64 // keep bytes from here; -1 when nothing is kept
	max  int   // most bytes kept from the mark
	err  error
}

// tail is how many bytes before the read position are always kept: the
// XML decoder reads one byte ahead, so a token's start can lie just behind.
const tail = 16

func newWindow(r io.Reader, max int) *window {
	return &window{r: r, buf: make([]byte, 0, 64<<10), mark: -1, max: max}
}

// ReadByte implements io.ByteReader, which the XML decoder reads through
// without buffering of its own (so its offsets are this reader's offsets).
func (w *window) ReadByte() (byte, error) {
	if w.pos == len(w.buf) {
		if err := w.fill(); err != nil {
			return 0, err
		}
	}
	b := w.buf[w.pos]
	w.pos++
	return b, nil
}

// Read implements io.Reader for completeness.
func (w *window) Read(p []byte) (int, error) {
	if w.pos == len(w.buf) {
		if err := w.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, w.buf[w.pos:])
	w.pos += n
	return n, nil
}

func (w *window) fill() error {
	if w.err != nil {
		return w.err
	}
	keep := w.base + int64(w.pos) - tail
	if w.mark >= 0 && w.mark < keep {
		keep = w.mark
	}
	if drop := int(keep - w.base); drop > 0 && drop >= len(w.buf)/2 {
		n := copy(w.buf, w.buf[drop:])
		w.buf = w.buf[:n]
		w.pos -= drop
		w.base += int64(drop)
	}
	if w.mark >= 0 && len(w.buf)-int(w.mark-w.base) > w.max {
		w.err = fmt.Errorf("%w: a record is larger than %d bytes", ErrMalformedResponse, w.max)
		return w.err
	}
	if len(w.buf) == cap(w.buf) {
		grown := make([]byte, len(w.buf), 2*cap(w.buf))
		copy(grown, w.buf)
		w.buf = grown
	}
	for {
		n, err := w.r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+n]
		if n > 0 {
			return nil
		}
		if err != nil {
			w.err = err
			return err
		}
	}
}

// setMark keeps every byte from stream offset off (which must not lie
// more than tail bytes behind the read position) until clearMark.
func (w *window) setMark(off int64) { w.mark = off }

func (w *window) clearMark() { w.mark = -1 }

// bytes returns a copy of the stream bytes [from, to), which must be kept.
func (w *window) bytes(from, to int64) []byte {
	return append([]byte(nil), w.buf[from-w.base:to-w.base]...)
}

// need makes at least n bytes available from the read position.
func (w *window) need(n int) error {
	for len(w.buf)-w.pos < n {
		if err := w.fill(); err != nil {
			return err
		}
	}
	return nil
}

// index finds sep at or after the read position, reading more as needed,
// and returns its distance from the read position.
func (w *window) index(sep []byte) (int, error) {
	from := 0
	for {
		if i := bytes.Index(w.buf[w.pos+from:], sep); i >= 0 {
			return from + i, nil
		}
		from = max(0, len(w.buf)-w.pos-len(sep)+1)
		if err := w.fill(); err != nil {
			return 0, err
		}
	}
}

var (
	commentStart = []byte("!--")
	commentEnd   = []byte("-->")
	cdataStart   = []byte("![CDATA[")
	cdataEnd     = []byte("]]>")
	piEnd        = []byte("?>")
)

// skipElement passes over the content and end tag of an element whose
// start tag has just been read, counting depth by tags; comments, CDATA
// sections, processing instructions and quoted attribute values are
// stepped over whole. Names are not matched: the record's own parse does
// that. It returns how many bytes it passed.
func (w *window) skipElement() (int64, error) {
	start := w.base + int64(w.pos)
	for depth := 1; depth > 0; {
		i, err := w.index([]byte{'<'})
		if err != nil {
			return 0, err
		}
		w.pos += i + 1
		if err := w.need(1); err != nil {
			return 0, err
		}
		switch c := w.buf[w.pos]; {
		case c == '/':
			j, err := w.index([]byte{'>'})
			if err != nil {
				return 0, err
			}
			w.pos += j + 1
			depth--
		case c == '?':
			j, err := w.index(piEnd)
			if err != nil {
				return 0, err
			}
			w.pos += j + len(piEnd)
		case c == '!':
			end := commentEnd
			switch {
			case w.need(len(cdataStart)) == nil && bytes.HasPrefix(w.buf[w.pos:], cdataStart):
				end = cdataEnd
			case w.need(len(commentStart)) == nil && bytes.HasPrefix(w.buf[w.pos:], commentStart):
			default:
				return 0, fmt.Errorf("%w: a declaration inside a record", ErrMalformedResponse)
			}
			j, err := w.index(end)
			if err != nil {
				return 0, err
			}
			w.pos += j + len(end)
		default:
			if err := w.skipStartTag(&depth); err != nil {
				return 0, err
			}
		}
	}
	return w.base + int64(w.pos) - start, nil
}

// skipStartTag passes over a start tag after its '<', raising depth
// unless the tag closes itself.
func (w *window) skipStartTag(depth *int) error {
	prev := byte(0)
	for {
		if err := w.need(1); err != nil {
			return err
		}
		c := w.buf[w.pos]
		w.pos++
		switch c {
		case '"', '\'':
			j, err := w.index([]byte{c})
			if err != nil {
				return err
			}
			w.pos += j + 1
		case '>':
			if prev != '/' {
				*depth++
			}
			return nil
		}
		prev = c
	}
}
