package oaipmh

import (
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
