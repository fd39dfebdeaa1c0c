package turtle

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse reads a Turtle document and hands each triple to emit, in
// document order. base is the document's IRI, against which relative IRIs
// resolve. Blank node labels in the output are fresh ("b1", "b2", ...).
func Parse(src []byte, base string, emit func(Triple) error) error {
	if !utf8.Valid(src) {
		i := 0
		for i < len(src) {
			r, n := utf8.DecodeRune(src[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		p := &parser{src: src}
		return p.errAt(i, "invalid UTF-8")
	}
	p := &parser{src: src, base: base, prefixes: map[string]string{}, labels: map[string]string{}, emit: emit}
	return p.document()
}

// ParseAll reads a whole document into a slice of triples.
func ParseAll(src []byte, base string) ([]Triple, error) {
	var out []Triple
	err := Parse(src, base, func(t Triple) error {
		out = append(out, t)
		return nil
	})
	return out, err
}

type parser struct {
	src      []byte
	pos      int
	base     string
	prefixes map[string]string
	labels   map[string]string // document blank node labels → fresh ones
	blanks   int
	emit     func(Triple) error
}

func (p *parser) errAt(pos int, msg string) error {
	line, col := 1, 1
	for i := 0; i < pos && i < len(p.src); i++ {
		if p.src[i] == '\n' {
			line, col = line+1, 1
		} else if p.src[i]&0xC0 != 0x80 {
			col++
		}
	}
	return &SyntaxError{Line: line, Col: col, Msg: msg}
}

func (p *parser) errorf(msg string, args ...any) error {
	if len(args) > 0 {
		msg = fmt.Sprintf(msg, args...)
	}
	return p.errAt(p.pos, msg)
}

func (p *parser) eof() bool { return p.pos >= len(p.src) }

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) peekAt(i int) byte {
	if p.pos+i < len(p.src) {
		return p.src[p.pos+i]
	}
	return 0
}

// ws skips white space and comments.
func (p *parser) ws() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\r', '\n':
			p.pos++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' && p.src[p.pos] != '\r' {
				p.pos++
			}
		default:
			return
		}
	}
}

func (p *parser) expect(c byte) error {
	p.ws()
	if p.peek() != c {
		if p.eof() {
			return p.errorf("expected %q, found the end of the document", c)
		}
		return p.errorf("expected %q, found %q", c, p.next())
	}
	p.pos++
	return nil
}

// next returns the rune at the position, for messages.
func (p *parser) next() string {
	r, _ := utf8.DecodeRune(p.src[p.pos:])
	return string(r)
}

func (p *parser) fresh() Term {
	p.blanks++
	return NewBlank("b" + strconv.Itoa(p.blanks))
}

func (p *parser) triple(s, pr, o Term) error {
	if p.emit == nil {
		return nil
	}
	return p.emit(Triple{S: s, P: pr, O: o})
}

func (p *parser) document() error {
	for {
		p.ws()
		if p.eof() {
			return nil
		}
		if err := p.statement(); err != nil {
			return err
		}
	}
}

func (p *parser) statement() error {
	switch {
	case p.peek() == '@':
		switch {
		case p.keyword("@prefix", true):
			if err := p.prefixDecl(); err != nil {
				return err
			}
		case p.keyword("@base", true):
			if err := p.baseDecl(); err != nil {
				return err
			}
		default:
			return p.errorf("unknown directive (only @prefix and @base exist)")
		}
		return p.expect('.')
	case p.keyword("PREFIX", false):
		return p.prefixDecl()
	case p.keyword("BASE", false):
		return p.baseDecl()
	}
	if err := p.triples(); err != nil {
		return err
	}
	return p.expect('.')
}

// keyword consumes kw when it stands at the position, followed by
// something that cannot continue a name; SPARQL-style keywords match
// regardless of case.
func (p *parser) keyword(kw string, exactCase bool) bool {
	end := p.pos + len(kw)
	if end > len(p.src) {
		return false
	}
	word := string(p.src[p.pos:end])
	if exactCase && word != kw || !exactCase && !strings.EqualFold(word, kw) {
		return false
	}
	if end < len(p.src) {
		r, _ := utf8.DecodeRune(p.src[end:])
		if isPNChars(r) || r == ':' || r == '.' && !exactCase {
			return false
		}
	}
	p.pos = end
	return true
}

func (p *parser) prefixDecl() error {
	p.ws()
	start := p.pos
	prefix, err := p.pnPrefix()
	if err != nil {
		return err
	}
	if p.peek() != ':' {
		return p.errAt(start, "expected a prefix name ending in ':'")
	}
	p.pos++
	p.ws()
	iri, err := p.iriRef()
	if err != nil {
		return err
	}
	p.prefixes[prefix] = iri
	return nil
}

func (p *parser) baseDecl() error {
	p.ws()
	iri, err := p.iriRef()
	if err != nil {
		return err
	}
	p.base = iri
	return nil
}

func (p *parser) triples() error {
	p.ws()
	if p.peek() == '[' {
		subj, isAnon, err := p.blankNodePropertyList()
		if err != nil {
			return err
		}
		p.ws()
		if !isAnon && p.peek() == '.' {
			return nil // [ :p :o ] .
		}
		return p.predicateObjectList(subj)
	}
	subj, err := p.subject()
	if err != nil {
		return err
	}
	return p.predicateObjectList(subj)
}

func (p *parser) subject() (Term, error) {
	p.ws()
	switch c := p.peek(); {
	case c == '<':
		iri, err := p.iriRef()
		return NewIRI(iri), err
	case c == '_' && p.peekAt(1) == ':':
		return p.blankLabel()
	case c == '(':
		return p.collection()
	case c == '"' || c == '\'' || c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		return Term{}, p.errorf("a literal cannot be a subject")
	}
	t, err := p.prefixedName()
	if err != nil {
		return Term{}, err
	}
	return t, nil
}

func (p *parser) predicateObjectList(subj Term) error {
	if err := p.verbObjectList(subj); err != nil {
		return err
	}
	for {
		p.ws()
		if p.peek() != ';' {
			return nil
		}
		for p.peek() == ';' {
			p.pos++
			p.ws()
		}
		switch p.peek() {
		case '.', ']', 0:
			return nil
		}
		if err := p.verbObjectList(subj); err != nil {
			return err
		}
	}
}

func (p *parser) verbObjectList(subj Term) error {
	p.ws()
	var verb Term
	if p.peek() == 'a' && p.keyword("a", true) {
		verb = NewIRI(RDFType)
	} else {
		var err error
		if verb, err = p.predicate(); err != nil {
			return err
		}
	}
	for {
		obj, err := p.object()
		if err != nil {
			return err
		}
		if err := p.triple(subj, verb, obj); err != nil {
			return err
		}
		p.ws()
		if p.peek() != ',' {
			return nil
		}
		p.pos++
	}
}

func (p *parser) predicate() (Term, error) {
	p.ws()
	if p.peek() == '<' {
		iri, err := p.iriRef()
		return NewIRI(iri), err
	}
	switch c := p.peek(); {
	case c == '[' || c == '(' || c == '"' || c == '\'' || c == '_' && p.peekAt(1) == ':':
		return Term{}, p.errorf("a predicate must be an IRI")
	}
	return p.prefixedName()
}

func (p *parser) object() (Term, error) {
	p.ws()
	switch c := p.peek(); {
	case c == '<':
		iri, err := p.iriRef()
		return NewIRI(iri), err
	case c == '_' && p.peekAt(1) == ':':
		return p.blankLabel()
	case c == '(':
		return p.collection()
	case c == '[':
		t, _, err := p.blankNodePropertyList()
		return t, err
	case c == '"' || c == '\'':
		return p.rdfLiteral()
	case c == '+' || c == '-' || c == '.' || c >= '0' && c <= '9':
		return p.numeric()
	case c == 't' && p.keyword("true", true):
		return NewLiteral("true", XSDBoolean, ""), nil
	case c == 'f' && p.keyword("false", true):
		return NewLiteral("false", XSDBoolean, ""), nil
	case c == 0:
		return Term{}, p.errorf("expected an object, found the end of the document")
	}
	return p.prefixedName()
}

// blankNodePropertyList reads '[' ... ']'; isAnon tells an empty [].
func (p *parser) blankNodePropertyList() (Term, bool, error) {
	p.pos++ // '['
	b := p.fresh()
	p.ws()
	if p.peek() == ']' {
		p.pos++
		return b, true, nil
	}
	if err := p.predicateObjectList(b); err != nil {
		return Term{}, false, err
	}
	return b, false, p.expect(']')
}

func (p *parser) collection() (Term, error) {
	p.pos++ // '('
	var head, prev Term
	for {
		p.ws()
		if p.peek() == ')' {
			p.pos++
			break
		}
		if p.eof() {
			return Term{}, p.errorf("unterminated collection")
		}
		obj, err := p.object()
		if err != nil {
			return Term{}, err
		}
		node := p.fresh()
		if head.Kind == 0 {
			head = node
		} else if err := p.triple(prev, NewIRI(RDFRest), node); err != nil {
			return Term{}, err
		}
		if err := p.triple(node, NewIRI(RDFFirst), obj); err != nil {
			return Term{}, err
		}
		prev = node
	}
	if head.Kind == 0 {
		return NewIRI(RDFNil), nil
	}
	return head, p.triple(prev, NewIRI(RDFRest), NewIRI(RDFNil))
}

func (p *parser) rdfLiteral() (Term, error) {
	lex, err := p.stringLiteral()
	if err != nil {
		return Term{}, err
	}
	switch {
	case p.peek() == '@':
		p.pos++
		start := p.pos
		for isAlpha(p.peek()) {
			p.pos++
		}
		if p.pos == start {
			return Term{}, p.errorf("empty language tag")
		}
		for p.peek() == '-' {
			p.pos++
			sub := p.pos
			for isAlpha(p.peek()) || isDigit(p.peek()) {
				p.pos++
			}
			if p.pos == sub {
				return Term{}, p.errorf("empty language subtag")
			}
		}
		return NewLiteral(lex, "", string(p.src[start:p.pos])), nil
	case p.peek() == '^' && p.peekAt(1) == '^':
		p.pos += 2
		var dt string
		if p.peek() == '<' {
			if dt, err = p.iriRef(); err != nil {
				return Term{}, err
			}
		} else {
			t, err := p.prefixedName()
			if err != nil {
				return Term{}, err
			}
			dt = t.Value
		}
		return NewLiteral(lex, dt, ""), nil
	}
	return NewLiteral(lex, XSDString, ""), nil
}

func (p *parser) stringLiteral() (string, error) {
	q := p.peek()
	long := p.peekAt(1) == q && p.peekAt(2) == q
	if long {
		p.pos += 3
	} else {
		p.pos++
	}
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		switch {
		case c == q && !long:
			p.pos++
			return b.String(), nil
		case c == q && long && p.peekAt(1) == q && p.peekAt(2) == q:
			p.pos += 3
			return b.String(), nil
		case c == '\\':
			r, err := p.escape(true)
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		case (c == '\n' || c == '\r') && !long:
			return "", p.errorf("line break in a short string")
		default:
			r, n := utf8.DecodeRune(p.src[p.pos:])
			b.WriteRune(r)
			p.pos += n
		}
	}
}

// escape reads a backslash escape: UCHAR always, ECHAR in strings.
func (p *parser) escape(echar bool) (rune, error) {
	p.pos++ // '\'
	c := p.peek()
	switch c {
	case 'u', 'U':
		n := 4
		if c == 'U' {
			n = 8
		}
		if p.pos+1+n > len(p.src) {
			return 0, p.errorf("short \\%c escape", c)
		}
		hex := string(p.src[p.pos+1 : p.pos+1+n])
		v, err := strconv.ParseUint(hex, 16, 32)
		if err != nil || !isHex(hex) {
			return 0, p.errorf("bad \\%c escape %q", c, hex)
		}
		r := rune(v)
		if !utf8.ValidRune(r) {
			return 0, p.errorf("\\%c escape %q is not a character", c, hex)
		}
		p.pos += 1 + n
		return r, nil
	}
	if echar {
		if r, ok := echars[c]; ok {
			p.pos++
			return r, nil
		}
	}
	return 0, p.errorf("bad escape \\%s", p.next())
}

var echars = map[byte]rune{'t': '\t', 'b': '\b', 'n': '\n', 'r': '\r', 'f': '\f', '"': '"', '\'': '\'', '\\': '\\'}

func (p *parser) numeric() (Term, error) {
	start := p.pos
	if c := p.peek(); c == '+' || c == '-' {
		p.pos++
	}
	intDigits := p.digits()
	dt := XSDInteger
	if p.peek() == '.' && isDigit(p.peekAt(1)) {
		p.pos++
		p.digits()
		dt = XSDDecimal
	} else if p.peek() == '.' && intDigits > 0 && isExponent(p.src[p.pos+1:]) {
		p.pos++ // "1.e5"
	}
	if isExponent(p.src[p.pos:]) {
		p.pos++
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		p.digits()
		dt = XSDDouble
	}
	lex := string(p.src[start:p.pos])
	if dt == XSDInteger && intDigits == 0 {
		p.pos = start
		return Term{}, p.errorf("bad number")
	}
	return NewLiteral(lex, dt, ""), nil
}

func (p *parser) digits() int {
	n := 0
	for isDigit(p.peek()) {
		p.pos++
		n++
	}
	return n
}

// isExponent reports whether b starts an exponent: e, an optional sign, a digit.
func isExponent(b []byte) bool {
	if len(b) < 2 || b[0] != 'e' && b[0] != 'E' {
		return false
	}
	if b[1] == '+' || b[1] == '-' {
		return len(b) > 2 && isDigit(b[2])
	}
	return isDigit(b[1])
}

// iriRef reads <...> and resolves it against the base.
func (p *parser) iriRef() (string, error) {
	if p.peek() != '<' {
		if p.eof() {
			return "", p.errorf("expected an IRI, found the end of the document")
		}
		return "", p.errorf("expected an IRI, found %q", p.next())
	}
	p.pos++
	var b strings.Builder
	for {
		if p.eof() {
			return "", p.errorf("unterminated IRI")
		}
		c := p.src[p.pos]
		if c == '>' {
			p.pos++
			break
		}
		var r rune
		if c == '\\' {
			var err error
			if r, err = p.escape(false); err != nil {
				return "", err
			}
		} else {
			var n int
			r, n = utf8.DecodeRune(p.src[p.pos:])
			p.pos += n
		}
		if r <= 0x20 || strings.ContainsRune(`<>"{}|^`+"`\\", r) {
			return "", p.errAt(p.pos-1, "character "+strconv.QuoteRune(r)+" is not allowed in an IRI")
		}
		b.WriteRune(r)
	}
	iri, err := Resolve(p.base, b.String())
	if err != nil {
		return "", p.errorf("%v", err)
	}
	return iri, nil
}

// pnPrefix reads PN_PREFIX (possibly empty), up to the ':'.
func (p *parser) pnPrefix() (string, error) {
	start := p.pos
	r, n := utf8.DecodeRune(p.src[p.pos:])
	if p.eof() || r == ':' {
		return "", nil
	}
	if !isPNCharsBase(r) {
		return "", p.errorf("a prefix cannot start with %q", string(r))
	}
	p.pos += n
	for !p.eof() {
		r, n := utf8.DecodeRune(p.src[p.pos:])
		if !isPNChars(r) && r != '.' {
			break
		}
		p.pos += n
	}
	if p.src[p.pos-1] == '.' {
		return "", p.errAt(p.pos-1, "a prefix cannot end with '.'")
	}
	return string(p.src[start:p.pos]), nil
}

// prefixedName reads prefix:local and expands it.
func (p *parser) prefixedName() (Term, error) {
	start := p.pos
	prefix, err := p.pnPrefix()
	if err != nil {
		return Term{}, err
	}
	if p.peek() != ':' {
		p.pos = start
		if p.eof() {
			return Term{}, p.errorf("unexpected end of the document")
		}
		return Term{}, p.errorf("unexpected %q", p.next())
	}
	p.pos++
	ns, ok := p.prefixes[prefix]
	if !ok {
		return Term{}, p.errAt(start, "undefined prefix "+strconv.Quote(prefix+":"))
	}
	local, err := p.pnLocal()
	if err != nil {
		return Term{}, err
	}
	return NewIRI(ns + local), nil
}

// pnLocal reads PN_LOCAL, unescaping \-escapes and keeping %XX; a
// trailing '.' ends the statement rather than the name.
func (p *parser) pnLocal() (string, error) {
	var b strings.Builder
	first := true
	lastDot := -1 // length of b before a run of trailing dots
	dotStart := 0
	for !p.eof() {
		c := p.src[p.pos]
		switch {
		case c == '%':
			if p.pos+2 >= len(p.src) || !isHex(string(p.src[p.pos+1:p.pos+3])) {
				return "", p.errorf("bad percent escape in a local name")
			}
			b.Write(p.src[p.pos : p.pos+3])
			p.pos += 3
		case c == '\\':
			if p.pos+1 >= len(p.src) || !strings.ContainsRune(`_~.-!$&'()*+,;=/?#@%`, rune(p.src[p.pos+1])) {
				return "", p.errorf("bad escape in a local name")
			}
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		case c == '.' && !first:
			if lastDot < 0 {
				lastDot, dotStart = b.Len(), p.pos
			}
			b.WriteByte('.')
			p.pos++
			continue
		default:
			r, n := utf8.DecodeRune(p.src[p.pos:])
			ok := isPNChars(r) || r == ':'
			if first {
				ok = isPNCharsU(r) || r == ':' || r >= '0' && r <= '9'
			}
			if !ok {
				goto done
			}
			b.WriteRune(r)
			p.pos += n
		}
		first = false
		lastDot = -1
	}
done:
	s := b.String()
	if lastDot >= 0 {
		s = s[:lastDot]
		p.pos = dotStart
	}
	return s, nil
}

func (p *parser) blankLabel() (Term, error) {
	p.pos += 2 // "_:"
	start := p.pos
	r, n := utf8.DecodeRune(p.src[p.pos:])
	if !isPNCharsU(r) && !(r >= '0' && r <= '9') {
		return Term{}, p.errorf("bad blank node label")
	}
	p.pos += n
	for !p.eof() {
		r, n := utf8.DecodeRune(p.src[p.pos:])
		if !isPNChars(r) && r != '.' {
			break
		}
		p.pos += n
	}
	for p.src[p.pos-1] == '.' {
		p.pos--
	}
	label := string(p.src[start:p.pos])
	fresh, ok := p.labels[label]
	if !ok {
		fresh = p.fresh().Value
		p.labels[label] = fresh
	}
	return NewBlank(fresh), nil
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isPNCharsBase(r rune) bool {
	return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' ||
		r >= 0xC0 && r <= 0xD6 || r >= 0xD8 && r <= 0xF6 || r >= 0xF8 && r <= 0x2FF ||
		r >= 0x370 && r <= 0x37D || r >= 0x37F && r <= 0x1FFF || r >= 0x200C && r <= 0x200D ||
		r >= 0x2070 && r <= 0x218F || r >= 0x2C00 && r <= 0x2FEF || r >= 0x3001 && r <= 0xD7FF ||
		r >= 0xF900 && r <= 0xFDCF || r >= 0xFDF0 && r <= 0xFFFD || r >= 0x10000 && r <= 0xEFFFF
}

func isPNCharsU(r rune) bool { return isPNCharsBase(r) || r == '_' }

func isPNChars(r rune) bool {
	return isPNCharsU(r) || r == '-' || r >= '0' && r <= '9' || r == 0xB7 ||
		r >= 0x300 && r <= 0x36F || r >= 0x203F && r <= 0x2040
}

// ValidBlankLabel reports whether label (without "_:") is a BLANK_NODE_LABEL
// of Turtle and N-Triples.
func ValidBlankLabel(label string) bool {
	if label == "" {
		return false
	}
	for i, r := range label {
		switch {
		case i == 0 && !(isPNCharsU(r) || r >= '0' && r <= '9'):
			return false
		case i > 0 && !isPNChars(r) && r != '.':
			return false
		}
	}
	return !strings.HasSuffix(label, ".")
}
