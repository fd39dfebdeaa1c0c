package oaipmh

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// MaxResponseBytes bounds one response; a larger one is an error, not an
// out-of-memory worker.
const MaxResponseBytes = 256 << 20

// Client harvests one provider. It makes one request per call and never
// retries: retries belong to the caller's policy (Temporal's, for avo).
type Client struct {
	BaseURL   string
	HTTP      *http.Client
	UserAgent string
	// Header is added to every request (an Authorization header, say).
	Header http.Header
}

// NewHTTPClient returns an HTTP client with explicit connect and read
// timeouts, for one provider.
func NewHTTPClient(connect, read time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}
	return &http.Client{
		Timeout: read,
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   connect,
			ResponseHeaderTimeout: read,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// ListArgs select the records of a ListRecords or ListIdentifiers request.
// With a Token, the other arguments are not sent (the protocol forbids it).
type ListArgs struct {
	MetadataPrefix string
	Set            string
	From           string
	Until          string
	Token          string
}

func (a ListArgs) values(verb string) url.Values {
	v := url.Values{"verb": {verb}}
	if a.Token != "" {
		v.Set("resumptionToken", a.Token)
		return v
	}
	v.Set("metadataPrefix", a.MetadataPrefix)
	if a.Set != "" {
		v.Set("set", a.Set)
	}
	if a.From != "" {
		v.Set("from", a.From)
	}
	if a.Until != "" {
		v.Set("until", a.Until)
	}
	return v
}

// ListRecords fetches one page into memory; harvesting uses List.
func (c *Client) ListRecords(ctx context.Context, a ListArgs) (*Page, []byte, error) {
	var raw bytes.Buffer
	page := &Page{}
	info, _, err := c.List(ctx, "ListRecords", a, &raw, func(r Record) error {
		page.Records = append(page.Records, r)
		return nil
	})
	if err != nil {
		return nil, raw.Bytes(), err
	}
	page.ResponseDate, page.Token = info.ResponseDate, info.Token
	return page, raw.Bytes(), nil
}

// List fetches one page of ListRecords or ListIdentifiers and parses it as
// it arrives: the bytes, as received, are copied to raw (when not nil) and
// each record goes to fn before the next is read.
func (c *Client) List(ctx context.Context, verb string, a ListArgs, raw io.Writer, fn func(Record) error) (*PageInfo, Repairs, error) {
	var info *PageInfo
	var rep Repairs
	err := c.do(ctx, a.values(verb), func(body io.Reader) error {
		if raw != nil {
			body = io.TeeReader(body, raw)
		}
		var err error
		info, rep, err = Read(body, fn)
		if raw != nil && errors.Is(err, ErrMalformedResponse) {
			// The parser stopped where the page broke; raw keeps the whole
			// response, for salvage and for whoever looks into it.
			_, _ = io.Copy(io.Discard, body)
		}
		return err
	})
	return info, rep, err
}

// ListIdentifiers fetches one page of headers.
func (c *Client) ListIdentifiers(ctx context.Context, a ListArgs) (*Page, error) {
	body, err := c.Get(ctx, a.values("ListIdentifiers"))
	if err != nil {
		return nil, err
	}
	return ParseList(body)
}

// GetRecord fetches one record.
func (c *Client) GetRecord(ctx context.Context, identifier, prefix string) (Record, error) {
	body, err := c.Get(ctx, url.Values{"verb": {"GetRecord"}, "identifier": {identifier}, "metadataPrefix": {prefix}})
	if err != nil {
		return Record{}, err
	}
	page, err := ParseList(body)
	if err != nil {
		return Record{}, err
	}
	if len(page.Records) != 1 {
		return Record{}, fmt.Errorf("%w: GetRecord %s returned %d records", ErrMalformedResponse, identifier, len(page.Records))
	}
	return page.Records[0], nil
}

// Identify asks the provider about itself.
func (c *Client) Identify(ctx context.Context) (*Identity, error) {
	body, err := c.Get(ctx, url.Values{"verb": {"Identify"}})
	if err != nil {
		return nil, err
	}
	return ParseIdentify(body)
}

// ListMetadataFormats lists the formats the provider disseminates.
func (c *Client) ListMetadataFormats(ctx context.Context) ([]MetadataFormat, error) {
	var doc struct {
		Errors  []Error          `xml:"error"`
		Formats []MetadataFormat `xml:"ListMetadataFormats>metadataFormat"`
	}
	if err := c.getXML(ctx, url.Values{"verb": {"ListMetadataFormats"}}, &doc); err != nil {
		return nil, err
	}
	if len(doc.Errors) > 0 {
		return nil, &doc.Errors[0]
	}
	return doc.Formats, nil
}

// ListSets lists the provider's sets, following resumption tokens (at most
// 1,000 pages). A provider without sets answers noSetHierarchy: no sets.
func (c *Client) ListSets(ctx context.Context) ([]Set, error) {
	var sets []Set
	params := url.Values{"verb": {"ListSets"}}
	for range 1000 {
		var doc struct {
			Errors []Error `xml:"error"`
			Sets   []Set   `xml:"ListSets>set"`
			Token  string  `xml:"ListSets>resumptionToken"`
		}
		if err := c.getXML(ctx, params, &doc); err != nil {
			return nil, err
		}
		if len(doc.Errors) > 0 {
			if doc.Errors[0].Code == NoSetHierarchy {
				return nil, nil
			}
			return nil, &doc.Errors[0]
		}
		sets = append(sets, doc.Sets...)
		if strings.TrimSpace(doc.Token) == "" {
			return sets, nil
		}
		params = url.Values{"verb": {"ListSets"}, "resumptionToken": {strings.TrimSpace(doc.Token)}}
	}
	return nil, fmt.Errorf("ListSets: more than 1,000 pages")
}

func (c *Client) getXML(ctx context.Context, params url.Values, v any) error {
	body, err := c.Get(ctx, params)
	if err != nil {
		return err
	}
	fixed, _, err := Repair(bytes.NewReader(body))
	if err != nil {
		return err
	}
	dec := xml.NewDecoder(fixed)
	dec.CharsetReader = passCharset
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformedResponse, err)
	}
	return nil
}

// Get sends one request and returns the body of a 200 response; any other
// status is an *HTTPError carrying the provider's Retry-After.
func (c *Client) Get(ctx context.Context, params url.Values) ([]byte, error) {
	var out []byte
	err := c.do(ctx, params, func(body io.Reader) error {
		var err error
		out, err = io.ReadAll(body)
		return err
	})
	return out, err
}

// do sends one request and hands the body of a 200 response to read,
// limited to MaxResponseBytes.
func (c *Client) do(ctx context.Context, params url.Values, read func(io.Reader) error) error {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return fmt.Errorf("base URL %q: %w", c.BaseURL, err)
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	for k, vs := range c.Header {
		req.Header[k] = vs
	}
	if c.UserAgent != "" {
		req.Header.Set("User-Agent", c.UserAgent)
	}
	httpClient := c.HTTP
	if httpClient == nil {
		httpClient = NewHTTPClient(10*time.Second, 60*time.Second)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return &HTTPError{
			URL: u.Redacted(), Status: resp.StatusCode,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Body:       snippet(b),
		}
	}
	lr := &limitedReader{r: resp.Body, n: MaxResponseBytes}
	if err := read(lr); err != nil {
		if lr.over {
			return fmt.Errorf("GET %s: response larger than %d bytes", u.Redacted(), MaxResponseBytes)
		}
		var oe *Error
		if errors.As(err, &oe) {
			return err
		}
		return fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	return nil
}

// limitedReader fails (rather than ends) past n bytes, so an oversized
// response is an error and not a silently truncated page.
type limitedReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.over = true
		return 0, errors.New("response too large")
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
