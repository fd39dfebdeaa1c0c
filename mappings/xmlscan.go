package mappings

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// The XML namespace, bound to the prefix "xml" everywhere.
const nsXML = "http://www.w3.org/XML/1998/namespace"

// scanner parses one record held in memory into a tree, strictly: tags
// must match, prefixes must be declared, only the five predefined
// entities and character references exist, and a DOCTYPE (with its
// entity tricks) is refused. It reads the slice directly, several times
// faster than encoding/xml's byte-at-a-time reader.
type scanner struct {
	src []byte
	// str is src as one string: names, attribute values and text that
	// come in one piece are cut from it, not copied one by one.
	str   string
	pos   int
	count int
	// ns holds the in-scope namespace bindings, innermost last.
	ns []nsBinding
	// nodes are allocated a block at a time; kids holds the children of
	// the open elements, innermost last, until each closes and gets its
	// own exact slice.
	nodes []node
	block int
	kids  []*node
}

// newNode returns a fresh node from the current block.
func (s *scanner) newNode() *node {
	if len(s.nodes) == 0 {
		// Blocks grow with the record: a small one wastes little, a
		// large one is allocated a few times only.
		s.block = min(max(2*s.block, 8), 256)
		s.nodes = make([]node, s.block)
	}
	n := &s.nodes[0]
	s.nodes = s.nodes[1:]
	return n
}

type nsBinding struct{ prefix, uri string }

func scanTree(src []byte) (*node, error) {
	src = bytes.TrimPrefix(src, []byte("\xef\xbb\xbf"))
	if enc, ok := declared(src, "encoding"); ok {
		switch enc := strings.ToLower(enc); enc {
		case "utf-8", "utf8", "us-ascii", "ascii":
		case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
			// Bytes of a single-byte encoding become UTF-8 first.
			dec := charmap.Windows1252.NewDecoder()
			if !strings.Contains(enc, "1252") {
				dec = charmap.ISO8859_1.NewDecoder()
			}
			utf, err := dec.Bytes(src)
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
			}
			src = utf
		default:
			return nil, fmt.Errorf("%w: unsupported encoding %q", ErrMalformed, enc)
		}
	}
	if !utf8.Valid(src) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrMalformed)
	}
	s := &scanner{src: src, str: string(src)}
	if err := s.misc(true); err != nil {
		return nil, err
	}
	if s.pos >= len(s.src) || s.src[s.pos] != '<' {
		return nil, s.errorf("no root element")
	}
	root, err := s.element(0)
	if err != nil {
		return nil, err
	}
	if err := s.misc(false); err != nil {
		return nil, err
	}
	if s.pos < len(s.src) {
		if s.src[s.pos] == '<' {
			return nil, s.errorf("more than one root element")
		}
		return nil, s.errorf("text outside the root element")
	}
	return root, nil
}

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s (at byte %d)", ErrMalformed, fmt.Sprintf(format, args...), s.pos)
}

// misc skips white space, comments and processing instructions outside
// the root element (and the XML declaration at the start).
func (s *scanner) misc(prolog bool) error {
	for {
		for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
			s.pos++
		}
		rest := s.src[s.pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := s.skipPI(); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := s.skipComment(); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<!DOCTYPE")):
			return s.errorf("a DOCTYPE is not accepted in a record")
		default:
			return nil
		}
	}
}

// declared returns a pseudo-attribute (version, encoding) of the XML
// declaration that starts src, and whether it is there.
func declared(src []byte, name string) (string, bool) {
	if !bytes.HasPrefix(src, []byte("<?xml")) {
		return "", false
	}
	decl := src[len("<?xml"):]
	if end := bytes.IndexByte(decl, '>'); end >= 0 {
		decl = decl[:end]
	}
	for {
		i := bytes.Index(decl, []byte(name))
		if i < 0 {
			return "", false
		}
		before := i > 0 && isSpace(decl[i-1])
		decl = decl[i+len(name):]
		rest := bytes.TrimLeft(decl, " \t\r\n")
		if !before || len(rest) == 0 || rest[0] != '=' {
			continue
		}
		rest = bytes.TrimLeft(rest[1:], " \t\r\n")
		if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
			continue
		}
		if end := bytes.IndexByte(rest[1:], rest[0]); end >= 0 {
			return string(rest[1 : 1+end]), true
		}
		return "", false
	}
}

func (s *scanner) skipPI() error {
	start := s.pos
	s.pos += 2
	target, err := s.name()
	if err != nil {
		return s.errorf("a processing instruction without a target")
	}
	if strings.EqualFold(target, "xml") && start != 0 {
		return s.errorf("an XML declaration that is not at the start")
	}
	s.pos = start
	end := bytes.Index(s.src[s.pos+2:], []byte("?>"))
	if end < 0 {
		return s.errorf("unterminated processing instruction")
	}
	if target == "xml" {
		if v, ok := declared(s.src[start:start+2+end], "version"); ok && v != "1.0" {
			return s.errorf("XML version %q; only 1.0 is read", v)
		}
	}
	s.pos += 2 + end + 2
	return nil
}

func (s *scanner) skipComment() error {
	body := s.src[s.pos+4:]
	end := bytes.Index(body, []byte("--"))
	if end < 0 || end+2 >= len(body) || body[end+2] != '>' {
		if end < 0 {
			return s.errorf("unterminated comment")
		}
		return s.errorf("'--' inside a comment")
	}
	s.pos += 4 + end + 3
	return nil
}

type rawAttr struct {
	name  string
	value string
}

// element parses an element whose '<' is at the position.
func (s *scanner) element(depth int) (*node, error) {
	if depth >= maxDepth {
		return nil, s.errorf("nested deeper than %d elements", maxDepth)
	}
	s.count++
	if s.count > maxElements {
		return nil, s.errorf("more than %d elements", maxElements)
	}
	s.pos++ // '<'
	qname, err := s.name()
	if err != nil {
		return nil, err
	}
	var attrs []rawAttr
	scope := len(s.ns)
	empty := false
	for {
		sp := s.space()
		if s.pos >= len(s.src) {
			return nil, s.errorf("unexpected end inside the tag <%s>", qname)
		}
		c := s.src[s.pos]
		if c == '>' {
			s.pos++
			break
		}
		if c == '/' {
			if s.pos+1 >= len(s.src) || s.src[s.pos+1] != '>' {
				return nil, s.errorf("expected '>' after '/' in <%s>", qname)
			}
			s.pos += 2
			empty = true
			break
		}
		if !sp {
			return nil, s.errorf("expected a space before an attribute in <%s>", qname)
		}
		an, err := s.name()
		if err != nil {
			return nil, err
		}
		s.space()
		if s.pos >= len(s.src) || s.src[s.pos] != '=' {
			return nil, s.errorf("attribute %s of <%s> has no value", an, qname)
		}
		s.pos++
		s.space()
		av, err := s.attrValue()
		if err != nil {
			return nil, err
		}
		for _, a := range attrs {
			if a.name == an {
				return nil, s.errorf("attribute %s repeated in <%s>", an, qname)
			}
		}
		attrs = append(attrs, rawAttr{an, av})
		switch {
		case an == "xmlns":
			s.ns = append(s.ns, nsBinding{"", av})
		case len(an) > 6 && an[:6] == "xmlns:":
			if av == "" {
				return nil, s.errorf("prefix %s bound to nothing", an[6:])
			}
			s.ns = append(s.ns, nsBinding{an[6:], av})
		}
	}
	n := s.newNode()
	if n.Name, err = s.resolve(qname, true); err != nil {
		return nil, err
	}
	if len(attrs) > 0 {
		n.Attr = make([]xml.Attr, 0, len(attrs))
		for _, a := range attrs {
			var name xml.Name
			switch {
			case a.name == "xmlns":
				name = xml.Name{Local: "xmlns"}
			case len(a.name) > 6 && a.name[:6] == "xmlns:":
				name = xml.Name{Space: "xmlns", Local: a.name[6:]}
			default:
				if name, err = s.resolve(a.name, false); err != nil {
					return nil, err
				}
			}
			n.Attr = append(n.Attr, xml.Attr{Name: name, Value: a.value})
		}
	}
	if !empty {
		if err := s.content(n, qname, depth); err != nil {
			return nil, err
		}
	}
	s.ns = s.ns[:scope]
	return n, nil
}

// content reads an element's content up to and including its end tag.
// Text that comes in one piece (no entity, comment or CDATA inside) is
// taken from the source as it is; only pieced text is copied together.
func (s *scanner) content(n *node, qname string, depth int) error {
	var (
		first  []byte // the text so far, while it is one piece of the source
		pieced []byte // the text so far, once it is more than one piece
		many   bool
	)
	add := func(b []byte) {
		switch {
		case many:
			pieced = append(pieced, b...)
		case first == nil:
			first = b
		case len(b) > 0:
			pieced = append(append(pieced[:0], first...), b...)
			many = true
		}
	}
	mark := len(s.kids)
	for {
		rest := s.src[s.pos:]
		i := bytes.IndexByte(rest, '<')
		if i < 0 {
			i = len(rest)
		}
		if amp := bytes.IndexByte(rest[:i], '&'); amp >= 0 {
			i = amp
		}
		if i == len(rest) {
			return s.errorf("unexpected end inside <%s>", qname)
		}
		chunk := rest[:i]
		if err := s.checkText(chunk); err != nil {
			return err
		}
		add(chunk)
		s.pos += i
		rest = s.src[s.pos:]
		if rest[0] == '&' {
			r, err := s.entity()
			if err != nil {
				return err
			}
			if !many {
				pieced, many = append(pieced[:0], first...), true
			}
			pieced = utf8.AppendRune(pieced, r)
			continue
		}
		switch {
		case bytes.HasPrefix(rest, []byte("</")):
			s.pos += 2
			start := s.pos
			if _, err := s.name(); err != nil {
				return err
			}
			if end := s.src[start:s.pos]; string(end) != qname {
				return s.errorf("element <%s> closed by </%s>", qname, end)
			}
			s.space()
			if s.pos >= len(s.src) || s.src[s.pos] != '>' {
				return s.errorf("expected '>' in </%s>", qname)
			}
			s.pos++
			if many {
				n.Text = string(bytes.TrimSpace(pieced))
			} else {
				n.Text = strings.TrimSpace(s.sub(first))
			}
			if len(s.kids) > mark {
				n.Children = slices.Clone(s.kids[mark:])
				clear(s.kids[mark:])
				s.kids = s.kids[:mark]
			}
			return nil
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := s.skipComment(); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest[9:], []byte("]]>"))
			if end < 0 {
				return s.errorf("unterminated CDATA section")
			}
			cdata := rest[9 : 9+end]
			if err := s.checkChars(cdata); err != nil {
				return err
			}
			add(cdata)
			s.pos += 9 + end + 3
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := s.skipPI(); err != nil {
				return err
			}
		case bytes.HasPrefix(rest, []byte("<!")):
			return s.errorf("a declaration inside an element")
		default:
			child, err := s.element(depth + 1)
			if err != nil {
				return err
			}
			s.kids = append(s.kids, child)
		}
	}
}

// checkText is checkChars for character data, which may also not hold
// "]]>", in one pass.
func (s *scanner) checkText(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '>':
			if i >= 2 && b[i-1] == ']' && b[i-2] == ']' {
				return s.errorf("']]>' in text")
			}
		case c >= 0x80:
			r, size := utf8.DecodeRune(b[i:])
			if r == 0xFFFE || r == 0xFFFF {
				return s.errorf("illegal character code U+%04X", r)
			}
			i += size
			continue
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			return s.errorf("illegal character code U+%04X", c)
		}
		i++
	}
	return nil
}

// checkChars refuses characters XML 1.0 does not allow (control
// characters, U+FFFE, U+FFFF).
func (s *scanner) checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c < 0x80 {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return s.errorf("illegal character code U+%04X", c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == 0xFFFE || r == 0xFFFF {
			return s.errorf("illegal character code U+%04X", r)
		}
		i += size
	}
	return nil
}

// entity reads &name; or a character reference.
func (s *scanner) entity() (rune, error) {
	end := bytes.IndexByte(s.src[s.pos:min(len(s.src), s.pos+12)], ';')
	if end < 0 {
		return 0, s.errorf("'&' that starts no entity")
	}
	name := string(s.src[s.pos+1 : s.pos+end])
	s.pos += end + 1
	switch name {
	case "lt":
		return '<', nil
	case "gt":
		return '>', nil
	case "amp":
		return '&', nil
	case "apos":
		return '\'', nil
	case "quot":
		return '"', nil
	}
	if len(name) > 1 && name[0] == '#' {
		var v uint64
		var err error
		if name[1] == 'x' {
			v, err = strconv.ParseUint(name[2:], 16, 32)
		} else {
			v, err = strconv.ParseUint(name[1:], 10, 32)
		}
		if err == nil && legalXMLChar(rune(v)) {
			return rune(v), nil
		}
		return 0, s.errorf("character reference &%s; is not a character XML allows", name)
	}
	return 0, s.errorf("undefined entity &%s;", name)
}

func legalXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

func (s *scanner) attrValue() (string, error) {
	if s.pos >= len(s.src) || s.src[s.pos] != '"' && s.src[s.pos] != '\'' {
		return "", s.errorf("unquoted attribute value")
	}
	q := s.src[s.pos]
	s.pos++
	var out []byte
	pieced := false // out holds the value once an entity broke it up
	for {
		rest := s.src[s.pos:]
		i := 0
		for i < len(rest) && rest[i] != q && rest[i] != '<' && rest[i] != '&' {
			i++
		}
		if i == len(rest) {
			return "", s.errorf("unterminated attribute value")
		}
		chunk := rest[:i]
		if err := s.checkChars(chunk); err != nil {
			return "", err
		}
		s.pos += i
		switch rest[i] {
		case q:
			s.pos++
			if !pieced {
				return s.sub(chunk), nil
			}
			return string(append(out, chunk...)), nil
		case '<':
			return "", s.errorf("'<' in an attribute value")
		default:
			r, err := s.entity()
			if err != nil {
				return "", err
			}
			out, pieced = utf8.AppendRune(append(out, chunk...), r), true
		}
	}
}

// name reads an XML (qualified) name.
func (s *scanner) name() (string, error) {
	start := s.pos
	for s.pos < len(s.src) {
		c := s.src[s.pos]
		if c < 0x80 {
			if isNameByte(c, s.pos == start) {
				s.pos++
				continue
			}
			break
		}
		r, size := utf8.DecodeRune(s.src[s.pos:])
		if !isNameRune(r, s.pos == start) {
			break
		}
		s.pos += size
	}
	if s.pos == start {
		return "", s.errorf("expected a name")
	}
	return s.sub(s.src[start:s.pos]), nil
}

// sub returns the part of str that b, a part of src, holds.
func (s *scanner) sub(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	at := cap(s.src) - cap(b)
	return s.str[at : at+len(b)]
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == ':':
		return true
	case c >= '0' && c <= '9', c == '-', c == '.':
		return !first
	}
	return false
}

func isNameRune(r rune, first bool) bool {
	if unicode.IsLetter(r) {
		return true
	}
	return !first && (unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r) || r == 0xB7)
}

// resolve maps a qualified name to its namespace; unprefixed attributes
// are in no namespace, unprefixed elements in the default one.
func (s *scanner) resolve(qname string, element bool) (xml.Name, error) {
	prefix, local, ok := cutColon(qname)
	if !ok {
		if !element {
			return xml.Name{Local: qname}, nil
		}
		return xml.Name{Space: s.lookup(""), Local: qname}, nil
	}
	if prefix == "xml" {
		return xml.Name{Space: nsXML, Local: local}, nil
	}
	uri := s.lookup(prefix)
	if uri == "" {
		return xml.Name{}, s.errorf("prefix %q is not declared", prefix)
	}
	return xml.Name{Space: uri, Local: local}, nil
}

func cutColon(q string) (string, string, bool) {
	for i := 0; i < len(q); i++ {
		if q[i] == ':' {
			return q[:i], q[i+1:], i > 0 && i < len(q)-1
		}
	}
	return "", q, false
}

func (s *scanner) lookup(prefix string) string {
	for i := len(s.ns) - 1; i >= 0; i-- {
		if s.ns[i].prefix == prefix {
			return s.ns[i].uri
		}
	}
	return ""
}

func (s *scanner) space() bool {
	start := s.pos
	for s.pos < len(s.src) && isSpace(s.src[s.pos]) {
		s.pos++
	}
	return s.pos > start
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
