package oaipmh

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Repairs counts what was mended in a response before parsing.
type Repairs struct {
	// InvalidUTF8 byte sequences, each replaced by U+FFFD.
	InvalidUTF8 int `json:"invalid_utf8,omitempty"`
	// IllegalChars are characters (or character references) XML 1.0
	// forbids, such as control characters: dropped.
	IllegalChars int `json:"illegal_chars,omitempty"`
}

// Add adds o to r.
func (r *Repairs) Add(o Repairs) {
	r.InvalidUTF8 += o.InvalidUTF8
	r.IllegalChars += o.IllegalChars
}

// Total is the number of repairs.
func (r Repairs) Total() int { return r.InvalidUTF8 + r.IllegalChars }

var declaredEncoding = regexp.MustCompile(`^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._-]+)["']`)

// Repair returns a reader of r's XML as valid UTF-8 that XML 1.0 accepts:
// a declared single-byte encoding is converted, invalid UTF-8 is replaced
// and forbidden characters are dropped, each counted in the Repairs it
// fills as the reader is read.
func Repair(r io.Reader) (io.Reader, *Repairs, error) {
	br := bufio.NewReaderSize(r, 4096)
	head, _ := br.Peek(512)
	var src io.Reader = br
	if m := declaredEncoding.FindSubmatch(head); m != nil {
		switch enc := strings.ToLower(string(m[1])); enc {
		case "utf-8", "utf8", "us-ascii", "ascii":
		case "iso-8859-1", "latin1", "latin-1", "iso_8859-1", "l1":
			src = charmap.ISO8859_1.NewDecoder().Reader(br)
		case "iso-8859-15", "latin9":
			src = charmap.ISO8859_15.NewDecoder().Reader(br)
		case "windows-1252", "cp1252":
			src = charmap.Windows1252.NewDecoder().Reader(br)
		default:
			return nil, nil, fmt.Errorf("%w: unsupported encoding %q", ErrMalformedResponse, m[1])
		}
	}
	rep := &Repairs{}
	return &repairer{r: src, rep: rep, first: true}, rep, nil
}

type repairer struct {
	r     io.Reader
	rep   *Repairs
	chunk []byte
	in    []byte // read but not yet repaired: an incomplete sequence at the end
	out   []byte // repaired, not yet returned
	eof   bool
	first bool
}

func (p *repairer) Read(b []byte) (int, error) {
	for len(p.out) == 0 {
		if p.eof && len(p.in) == 0 {
			return 0, io.EOF
		}
		if err := p.more(); err != nil {
			return 0, err
		}
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

// more reads a chunk and repairs all of it but an incomplete tail, which
// waits for the next chunk.
func (p *repairer) more() error {
	if p.chunk == nil {
		p.chunk = make([]byte, 32<<10)
	}
	if !p.eof {
		n, err := p.r.Read(p.chunk)
		p.in = append(p.in, p.chunk[:n]...)
		if err == io.EOF {
			p.eof = true
		} else if err != nil {
			return err
		}
	}
	if p.first && len(p.in) > 0 {
		p.in = bytes.TrimPrefix(p.in, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		p.first = false
	}
	in, out := p.in, p.out[:0]
	i := 0
	carry := func() error { // keep in[i:] for the next chunk
		p.in = append(p.in[:0], in[i:]...)
		p.out = out
		return nil
	}
	for i < len(in) {
		c := in[i]
		switch {
		case c >= 0x20 && c < 0x80 && c != '&', c == '\t', c == '\n', c == '\r':
			out = append(out, c)
			i++
		case c < 0x20:
			p.rep.IllegalChars++
			i++
		case c == '&':
			n, legal, complete := charRef(in[i:])
			if !complete && !p.eof && len(in)-i < 16 {
				return carry()
			}
			if !complete { // not a numeric reference: the parser judges it
				out = append(out, c)
				i++
				continue
			}
			if legal {
				out = append(out, in[i:i+n]...)
			} else {
				p.rep.IllegalChars++
			}
			i += n
		default:
			r, size := utf8.DecodeRune(in[i:])
			if r == utf8.RuneError && size <= 1 {
				if !p.eof && !utf8.FullRune(in[i:]) {
					return carry()
				}
				p.rep.InvalidUTF8++
				out = utf8.AppendRune(out, utf8.RuneError)
				i++
				continue
			}
			if legalChar(r) {
				out = append(out, in[i:i+size]...)
			} else {
				p.rep.IllegalChars++
			}
			i += size
		}
	}
	p.in = p.in[:0]
	p.out = out
	return nil
}

// charRef reads a numeric character reference at the start of in
// ("&#10;", "&#x1F;"): its length and whether XML allows the character.
// complete is false when in does not start with a whole one.
func charRef(in []byte) (n int, legal, complete bool) {
	if len(in) < 3 || in[1] != '#' {
		return 0, false, false
	}
	end := bytes.IndexByte(in[:min(len(in), 14)], ';')
	if end < 0 {
		return 0, false, false
	}
	body := string(in[2:end])
	base := 10
	if strings.HasPrefix(body, "x") || strings.HasPrefix(body, "X") {
		body, base = body[1:], 16
	}
	v, err := strconv.ParseUint(body, base, 32)
	if err != nil {
		return end + 1, true, true // malformed: left for the parser to report
	}
	return end + 1, legalChar(rune(v)), true
}

// legalChar is XML 1.0's Char production.
func legalChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
