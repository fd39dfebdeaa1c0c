package oaipmh

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
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

// Repository is what a Provider serves: a page of a list at a time, so
// that a repository of any size is served in bounded memory, each call
// with the request's context.
type Repository interface {
	Identify(ctx context.Context) (Identity, error)
	Formats(ctx context.Context) ([]MetadataFormat, error)
	Sets(ctx context.Context) ([]Set, error)
	// List returns, in a stable order, up to q.Limit records of a format
	// (and set) whose datestamps fall in [From, Until] (both inclusive,
	// empty when open), starting after q.After.
	List(ctx context.Context, q ListQuery) (ListPage, error)
	// Get returns one record; ok is false when the repository has none
	// with the identifier.
	Get(ctx context.Context, prefix, identifier string) (rec Record, ok bool, err error)
}

// ErrBadPosition is what List returns for an After it did not hand out:
// the client's resumption token is refused.
var ErrBadPosition = errors.New("not a position of this list")

// ListQuery selects a page of a list.
type ListQuery struct {
	Prefix string `json:"p"`
	Set    string `json:"s,omitempty"`
	From   string `json:"f,omitempty"`
	Until  string `json:"u,omitempty"`
	// After is where the page starts: "" for the first page, else the
	// previous page's Next. It is the repository's own position (a key,
	// not an offset), so records that change while a client pages are
	// neither skipped nor repeated.
	After string `json:"a,omitempty"`
	Limit int    `json:"-"`
}

// ListPage is one page of a list, as a repository gives it.
type ListPage struct {
	Records []Record
	// Next is the position after the last record; "" when the list ends.
	Next string
	// Total is the size of the whole list, -1 when the repository cannot
	// tell cheaply.
	Total int
}

// Provider serves a Repository over OAI-PMH 2.0.
type Provider struct {
	Repo     Repository
	PageSize int
	Now      func() time.Time
	// TokenTTL, when set, bounds how long a resumption token is good:
	// tokens carry their expiry (and say it in expirationDate); an
	// expired one is refused as badResumptionToken.
	TokenTTL time.Duration
	// Snapshot bounds a list started without until at the moment of its
	// first request: a record that changes while a client pages moves
	// past the list's end and comes with the next incremental harvest
	// (from that responseDate), never twice in one list.
	Snapshot bool
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
		formats, err := p.Repo.Formats(r.Context())
		if err != nil {
			p.unavailable(w, err)
			return
		}
		p.respond(w, r, "ListMetadataFormats", func(b *bytes.Buffer) {
			for _, f := range formats {
				writeXML(b, "metadataFormat", f)
			}
		})
	case "ListSets":
		sets, err := p.Repo.Sets(r.Context())
		if err != nil {
			p.unavailable(w, err)
			return
		}
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
	id, err := p.Repo.Identify(r.Context())
	if err != nil {
		p.unavailable(w, err)
		return
	}
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

// listState is what a resumption token carries: the request, where the
// next page starts, and how many records came before it (the cursor).
type listState struct {
	ListQuery
	Cursor int `json:"c,omitempty"`
	// Expires is when the token stops being good (unix seconds; 0 never).
	Expires int64 `json:"e,omitempty"`
}

func (p *Provider) list(w http.ResponseWriter, r *http.Request, verb string, args url.Values) {
	ctx := r.Context()
	var st listState
	if tok := args.Get("resumptionToken"); tok != "" {
		if len(args) != 2 {
			p.fail(w, r, &Error{Code: BadArgument, Message: "resumptionToken is an exclusive argument"})
			return
		}
		b, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil || json.Unmarshal(b, &st) != nil || st.After == "" {
			p.fail(w, r, &Error{Code: BadResumptionToken, Message: "unknown resumption token"})
			return
		}
		if st.Expires > 0 && p.now().Unix() > st.Expires {
			p.fail(w, r, &Error{Code: BadResumptionToken, Message: "the resumption token expired at " + time.Unix(st.Expires, 0).UTC().Format(time.RFC3339) + ": start the list again"})
			return
		}
	} else {
		st.ListQuery = ListQuery{Prefix: args.Get("metadataPrefix"), Set: args.Get("set"), From: args.Get("from"), Until: args.Get("until")}
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
		if st.From != "" && st.Until != "" && len(st.From) != len(st.Until) {
			p.fail(w, r, &Error{Code: BadArgument, Message: "from and until have different granularities"})
			return
		}
		if f, ok := parseDatestamp(st.From, false); ok && st.Until != "" {
			if u, _ := parseDatestamp(st.Until, true); u.Before(f) {
				p.fail(w, r, &Error{Code: BadArgument, Message: "until is before from"})
				return
			}
		}
		if p.Snapshot && st.Until == "" {
			// The last whole second before this response's date: what
			// changes from that date on is for the next harvest, which
			// starts from it.
			st.Until = p.now().Truncate(time.Second).Add(-time.Second).Format("2006-01-02T15:04:05Z")
		}
		ok, err := p.offers(ctx, st.Prefix)
		if err != nil {
			p.unavailable(w, err)
			return
		}
		if !ok {
			p.fail(w, r, &Error{Code: CannotDisseminateFormat, Message: "format " + st.Prefix + " is not offered"})
			return
		}
		if st.Set != "" {
			sets, err := p.Repo.Sets(ctx)
			if err != nil {
				p.unavailable(w, err)
				return
			}
			if len(sets) == 0 {
				p.fail(w, r, &Error{Code: NoSetHierarchy, Message: "this repository has no sets"})
				return
			}
		}
	}
	q := st.ListQuery
	q.Limit = p.PageSize
	if q.Limit <= 0 {
		q.Limit = 100
	}
	page, err := p.Repo.List(ctx, q)
	if errors.Is(err, ErrBadPosition) {
		p.fail(w, r, &Error{Code: BadResumptionToken, Message: "unknown resumption token"})
		return
	}
	if err != nil {
		p.unavailable(w, err)
		return
	}
	if len(page.Records) == 0 {
		// A list whose remaining records changed since its token was
		// given (and left its window) has none left: the token was good.
		msg := "no records match"
		if st.After != "" {
			msg = "no records are left in this list"
		}
		p.fail(w, r, &Error{Code: NoRecordsMatch, Message: msg})
		return
	}
	p.respond(w, r, verb, func(b *bytes.Buffer) {
		for _, it := range page.Records {
			if verb == "ListIdentifiers" {
				writeHeader(b, it.Header)
			} else {
				writeRecord(b, it)
			}
		}
		if page.Next == "" && st.After == "" {
			return // the whole list in one response
		}
		next, expires := "", ""
		if page.Next != "" {
			n := st
			n.After, n.Cursor = page.Next, st.Cursor+len(page.Records)
			if p.TokenTTL > 0 {
				exp := p.now().Add(p.TokenTTL).Truncate(time.Second)
				n.Expires = exp.Unix()
				expires = ` expirationDate="` + exp.Format("2006-01-02T15:04:05Z") + `"`
			}
			js, _ := json.Marshal(n)
			next = base64.RawURLEncoding.EncodeToString(js)
		}
		size := ""
		if page.Total >= 0 {
			size = fmt.Sprintf(` completeListSize="%d"`, page.Total)
		}
		fmt.Fprintf(b, `<resumptionToken%s%s cursor="%d">%s</resumptionToken>`, expires, size, st.Cursor, next)
	})
}

func (p *Provider) getRecord(w http.ResponseWriter, r *http.Request, args url.Values) {
	id, prefix := args.Get("identifier"), args.Get("metadataPrefix")
	if id == "" || prefix == "" {
		p.fail(w, r, &Error{Code: BadArgument, Message: "identifier and metadataPrefix are required"})
		return
	}
	ok, err := p.offers(r.Context(), prefix)
	if err != nil {
		p.unavailable(w, err)
		return
	}
	if !ok {
		p.fail(w, r, &Error{Code: CannotDisseminateFormat, Message: "format " + prefix + " is not offered"})
		return
	}
	rec, found, err := p.Repo.Get(r.Context(), prefix, id)
	if err != nil {
		p.unavailable(w, err)
		return
	}
	if !found {
		p.fail(w, r, &Error{Code: IDDoesNotExist, Message: "no record " + id})
		return
	}
	p.respond(w, r, "GetRecord", func(b *bytes.Buffer) { writeRecord(b, rec) })
}

// unavailable answers a request the repository could not serve: a 503
// that harvesters retry, with the reason.
func (p *Provider) unavailable(w http.ResponseWriter, err error) {
	w.Header().Set("Retry-After", "10")
	http.Error(w, "repository unavailable: "+err.Error(), http.StatusServiceUnavailable)
}

func (p *Provider) offers(ctx context.Context, prefix string) (bool, error) {
	formats, err := p.Repo.Formats(ctx)
	if err != nil {
		return false, err
	}
	for _, f := range formats {
		if f.Prefix == prefix {
			return true, nil
		}
	}
	return false, nil
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
	fmt.Fprintf(b, "<responseDate>%s</responseDate>", p.now().Truncate(time.Second).Format(time.RFC3339))
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
	id, _ := p.Repo.Identify(r.Context()) // without it, the request element names no URL
	_ = xml.EscapeText(b, []byte(id.BaseURL))
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
