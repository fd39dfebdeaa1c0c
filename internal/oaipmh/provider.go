package oaipmh

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// MetadataFormat is a format a repository can disseminate.
type MetadataFormat struct {
	Prefix    string `xml:"metadataPrefix"`
	Schema    string `xml:"schema"`
	Namespace string `xml:"metadataNamespace"`
}

// Set is a set of a repository.
type Set struct {
	Spec string `xml:"setSpec"`
	Name string `xml:"setName"`
}

// Repository is what a Provider serves. Items returns, in a stable order,
// the items of a format (and set) whose datestamps fall in [from, until],
// both inclusive and empty when open.
type Repository interface {
	Identify() Identity
	Formats() []MetadataFormat
	Sets() []Set
	Items(prefix, set, from, until string) ([]Record, error)
}

// Provider serves a Repository over OAI-PMH 2.0.
type Provider struct {
	Repo     Repository
	PageSize int
	Now      func() time.Time
}

func (p *Provider) now() time.Time {
	if p.Now != nil {
		return p.Now().UTC()
	}
	return time.Now().UTC()
}

// ServeHTTP answers GET and POST requests.
func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.fail(w, r, &Error{Code: BadArgument, Message: err.Error()})
		return
	}
	args := r.Form
	for k, vs := range args {
		if len(vs) > 1 {
			p.fail(w, r, &Error{Code: BadArgument, Message: "repeated argument " + k})
			return
		}
	}
	switch verb := args.Get("verb"); verb {
	case "Identify":
		p.identify(w, r)
	case "ListMetadataFormats":
		p.respond(w, r, "ListMetadataFormats", func(b *bytes.Buffer) {
			for _, f := range p.Repo.Formats() {
				writeXML(b, "metadataFormat", f)
			}
		})
	case "ListSets":
		sets := p.Repo.Sets()
		if len(sets) == 0 {
			p.fail(w, r, &Error{Code: NoSetHierarchy, Message: "this repository has no sets"})
			return
		}
		p.respond(w, r, "ListSets", func(b *bytes.Buffer) {
			for _, s := range sets {
				writeXML(b, "set", s)
			}
		})
	case "ListRecords", "ListIdentifiers":
		p.list(w, r, verb, args)
	case "GetRecord":
		p.getRecord(w, r, args)
	case "":
		p.fail(w, r, &Error{Code: BadVerb, Message: "no verb"})
	default:
		p.fail(w, r, &Error{Code: BadVerb, Message: "unknown verb " + verb})
	}
}

func (p *Provider) identify(w http.ResponseWriter, r *http.Request) {
	id := p.Repo.Identify()
	p.respond(w, r, "Identify", func(b *bytes.Buffer) {
		write := func(name, v string) {
			b.WriteString("<" + name + ">")
			_ = xml.EscapeText(b, []byte(v))
			b.WriteString("</" + name + ">")
		}
		write("repositoryName", id.RepositoryName)
		write("baseURL", id.BaseURL)
		write("protocolVersion", "2.0")
		for _, e := range id.AdminEmails {
			write("adminEmail", e)
		}
		write("earliestDatestamp", id.EarliestDatestamp)
		write("deletedRecord", id.DeletedRecord)
		write("granularity", id.Granularity)
	})
}

// listState is what a resumption token carries: the request and how far it got.
type listState struct {
	Prefix string `json:"p"`
	Set    string `json:"s,omitempty"`
	From   string `json:"f,omitempty"`
	Until  string `json:"u,omitempty"`
	Offset int    `json:"o"`
}

func (p *Provider) list(w http.ResponseWriter, r *http.Request, verb string, args url.Values) {
	var st listState
	if tok := args.Get("resumptionToken"); tok != "" {
		if len(args) != 2 {
			p.fail(w, r, &Error{Code: BadArgument, Message: "resumptionToken is an exclusive argument"})
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || json.Unmarshal(b, &st) != nil {
			p.fail(w, r, &Error{Code: BadResumptionToken, Message: "unknown resumption token"})
			return
		}
	} else {
		st = listState{Prefix: args.Get("metadataPrefix"), Set: args.Get("set"), From: args.Get("from"), Until: args.Get("until")}
		if st.Prefix == "" {
			p.fail(w, r, &Error{Code: BadArgument, Message: "metadataPrefix is required"})
			return
		}
		for _, d := range []string{st.From, st.Until} {
			if d != "" && !validDatestamp(d) {
				p.fail(w, r, &Error{Code: BadArgument, Message: "bad datestamp " + d})
				return
			}
		}
		if !p.offers(st.Prefix) {
			p.fail(w, r, &Error{Code: CannotDisseminateFormat, Message: "format " + st.Prefix + " is not offered"})
			return
		}
		if st.Set != "" && len(p.Repo.Sets()) == 0 {
			p.fail(w, r, &Error{Code: NoSetHierarchy, Message: "this repository has no sets"})
			return
		}
	}
	items, err := p.Repo.Items(st.Prefix, st.Set, st.From, st.Until)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if len(items) == 0 {
		p.fail(w, r, &Error{Code: NoRecordsMatch, Message: "no records match"})
		return
	}
	if st.Offset > len(items) {
		p.fail(w, r, &Error{Code: BadResumptionToken, Message: "resumption token past the end of the list"})
		return
	}
	size := p.PageSize
	if size <= 0 {
		size = 100
	}
	end := min(st.Offset+size, len(items))
	p.respond(w, r, verb, func(b *bytes.Buffer) {
		for _, it := range items[st.Offset:end] {
			if verb == "ListIdentifiers" {
				writeHeader(b, it.Header)
			} else {
				writeRecord(b, it)
			}
		}
		if end < len(items) || st.Offset > 0 {
			next := ""
			if end < len(items) {
				n := st
				n.Offset = end
				js, _ := json.Marshal(n)
				next = base64.RawURLEncoding.EncodeToString(js)
			}
			fmt.Fprintf(b, `<resumptionToken completeListSize="%d" cursor="%d">%s</resumptionToken>`, len(items), st.Offset, next)
		}
	})
}

func (p *Provider) getRecord(w http.ResponseWriter, r *http.Request, args url.Values) {
	id, prefix := args.Get("identifier"), args.Get("metadataPrefix")
	if id == "" || prefix == "" {
		p.fail(w, r, &Error{Code: BadArgument, Message: "identifier and metadataPrefix are required"})
		return
	}
	if !p.offers(prefix) {
		p.fail(w, r, &Error{Code: CannotDisseminateFormat, Message: "format " + prefix + " is not offered"})
		return
	}
	items, err := p.Repo.Items(prefix, "", "", "")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	for _, it := range items {
		if it.Header.Identifier == id {
			p.respond(w, r, "GetRecord", func(b *bytes.Buffer) { writeRecord(b, it) })
			return
		}
	}
	p.fail(w, r, &Error{Code: IDDoesNotExist, Message: "no record " + id})
}

func (p *Provider) offers(prefix string) bool {
	for _, f := range p.Repo.Formats() {
		if f.Prefix == prefix {
			return true
		}
	}
	return false
}

func (p *Provider) respond(w http.ResponseWriter, r *http.Request, verb string, body func(*bytes.Buffer)) {
	var b bytes.Buffer
	p.envelope(&b, r, verb)
	b.WriteString("<" + verb + ">")
	body(&b)
	b.WriteString("</" + verb + "></OAI-PMH>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (p *Provider) fail(w http.ResponseWriter, r *http.Request, e *Error) {
	var b bytes.Buffer
	p.envelope(&b, r, "")
	fmt.Fprintf(&b, `<error code="%s">`, e.Code)
	_ = xml.EscapeText(&b, []byte(e.Message))
	b.WriteString("</error></OAI-PMH>\n")
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(b.Bytes())
}

func (p *Provider) envelope(b *bytes.Buffer, r *http.Request, verb string) {
	b.WriteString(xml.Header)
	b.WriteString(`<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/ http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">`)
	fmt.Fprintf(b, "<responseDate>%s</responseDate>", p.now().Format(time.RFC3339))
	b.WriteString("<request")
	if verb != "" {
		keys := make([]string, 0, len(r.Form))
		for k := range r.Form {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(b, ` %s="%s"`, k, escapeAttr(r.Form.Get(k)))
		}
	}
	b.WriteString(">")
	_ = xml.EscapeText(b, []byte(p.Repo.Identify().BaseURL))
	b.WriteString("</request>")
}

func writeHeader(b *bytes.Buffer, h Header) {
	if h.Deleted {
		b.WriteString(`<header status="deleted">`)
	} else {
		b.WriteString("<header>")
	}
	b.WriteString("<identifier>")
	_ = xml.EscapeText(b, []byte(h.Identifier))
	b.WriteString("</identifier><datestamp>")
	_ = xml.EscapeText(b, []byte(h.Datestamp))
	b.WriteString("</datestamp>")
	for _, s := range h.SetSpecs {
		b.WriteString("<setSpec>")
		_ = xml.EscapeText(b, []byte(s))
		b.WriteString("</setSpec>")
	}
	b.WriteString("</header>")
}

func writeRecord(b *bytes.Buffer, r Record) {
	b.WriteString("<record>")
	writeHeader(b, r.Header)
	if !r.Header.Deleted && len(r.Metadata) > 0 {
		b.WriteString("<metadata>")
		b.Write(r.Metadata)
		b.WriteString("</metadata>")
	}
	b.WriteString("</record>")
}

func writeXML(b *bytes.Buffer, name string, v any) {
	out, err := xml.Marshal(v)
	if err != nil {
		return
	}
	// xml.Marshal names the element after the Go type; rename it.
	s := string(out)
	if i := strings.Index(s, ">"); i > 0 {
		if j := strings.LastIndex(s, "</"); j > i {
			s = "<" + name + s[i:j] + "</" + name + ">"
		}
	}
	b.WriteString(s)
}

// validDatestamp accepts the two granularities of the protocol.
func validDatestamp(s string) bool {
	_, ok := parseDatestamp(s, false)
	return ok
}

// parseDatestamp reads a datestamp of either granularity; a day read as
// the end of a window covers the whole day.
func parseDatestamp(s string, endOfDay bool) (time.Time, bool) {
	if t, err := time.Parse("2006-01-02T15:04:05Z", s); err == nil {
		return t, true
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, false
	}
	if endOfDay {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, true
}

// InWindow reports whether a datestamp lies within [from, until]; empty
// bounds are open.
func InWindow(datestamp, from, until string) bool {
	t, ok := parseDatestamp(datestamp, false)
	if !ok {
		return false
	}
	if f, ok := parseDatestamp(from, false); ok && t.Before(f) {
		return false
	}
	if u, ok := parseDatestamp(until, true); ok && t.After(u) {
		return false
	}
	return true
}
