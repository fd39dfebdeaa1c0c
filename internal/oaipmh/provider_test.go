package oaipmh

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func testRepo(n int) *StaticRepository {
	repo := &StaticRepository{
		Identity: Identity{RepositoryName: "test", BaseURL: "http://127.0.0.1/oai", Granularity: "YYYY-MM-DDThh:mm:ssZ", DeletedRecord: "persistent", EarliestDatestamp: "2026-01-01T00:00:00Z"},
		Format:   MetadataFormat{Prefix: "oai_dc", Namespace: "http://www.openarchives.org/OAI/2.0/oai_dc/"},
		SetList:  []Set{{Spec: "even", Name: "Even"}, {Spec: "odd", Name: "Odd"}},
	}
	for i := 1; i <= n; i++ {
		set := "odd"
		if i%2 == 0 {
			set = "even"
		}
		repo.Records = append(repo.Records, Record{
			Header:   Header{Identifier: fmt.Sprintf("oai:t:%d", i), Datestamp: fmt.Sprintf("2026-01-%02dT12:00:00Z", i), SetSpecs: []string{set}},
			Metadata: []byte(fmt.Sprintf(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Record %d</dc:title></oai_dc:dc>`, i)),
		})
	}
	return repo
}

func serve(t *testing.T, repo Repository, pageSize int) *Client {
	t.Helper()
	srv := httptest.NewServer(&Provider{Repo: repo, PageSize: pageSize})
	t.Cleanup(srv.Close)
	return &Client{BaseURL: srv.URL, HTTP: NewHTTPClient(2*time.Second, 5*time.Second), UserAgent: "avo-test"}
}

// harvestAll pages through a list with the client, as the harvester does.
func harvestAll(t *testing.T, c *Client, args ListArgs) []Record {
	t.Helper()
	var out []Record
	for page := 0; page < 100; page++ {
		p, _, err := c.ListRecords(context.Background(), args)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Records...)
		if p.Token.Value == "" {
			return out
		}
		args = ListArgs{Token: p.Token.Value}
	}
	t.Fatal("more than 100 pages")
	return nil
}

func TestProviderPagesThroughAll(t *testing.T) {
	c := serve(t, testRepo(10), 3)
	recs := harvestAll(t, c, ListArgs{MetadataPrefix: "oai_dc"})
	if len(recs) != 10 {
		t.Fatalf("harvested %d records, want 10", len(recs))
	}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.Header.Identifier] {
			t.Errorf("%s twice", r.Header.Identifier)
		}
		seen[r.Header.Identifier] = true
	}
}

func TestProviderSelectiveHarvest(t *testing.T) {
	c := serve(t, testRepo(10), 4)
	cases := []struct {
		args ListArgs
		want int
	}{
		{ListArgs{MetadataPrefix: "oai_dc", Set: "even"}, 5},
		{ListArgs{MetadataPrefix: "oai_dc", From: "2026-01-03T12:00:00Z"}, 8},
		{ListArgs{MetadataPrefix: "oai_dc", Until: "2026-01-03"}, 3}, // a day-granularity until covers that day
		{ListArgs{MetadataPrefix: "oai_dc", From: "2026-01-02T00:00:00Z", Until: "2026-01-04T00:00:00Z", Set: "odd"}, 1},
	}
	for _, cs := range cases {
		if got := len(harvestAll(t, c, cs.args)); got != cs.want {
			t.Errorf("%+v: %d records, want %d", cs.args, got, cs.want)
		}
	}
}

func TestProviderErrors(t *testing.T) {
	c := serve(t, testRepo(3), 10)
	ctx := context.Background()
	cases := []struct {
		params url.Values
		code   string
	}{
		{url.Values{"verb": {"Nonsense"}}, BadVerb},
		{url.Values{"verb": {"ListRecords"}}, BadArgument},
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"lido"}}, CannotDisseminateFormat},
		{url.Values{"verb": {"ListRecords"}, "resumptionToken": {"garbage!"}}, BadResumptionToken},
		// A well-formed token whose position the repository never gave.
		{url.Values{"verb": {"ListRecords"}, "resumptionToken": {"eyJwIjoib2FpX2RjIiwiYSI6Im5vdC1hbi1vZmZzZXQifQ"}}, BadResumptionToken},
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"oai_dc"}, "from": {"2030-01-01"}}, NoRecordsMatch},
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"oai_dc"}, "from": {"yesterday"}}, BadArgument},
		// The protocol (3.3.1): from and until of different granularities, or a window that ends before it begins.
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"oai_dc"}, "from": {"2026-01-02"}, "until": {"2026-01-04T00:00:00Z"}}, BadArgument},
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"oai_dc"}, "from": {"2026-01-04"}, "until": {"2026-01-02"}}, BadArgument},
		{url.Values{"verb": {"GetRecord"}, "metadataPrefix": {"oai_dc"}, "identifier": {"oai:t:99"}}, IDDoesNotExist},
	}
	for _, cs := range cases {
		body, err := c.Get(ctx, cs.params)
		if err != nil {
			t.Fatal(err)
		}
		_, err = ParseList(body)
		var oe *Error
		if cs.code == NoRecordsMatch {
			if err != nil {
				t.Errorf("%v: %v", cs.params, err)
			}
			continue
		}
		if !errors.As(err, &oe) || oe.Code != cs.code {
			t.Errorf("%v: got %v, want code %s", cs.params, err, cs.code)
		}
	}
	id, err := c.Identify(ctx)
	if err != nil || id.Granularity != "YYYY-MM-DDThh:mm:ssZ" {
		t.Errorf("Identify: %+v, %v", id, err)
	}
}

// Each page's token says where the page starts (cursor) and how long the
// list is; the last page's token is empty.
func TestProviderTokenCursor(t *testing.T) {
	c := serve(t, testRepo(10), 4)
	ctx := context.Background()
	args := ListArgs{MetadataPrefix: "oai_dc"}
	var cursors []int
	for range 5 {
		p, _, err := c.ListRecords(ctx, args)
		if err != nil {
			t.Fatal(err)
		}
		if p.Token.CompleteListSize != 10 {
			t.Errorf("completeListSize %d, want 10", p.Token.CompleteListSize)
		}
		cursors = append(cursors, p.Token.Cursor)
		if p.Token.Value == "" {
			break
		}
		args = ListArgs{Token: p.Token.Value}
	}
	if fmt.Sprint(cursors) != "[0 4 8]" {
		t.Errorf("cursors %v, want [0 4 8]", cursors)
	}
}

// failingRepo is a repository whose storage is down.
type failingRepo struct{ *StaticRepository }

func (failingRepo) List(context.Context, ListQuery) (ListPage, error) {
	return ListPage{}, errors.New("index unreachable")
}

// A repository that cannot answer makes a 503 the harvester retries, never
// an empty list.
func TestProviderRepositoryFailure(t *testing.T) {
	srv := httptest.NewServer(&Provider{Repo: failingRepo{testRepo(3)}})
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "?verb=ListRecords&metadataPrefix=oai_dc")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestClientHTTPErrors(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, "busy")
	}))
	defer srv.Close()
	c := &Client{BaseURL: srv.URL}
	_, _, err := c.ListRecords(context.Background(), ListArgs{MetadataPrefix: "oai_dc"})
	var he *HTTPError
	if !errors.As(err, &he) || he.Status != 503 || he.RetryAfter != 7*time.Second || he.Permanent() {
		t.Fatalf("503: %#v", err)
	}
	status = http.StatusNotFound
	_, _, err = c.ListRecords(context.Background(), ListArgs{MetadataPrefix: "oai_dc"})
	if !errors.As(err, &he) || !he.Permanent() {
		t.Fatalf("404 should be permanent: %v", err)
	}
	status = http.StatusTooManyRequests
	_, _, err = c.ListRecords(context.Background(), ListArgs{MetadataPrefix: "oai_dc"})
	if !errors.As(err, &he) || he.Permanent() {
		t.Fatalf("429 should be retried: %v", err)
	}
}

func TestRetryAfterDate(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	if d := retryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); d != 90*time.Second {
		t.Errorf("HTTP-date Retry-After = %s", d)
	}
	if d := retryAfter("soon", now); d != 0 {
		t.Errorf("unreadable Retry-After = %s", d)
	}
}

// A token carries its expiry and says it; once expired it is refused. A
// snapshot list is bounded at its first request.
func TestProviderTokenExpiry(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(&Provider{Repo: testRepo(10), PageSize: 4, TokenTTL: time.Hour, Snapshot: true, Now: func() time.Time { return now }})
	t.Cleanup(srv.Close)
	c := &Client{BaseURL: srv.URL, HTTP: NewHTTPClient(2*time.Second, 5*time.Second), UserAgent: "avo-test"}
	p, _, err := c.ListRecords(context.Background(), ListArgs{MetadataPrefix: "oai_dc"})
	if err != nil {
		t.Fatal(err)
	}
	tok := p.Token
	if tok.ExpirationDate != "2026-03-01T13:00:00Z" || tok.Value == "" {
		t.Fatalf("first token: %+v", tok)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok.Value)
	var st listState
	if err := json.Unmarshal(raw, &st); err != nil || st.Until != "2026-03-01T11:59:59Z" {
		t.Errorf("the snapshot's until: %+v %v", st, err)
	}
	now = now.Add(2 * time.Hour)
	_, _, err = c.ListRecords(context.Background(), ListArgs{Token: tok.Value})
	var oe *Error
	if !errors.As(err, &oe) || oe.Code != BadResumptionToken || !strings.Contains(oe.Message, "expired") {
		t.Errorf("an expired token: %v", err)
	}
}
