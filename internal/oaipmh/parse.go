// Package oaipmh speaks OAI-PMH 2.0: a harvesting client that parses
// responses as a stream, and a provider that serves a repository.
package oaipmh

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Namespace of the protocol's own elements.
const Namespace = "http://www.openarchives.org/OAI/2.0/"

// Header is a record header.
type Header struct {
	Identifier string   `json:"identifier"`
	Datestamp  string   `json:"datestamp"`
	SetSpecs   []string `json:"set_specs,omitempty"`
	Deleted    bool     `json:"deleted,omitempty"`
}

// Record is a harvested record. Metadata is the single element inside
// <metadata>, as bytes that parse on their own: namespace declarations
// made on enclosing elements are copied onto it. Problem is set when the
// record cannot be used (its header has no identifier): the rest of the
// page still can.
type Record struct {
	Header   Header
	Metadata []byte
	Problem  string
}

// ResumptionToken continues a list; an empty Value ends it.
type ResumptionToken struct {
	Value            string `json:"value,omitempty"`
	CompleteListSize int    `json:"complete_list_size,omitempty"` // 0 when the provider does not say
	Cursor           int    `json:"cursor,omitempty"`
	ExpirationDate   string `json:"expiration_date,omitempty"`
}

// Page is one response to ListRecords or ListIdentifiers.
type Page struct {
	ResponseDate string
	Records      []Record
	Token        ResumptionToken
}

// PageInfo is what a streamed page says besides its records.
type PageInfo struct {
	ResponseDate string
	Token        ResumptionToken
	Records      int
}

// MaxRecordBytes bounds one record inside a response: memory follows the
// largest record, never the page.
const MaxRecordBytes = 64 << 20

// ParseList parses a whole ListRecords or ListIdentifiers response held in
// memory; see Read.
func ParseList(body []byte) (*Page, error) {
	page := &Page{}
	info, _, err := Read(bytes.NewReader(body), func(r Record) error {
		page.Records = append(page.Records, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	page.ResponseDate, page.Token = info.ResponseDate, info.Token
	return page, nil
}

// Read repairs a response (see Repair) and parses it as it is read (see
// Stream), returning what was repaired.
func Read(r io.Reader, fn func(Record) error) (*PageInfo, Repairs, error) {
	fixed, rep, err := Repair(r)
	if err != nil {
		return nil, Repairs{}, err
	}
	info, err := Stream(fixed, fn)
	return info, *rep, err
}

// Stream parses a ListRecords, ListIdentifiers or GetRecord response as it
// is read, handing each record to fn before reading the next. A
// noRecordsMatch error is an empty page, not a failure; any other protocol
// error is returned as *Error; an error from fn stops the parse.
func Stream(r io.Reader, fn func(Record) error) (*PageInfo, error) {
	w := newWindow(r, MaxRecordBytes)
	p := &listParser{w: w, dec: newDecoder(w), emit: fn}
	return p.parse()
}

func newDecoder(w *window) *xml.Decoder {
	dec := xml.NewDecoder(w)
	dec.Strict = true
	dec.CharsetReader = passCharset
	return dec
}

func xmlUnmarshal(b []byte, v any) error { return xml.Unmarshal(b, v) }

type listParser struct {
	w   *window
	dec *xml.Decoder
	// skipped counts the bytes the window passed over behind the decoder's
	// back (record contents); stream offsets are the decoder's plus these.
	skipped int64
	// scopes holds the namespace declarations of each open element.
	scopes [][]xml.Attr
	info   PageInfo
	errs   []*Error
	emit   func(Record) error
}

func (p *listParser) parse() (*PageInfo, error) {
	sawRoot := false
	for {
		tok, err := p.dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, p.syntaxError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if !sawRoot {
				if t.Name.Space != Namespace || t.Name.Local != "OAI-PMH" {
					return nil, fmt.Errorf("%w: root element is {%s}%s, not {%s}OAI-PMH", ErrNotOAIPMH, t.Name.Space, t.Name.Local, Namespace)
				}
				sawRoot = true
			}
			if err := p.start(t); err != nil {
				return nil, err
			}
		case xml.EndElement:
			p.scopes = p.scopes[:len(p.scopes)-1]
		}
	}
	if !sawRoot {
		return nil, fmt.Errorf("%w: empty response", ErrNotOAIPMH)
	}
	for _, e := range p.errs {
		if e.Code != NoRecordsMatch { // noRecordsMatch: an empty result
			return nil, e
		}
	}
	return &p.info, nil
}

func (p *listParser) record(r Record) error {
	p.info.Records++
	if p.emit == nil {
		return nil
	}
	return p.emit(r)
}

func (p *listParser) start(t xml.StartElement) error {
	p.scopes = append(p.scopes, nsDecls(t.Attr))
	if t.Name.Space != Namespace {
		return nil
	}
	switch t.Name.Local {
	case "responseDate":
		var s string
		if err := p.decode(&s, t); err != nil {
			return err
		}
		p.info.ResponseDate = strings.TrimSpace(s)
	case "error":
		var e struct {
			Code    string `xml:"code,attr"`
			Message string `xml:",chardata"`
		}
		if err := p.decode(&e, t); err != nil {
			return err
		}
		p.errs = append(p.errs, &Error{Code: e.Code, Message: strings.TrimSpace(e.Message)})
	case "header":
		// ListIdentifiers: a bare header.
		h, err := p.header(t)
		if err != nil {
			return err
		}
		return p.record(Record{Header: h, Problem: h.problem()})
	case "record":
		r, err := p.readRecord()
		if err != nil {
			return err
		}
		return p.record(r)
	case "resumptionToken":
		var rt struct {
			Value  string `xml:",chardata"`
			Size   string `xml:"completeListSize,attr"`
			Cursor string `xml:"cursor,attr"`
			Expiry string `xml:"expirationDate,attr"`
		}
		if err := p.decode(&rt, t); err != nil {
			return err
		}
		p.info.Token = ResumptionToken{Value: strings.TrimSpace(rt.Value), ExpirationDate: rt.Expiry}
		p.info.Token.CompleteListSize, _ = strconv.Atoi(rt.Size)
		p.info.Token.Cursor, _ = strconv.Atoi(rt.Cursor)
	}
	return nil
}

// decode reads the element t opened and pops its scope, as DecodeElement
// consumes the end tag the main loop would otherwise see.
func (p *listParser) decode(v any, t xml.StartElement) error {
	if err := p.dec.DecodeElement(v, &t); err != nil {
		return p.syntaxError(err)
	}
	p.scopes = p.scopes[:len(p.scopes)-1]
	return nil
}

type rawHeader struct {
	Status     string   `xml:"status,attr"`
	Identifier string   `xml:"identifier"`
	Datestamp  string   `xml:"datestamp"`
	SetSpecs   []string `xml:"setSpec"`
}

func (p *listParser) header(t xml.StartElement) (Header, error) {
	var h rawHeader
	if err := p.decode(&h, t); err != nil {
		return Header{}, err
	}
	out := Header{
		Identifier: strings.TrimSpace(h.Identifier),
		Datestamp:  strings.TrimSpace(h.Datestamp),
		Deleted:    h.Status == "deleted",
	}
	for _, s := range h.SetSpecs {
		out.SetSpecs = append(out.SetSpecs, strings.TrimSpace(s))
	}
	return out, nil
}

func (h Header) problem() string {
	if h.Identifier == "" {
		return "the record header has no identifier"
	}
	return ""
}

// readRecord reads one <record> (its start tag already consumed) up to and
// including its end tag.
func (p *listParser) readRecord() (Record, error) {
	var r Record
	seenHeader := false
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return r, p.syntaxError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			p.scopes = append(p.scopes, nsDecls(t.Attr))
			switch {
			case t.Name.Space == Namespace && t.Name.Local == "header":
				h, err := p.header(t)
				if err != nil {
					return r, err
				}
				r.Header, seenHeader = h, true
			case t.Name.Space == Namespace && t.Name.Local == "metadata":
				md, err := p.metadata()
				if err != nil {
					return r, fmt.Errorf("record %s: %w", r.Header.Identifier, err)
				}
				r.Metadata = md
			default: // about, or anything a provider adds
				if err := p.dec.Skip(); err != nil {
					return r, p.syntaxError(err)
				}
				p.scopes = p.scopes[:len(p.scopes)-1]
			}
		case xml.EndElement:
			p.scopes = p.scopes[:len(p.scopes)-1] // the record's own scope
			if !seenHeader {
				r.Problem = "the record has no header"
			} else {
				r.Problem = r.Header.problem()
			}
			return r, nil
		}
	}
}

// metadata returns the element inside <metadata> (whose start tag was just
// read) as standalone bytes, and consumes </metadata>. The element is read
// as raw tokens, which the decoder does not match against its stack of
// open elements; </metadata> goes through Token, which matches it.
func (p *listParser) metadata() ([]byte, error) {
	defer p.w.clearMark()
	for {
		before := p.offset()
		p.w.setMark(before)
		tok, err := p.dec.RawToken()
		if err != nil {
			return nil, p.syntaxError(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := p.skipContent(); err != nil {
				return nil, p.syntaxError(err)
			}
			end := p.offset()
			if end-before > int64(p.w.max) {
				return nil, fmt.Errorf("%w: a record is larger than %d bytes", ErrMalformedResponse, p.w.max)
			}
			out := withScopes(p.w.bytes(before, end), p.scopes, nsDecls(t.Attr))
			return out, p.endMetadata()
		case xml.EndElement:
			return nil, fmt.Errorf("%w: empty <metadata>", ErrMalformedResponse)
		}
	}
}

func (p *listParser) endMetadata() error {
	for {
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntaxError(err)
		}
		switch tok.(type) {
		case xml.StartElement:
			return fmt.Errorf("%w: <metadata> holds more than one element", ErrMalformedResponse)
		case xml.EndElement:
			p.scopes = p.scopes[:len(p.scopes)-1]
			return nil
		}
	}
}

// skipContent passes over the rest of a record whose start tag the
// decoder has just read. Only the record's extent matters here (its
// mapping parses it strictly), so the window scans for it directly, much
// faster than the decoder's byte-by-byte tokens; a record whose tags do
// not match thus fails alone, not with its page. The decoder holds no byte
// read ahead after a start tag's '>', so it resumes exactly after.
func (p *listParser) skipContent() error {
	raw := p.w.buf[:p.w.pos]
	if len(raw) >= 2 && raw[len(raw)-2] == '/' {
		_, err := p.dec.RawToken() // <x/>: the decoder's own end element
		return err
	}
	n, err := p.w.skipElement()
	p.skipped += n
	return err
}

// offset is the stream offset at the decoder's position.
func (p *listParser) offset() int64 { return p.dec.InputOffset() + p.skipped }

// nsDecls returns the namespace declarations among attrs.
func nsDecls(attrs []xml.Attr) []xml.Attr {
	var out []xml.Attr
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			out = append(out, a)
		}
	}
	return out
}

// withScopes copies onto the start tag of raw every namespace declaration in
// scope that the element does not make itself, so the bytes mean the same
// thing outside the response as inside it.
func withScopes(raw []byte, scopes [][]xml.Attr, own []xml.Attr) []byte {
	declared := map[string]bool{}
	for _, a := range own {
		declared[a.Name.Space+":"+a.Name.Local] = true
	}
	var extra bytes.Buffer
	for i := len(scopes) - 1; i >= 0; i-- { // innermost wins
		for _, a := range scopes[i] {
			k := a.Name.Space + ":" + a.Name.Local
			if declared[k] {
				continue
			}
			declared[k] = true
			if a.Name.Space == "" {
				fmt.Fprintf(&extra, ` xmlns="%s"`, escapeAttr(a.Value))
			} else {
				fmt.Fprintf(&extra, ` xmlns:%s="%s"`, a.Name.Local, escapeAttr(a.Value))
			}
		}
	}
	if extra.Len() == 0 {
		return raw
	}
	// The element name ends at the first space, '/', or '>' after '<'.
	end := bytes.IndexAny(raw, " \t\r\n/>")
	if end < 0 {
		return raw
	}
	out := make([]byte, 0, len(raw)+extra.Len())
	out = append(out, raw[:end]...)
	out = append(out, extra.Bytes()...)
	return append(out, raw[end:]...)
}

func escapeAttr(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&#34;")
}

func (p *listParser) syntaxError(err error) error {
	if errors.Is(err, ErrMalformedResponse) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: %v (at byte %d)", ErrMalformedResponse, err, p.offset())
}

// passCharset lets declared encodings through: Repair has already turned
// the bytes into UTF-8 when the declaration named another encoding.
func passCharset(label string, input io.Reader) (io.Reader, error) { return input, nil }

// Identity is what Identify says about a repository.
type Identity struct {
	RepositoryName    string   `xml:"repositoryName" json:"repository_name"`
	BaseURL           string   `xml:"baseURL" json:"base_url"`
	ProtocolVersion   string   `xml:"protocolVersion" json:"protocol_version"`
	AdminEmails       []string `xml:"adminEmail" json:"admin_emails"`
	EarliestDatestamp string   `xml:"earliestDatestamp" json:"earliest_datestamp"`
	// DeletedRecord is no, transient or persistent.
	DeletedRecord string `xml:"deletedRecord" json:"deleted_record"`
	// Granularity is YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ.
	Granularity string `xml:"granularity" json:"granularity"`
}

// ParseIdentify parses an Identify response.
func ParseIdentify(body []byte) (*Identity, error) {
	var doc struct {
		XMLName  xml.Name  `xml:"http://www.openarchives.org/OAI/2.0/ OAI-PMH"`
		Errors   []Error   `xml:"error"`
		Identify *Identity `xml:"Identify"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	if len(doc.Errors) > 0 {
		e := doc.Errors[0]
		return nil, &e
	}
	if doc.Identify == nil {
		return nil, fmt.Errorf("%w: no <Identify> element", ErrMalformedResponse)
	}
	return doc.Identify, nil
}

// Sentinel errors for responses that are not usable protocol messages.
var (
	ErrNotOAIPMH         = errors.New("not an OAI-PMH response")
	ErrMalformedResponse = errors.New("malformed OAI-PMH response")
)
