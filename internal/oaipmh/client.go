package oaipmh

import (
	"context"
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

// ListRecords fetches one page. It returns the raw body too, which the
// harvester stores as it came.
func (c *Client) ListRecords(ctx context.Context, a ListArgs) (*Page, []byte, error) {
	body, err := c.Get(ctx, a.values("ListRecords"))
	if err != nil {
		return nil, nil, err
	}
	page, err := ParseList(body)
	return page, body, err
}

// ListIdentifiers fetches one page of headers.
func (c *Client) ListIdentifiers(ctx context.Context, a ListArgs) (*Page, error) {
	body, err := c.Get(ctx, a.values("ListIdentifiers"))
	if err != nil {
		return nil, err
	}
	return ParseList(body)
}

// Identify asks the provider about itself.
func (c *Client) Identify(ctx context.Context) (*Identity, error) {
	body, err := c.Get(ctx, url.Values{"verb": {"Identify"}})
	if err != nil {
		return nil, err
	}
	return ParseIdentify(body)
}

// Get sends one request and returns the body of a 200 response; any other
// status is an *HTTPError carrying the provider's Retry-After.
func (c *Client) Get(ctx context.Context, params url.Values) ([]byte, error) {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", c.BaseURL, err)
	}
	q := u.Query()
	for k, vs := range params {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
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
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading the response: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &HTTPError{
			URL: u.Redacted(), Status: resp.StatusCode,
			RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now()),
			Body:       snippet(body),
		}
	}
	if len(body) > MaxResponseBytes {
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", u.Redacted(), MaxResponseBytes)
	}
	return body, nil
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
