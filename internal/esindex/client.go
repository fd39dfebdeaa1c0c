// Package esindex manages avo's Elasticsearch indices: templates, versioned
// physical indices behind aliases, and bulk writes whose every item result
// is checked.
package esindex

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"go.opentelemetry.io/otel/attribute"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/archiefvooronderwijs/avo/schemas"
)

// NewClient builds a client that retries 429 and 5xx responses of whole
// requests with jittered exponential back-off.
func NewClient(c config.Elasticsearch) (*elasticsearch.Client, error) {
	tr := NewTransport()
	if c.CACert != "" {
		pem, err := os.ReadFile(c.CACert)
		if err != nil {
			return nil, fmt.Errorf("elasticsearch CA certificate: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("elasticsearch CA certificate %s: no certificate found", c.CACert)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cfg := elasticsearch.Config{
		Transport:     telemetry.TransportBy(tr, requestLatency, "elasticsearch", operation),
		Addresses:     c.URLs,
		Username:      c.Username,
		Password:      c.Password,
		APIKey:        c.APIKey,
		RetryOnStatus: []int{429, 502, 503, 504},
		// A node that refuses connections is down: asking again at once
		// only makes a search wait (the API answers 503 at once; a harvest
		// page is retried by Temporal).
		RetryOnError: func(_ *http.Request, err error) bool { return !Unreachable(err) },
		MaxRetries:   5,
		RetryBackoff: func(attempt int) time.Duration {
			d := time.Duration(100<<min(attempt, 6)) * time.Millisecond
			return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
		},
	}
	es, err := elasticsearch.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("elasticsearch client: %w", err)
	}
	return es, nil
}

// requestLatency times every request to Elasticsearch, by operation.
var requestLatency = telemetry.Histogram("avo.elasticsearch.request.duration",
	"Latency of requests to Elasticsearch, by operation (_bulk, _search, _mget, ...) and HTTP status")

// operation names a request by the API it calls: the first path segment
// that starts with an underscore (_bulk, _search, _doc), never an index or
// a document id.
func operation(r *http.Request) []attribute.KeyValue {
	op := "other"
	for seg := range strings.SplitSeq(strings.Trim(r.URL.Path, "/"), "/") {
		if strings.HasPrefix(seg, "_") {
			op = seg
			break
		}
	}
	if op == "other" && r.URL.Path == "/" {
		op = "info"
	}
	return []attribute.KeyValue{attribute.String("operation", op), attribute.String("method", r.Method)}
}

// Unreachable reports an error of a node that could not be reached at
// all: no connection (refused, no route, no such host).
func Unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// NewTransport is the HTTP transport of avo's Elasticsearch clients.
// Searches come many at a time (the search API): it keeps a connection
// per concurrent request instead of the two per host Go keeps, and asks
// for answers uncompressed.
func NewTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	// Answers are small and the cluster near: gzip would cost both sides
	// CPU (the cluster's most of all) to save little network time.
	tr.DisableCompression = true
	// The client adds a CA certificate to this configuration.
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	return tr
}

// Kinds of index avo keeps, each behind an alias PREFIX-KIND.
const (
	// Catalog holds every mapped record; editors search it.
	Catalog = "catalog"
	// Education holds what teachers may see: published, visible items.
	Education = "education"
)

// Kinds are all kinds of index.
var Kinds = []string{Catalog, Education}

// ValidKind reports whether kind names an index kind.
func ValidKind(kind string) bool { return kind == Catalog || kind == Education }

// Indices names and manages avo's indices on one cluster.
type Indices struct {
	ES     *elasticsearch.Client
	Prefix string
}

// Alias is the name clients read and write through.
func (ix Indices) Alias(kind string) string { return ix.Prefix + "-" + kind }

// Body returns the settings and mappings of an index kind from schemas/.
func Body(kind string) (map[string]any, error) {
	if !ValidKind(kind) {
		return nil, fmt.Errorf("no index kind %q (kinds: catalog, education)", kind)
	}
	b, err := schemas.Elasticsearch.ReadFile("elasticsearch/items.json")
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("schemas/elasticsearch/items.json: %w", err)
	}
	return body, nil
}

// Setup installs the index template of each kind and makes sure its alias
// points at an index, creating PREFIX-KIND-TIMESTAMP when it does not. On
// an existing index it applies the template's mappings, which succeeds for
// added fields and fails with Elasticsearch's reason for incompatible ones.
func (ix Indices) Setup(ctx context.Context, kinds ...string) error {
	for _, kind := range kinds {
		body, err := Body(kind)
		if err != nil {
			return err
		}
		alias := ix.Alias(kind)
		if kind == Education {
			if err := ix.setupGone(ctx, body); err != nil {
				return err
			}
		}
		tmpl := map[string]any{
			"index_patterns": []string{alias + "-*"},
			"priority":       200,
			"template":       body,
			"_meta":          map[string]any{"managed_by": "avo"},
		}
		if err := ix.do(ctx, http.MethodPut, "/_index_template/"+alias, tmpl, nil); err != nil {
			return fmt.Errorf("install index template %s: %w", alias, err)
		}
		exists, err := ix.aliasExists(ctx, alias)
		if err != nil {
			return err
		}
		if !exists {
			if _, err := ix.CreateIndex(ctx, kind, true); err != nil {
				return err
			}
			continue
		}
		if err := ix.do(ctx, http.MethodPut, "/"+alias+"/_mapping", body["mappings"], nil); err != nil {
			return fmt.Errorf("update mappings of %s (an incompatible change needs a rebuild): %w", alias, err)
		}
	}
	return nil
}

// CreateIndex creates a new physical index for kind, named after the current
// time, optionally pointing the alias at it.
func (ix Indices) CreateIndex(ctx context.Context, kind string, withAlias bool) (string, error) {
	alias := ix.Alias(kind)
	name := ix.newName(kind)
	body := map[string]any{}
	if withAlias {
		body["aliases"] = map[string]any{alias: map[string]any{"is_write_index": true}}
	}
	if err := ix.do(ctx, http.MethodPut, "/"+name, body, nil); err != nil {
		return "", fmt.Errorf("create index %s: %w", name, err)
	}
	return name, nil
}

// Missing returns the aliases of kinds that do not exist.
func (ix Indices) Missing(ctx context.Context, kinds ...string) ([]string, error) {
	var missing []string
	for _, k := range kinds {
		ok, err := ix.aliasExists(ctx, ix.Alias(k))
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, ix.Alias(k))
		}
	}
	return missing, nil
}

func (ix Indices) aliasExists(ctx context.Context, alias string) (bool, error) {
	res, err := ix.ES.Indices.ExistsAlias([]string{alias}, ix.ES.Indices.ExistsAlias.WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("check alias %s: %w", alias, err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, fmt.Errorf("check alias %s: %s", alias, res.Status())
}

// Refresh makes recent writes to kind visible to search.
func (ix Indices) Refresh(ctx context.Context, kind string) error {
	return ix.do(ctx, http.MethodPost, "/"+ix.Alias(kind)+"/_refresh", nil, nil)
}

// Count returns the number of documents behind the alias of kind.
func (ix Indices) Count(ctx context.Context, kind string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	err := ix.do(ctx, http.MethodGet, "/"+ix.Alias(kind)+"/_count", nil, &out)
	return out.Count, err
}

// do sends one request of the indices' client; see Do.
func (ix Indices) do(ctx context.Context, method, path string, body, out any) error {
	return Do(ctx, ix.ES, method, path, body, out)
}

// Do sends one request with a JSON body and decodes a JSON answer into out;
// a status >= 300 is an *Error carrying Elasticsearch's reason.
func Do(ctx context.Context, es *elasticsearch.Client, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := es.Perform(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return &Error{Status: res.StatusCode, Reason: reason(b)}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Error is a failed Elasticsearch request.
type Error struct {
	Status int
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("elasticsearch: HTTP %d: %s", e.Status, e.Reason) }

// IsStatus reports whether err is an Elasticsearch error with that status.
func IsStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}

// reason extracts error.type and error.reason from an error body.
func reason(body []byte) string {
	var e struct {
		Error struct {
			Type     string `json:"type"`
			Reason   string `json:"reason"`
			CausedBy *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"caused_by"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Type == "" {
		s := strings.TrimSpace(string(body))
		if len(s) > 300 {
			s = s[:300] + "…"
		}
		return s
	}
	r := e.Error.Type + ": " + e.Error.Reason
	if c := e.Error.CausedBy; c != nil {
		r += " (caused by " + c.Type + ": " + c.Reason + ")"
	}
	return r
}
