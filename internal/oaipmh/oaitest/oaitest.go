// Package oaitest is an OAI-PMH provider for tests that misbehaves on
// request: rate limits with Retry-After, slow answers, truncated pages,
// forbidden characters, expiring and looping resumption tokens, endless
// empty pages, a broken record, day-only granularity, and records in
// several sets. Faults are keyed by the number of the list request
// (ListRecords and ListIdentifiers, counted from 1).
package oaitest

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
)

// Faults selects what goes wrong.
type Faults struct {
	PageSize int
	// DayGranularity makes the provider speak (and demand) YYYY-MM-DD.
	DayGranularity bool
	// DeletedRecord is what Identify says: no, transient or persistent.
	DeletedRecord string
	// Unavailable answers these list requests 503 with Retry-After.
	Unavailable []int
	RetryAfter  time.Duration
	// Slow delays these list requests.
	Slow      []int
	SlowDelay time.Duration
	// Truncate cuts these list responses in half.
	Truncate []int
	// BrokenRecord makes one record's metadata malformed in every list
	// response (an unclosed element); GetRecord serves it whole, unless
	// BrokenAlone.
	BrokenRecord string
	BrokenAlone  bool
	// MissingRecord is a record the lists name but GetRecord does not know
	// (idDoesNotExist), as a provider whose index lags behind answers.
	MissingRecord string
	// UnavailableRecord is a record GetRecord always answers 503 for.
	UnavailableRecord string
	// ControlChars puts forbidden characters into every title.
	ControlChars bool
	// ExpireTokenAfterPage refuses, once, the token issued with that page
	// (badResumptionToken).
	ExpireTokenAfterPage int
	// RepeatTokenAtPage hands out, with that page, the token of the page
	// before it: the list loops.
	RepeatTokenAtPage int
	// EmptyPagesForever answers every list request with an empty page and
	// a new token.
	EmptyPagesForever bool
}

// Provider serves Repo with Faults.
type Provider struct {
	Repo   *oaipmh.StaticRepository
	Faults Faults
	URL    string

	mu       sync.Mutex
	lists    int
	requests []string
	times    []time.Time
	expired  bool
	tokens   []string
	// inFlight and maxInFlight count requests being answered at once.
	inFlight, maxInFlight int
}

// MaxInFlight is the most requests the provider answered at once.
func (p *Provider) MaxInFlight() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.maxInFlight
}

// Record makes an oai_dc record with a PID, in the given sets.
func Record(i int, datestamp string, sets ...string) oaipmh.Record {
	return oaipmh.Record{
		Header: oaipmh.Header{Identifier: fmt.Sprintf("oai:test:%d", i), Datestamp: datestamp, SetSpecs: sets},
		Metadata: []byte(fmt.Sprintf(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">`+
			`<dc:title>Fragment %d over fietsen</dc:title><dc:identifier>rec%05d</dc:identifier><dc:type>video</dc:type>`+
			`<dc:date>2019-10-23</dc:date><dc:language>nl</dc:language></oai_dc:dc>`, i, i)),
	}
}

// Records makes n records numbered from 1, all in the given sets, with
// datestamps one minute apart from 2026-01-01T00:00:00Z.
func Records(n int, sets ...string) []oaipmh.Record {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	out := make([]oaipmh.Record, 0, n)
	for i := 1; i <= n; i++ {
		out = append(out, Record(i, start.Add(time.Duration(i)*time.Minute).Format("2006-01-02T15:04:05Z"), sets...))
	}
	return out
}

// New starts a provider on 127.0.0.1 for the test.
func New(t testing.TB, records []oaipmh.Record, f Faults) *Provider {
	t.Helper()
	gran := "YYYY-MM-DDThh:mm:ssZ"
	if f.DayGranularity {
		gran = "YYYY-MM-DD"
		for i := range records {
			records[i].Header.Datestamp = records[i].Header.Datestamp[:10]
		}
	}
	if f.DeletedRecord == "" {
		f.DeletedRecord = "persistent"
	}
	p := &Provider{Faults: f}
	sets := map[string]bool{}
	for _, r := range records {
		for _, s := range r.Header.SetSpecs {
			sets[s] = true
		}
	}
	p.Repo = &oaipmh.StaticRepository{
		Identity: oaipmh.Identity{RepositoryName: "fault provider", Granularity: gran, DeletedRecord: f.DeletedRecord, EarliestDatestamp: "2026-01-01"},
		Format:   oaipmh.MetadataFormat{Prefix: "oai_dc", Namespace: "http://www.openarchives.org/OAI/2.0/oai_dc/"},
		Records:  records,
	}
	for s := range sets {
		p.Repo.SetList = append(p.Repo.SetList, oaipmh.Set{Spec: s, Name: s})
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	p.Repo.Identity.BaseURL = srv.URL
	return p
}

// Requests returns the requests made so far, as "verb key=value ...".
func (p *Provider) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// CountRequests returns how many requests so far begin with prefix
// (as in Requests: "GetRecord ...", "ListRecords metadataPrefix=...").
func (p *Provider) CountRequests(prefix string) int {
	n := 0
	for _, r := range p.Requests() {
		if strings.HasPrefix(r, prefix) {
			n++
		}
	}
	return n
}

// Times returns when each request (as in Requests) came in.
func (p *Provider) Times() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.times...)
}

// Lists is the number of list requests answered or refused so far.
func (p *Provider) Lists() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lists
}

var tokenRe = regexp.MustCompile(`<resumptionToken([^>]*)>([^<]*)</resumptionToken>`)

func (p *Provider) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	verb := r.Form.Get("verb")
	p.mu.Lock()
	p.requests = append(p.requests, describe(r))
	p.times = append(p.times, time.Now())
	p.inFlight++
	p.maxInFlight = max(p.maxInFlight, p.inFlight)
	n := 0
	if verb == "ListRecords" || verb == "ListIdentifiers" {
		p.lists++
		n = p.lists
	}
	f := p.Faults
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inFlight--
		p.mu.Unlock()
	}()

	if verb == "GetRecord" {
		switch id := r.Form.Get("identifier"); {
		case id != "" && id == f.MissingRecord:
			p.serveError(w, r, oaipmh.IDDoesNotExist, "no record "+id)
			return
		case id != "" && id == f.UnavailableRecord:
			http.Error(w, "backend unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	if n > 0 {
		if in(f.Unavailable, n) {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Seconds())))
			http.Error(w, "rate limited", http.StatusServiceUnavailable)
			return
		}
		if in(f.Slow, n) {
			select {
			case <-time.After(f.SlowDelay):
			case <-r.Context().Done():
				return
			}
		}
		if f.DayGranularity {
			for _, k := range []string{"from", "until"} {
				if v := r.Form.Get(k); v != "" && len(v) != 10 {
					p.serveError(w, r, oaipmh.BadArgument, "this repository has day granularity: "+k+"="+v)
					return
				}
			}
		}
		if f.EmptyPagesForever {
			fmt.Fprintf(w, `<?xml version="1.0"?><OAI-PMH xmlns="%s"><responseDate>2026-11-01T00:00:00Z</responseDate><ListRecords><resumptionToken>empty-%d</resumptionToken></ListRecords></OAI-PMH>`, oaipmh.Namespace, n)
			return
		}
		if tok := r.Form.Get("resumptionToken"); tok != "" && f.ExpireTokenAfterPage > 0 {
			p.mu.Lock()
			expire := !p.expired && len(p.tokens) >= f.ExpireTokenAfterPage && p.tokens[f.ExpireTokenAfterPage-1] == tok
			if expire {
				p.expired = true
			}
			p.mu.Unlock()
			if expire {
				p.serveError(w, r, oaipmh.BadResumptionToken, "the resumption token has expired")
				return
			}
		}
	}

	rec := httptest.NewRecorder()
	(&oaipmh.Provider{Repo: p.Repo, PageSize: f.PageSize, Now: func() time.Time { return time.Now() }}).ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	if n > 0 {
		body = p.mangle(body, n, verb, f)
	} else if verb == "GetRecord" && f.BrokenAlone && r.Form.Get("identifier") == f.BrokenRecord {
		body = breakRecord(body, f.BrokenRecord)
	} else if verb == "GetRecord" && f.ControlChars {
		body = bytes.ReplaceAll(body, []byte("<dc:title>"), []byte("<dc:title>\x0b\x1f"))
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	_, _ = w.Write(body)
}

// mangle applies the faults that change a list response's body.
func (p *Provider) mangle(body []byte, n int, verb string, f Faults) []byte {
	if m := tokenRe.FindSubmatch(body); m != nil && len(m[2]) > 0 {
		p.mu.Lock()
		page := len(p.tokens) + 1
		tok := string(m[2])
		if f.RepeatTokenAtPage > 1 && page == f.RepeatTokenAtPage {
			tok = p.tokens[len(p.tokens)-1]
			body = tokenRe.ReplaceAll(body, []byte(`<resumptionToken$1>`+tok+`</resumptionToken>`))
		}
		p.tokens = append(p.tokens, tok)
		p.mu.Unlock()
	}
	if f.ControlChars {
		body = bytes.ReplaceAll(body, []byte("<dc:title>"), []byte("<dc:title>\x0b\x1f"))
	}
	if f.BrokenRecord != "" && verb == "ListRecords" {
		body = breakRecord(body, f.BrokenRecord)
	}
	if in(f.Truncate, n) {
		body = body[:len(body)/2]
	}
	return body
}

// breakRecord takes the end tag of a record's title away: the response is
// complete but not well-formed.
func breakRecord(body []byte, identifier string) []byte {
	if i := bytes.Index(body, []byte("<identifier>"+identifier+"</identifier>")); i >= 0 {
		if j := bytes.Index(body[i:], []byte("</dc:title>")); j >= 0 {
			body = append(body[:i+j:i+j], body[i+j+len("</dc:title>"):]...)
		}
	}
	return body
}

func (p *Provider) serveError(w http.ResponseWriter, r *http.Request, code, msg string) {
	fmt.Fprintf(w, `<?xml version="1.0"?><OAI-PMH xmlns="%s"><responseDate>%s</responseDate><request>%s</request><error code="%s">%s</error></OAI-PMH>`,
		oaipmh.Namespace, time.Now().UTC().Format(time.RFC3339), p.URL, code, msg)
}

func describe(r *http.Request) string {
	var parts []string
	parts = append(parts, r.Form.Get("verb"))
	for _, k := range []string{"metadataPrefix", "set", "from", "until", "resumptionToken", "identifier"} {
		if v := r.Form.Get(k); v != "" {
			parts = append(parts, k+"="+v)
		}
	}
	return strings.Join(parts, " ")
}

func in(list []int, n int) bool {
	for _, v := range list {
		if v == n {
			return true
		}
	}
	return false
}
