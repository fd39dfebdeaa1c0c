package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/demo"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// refusingES is a proxy in front of the test node that answers the first
// n bulk requests holding a delete with every item refused (429), as a
// node under pressure does, and passes everything else on.
func refusingES(t testing.TB, n int) (wrap func(string) string, refused *atomic.Int32) {
	refused = new(atomic.Int32)
	var mu sync.Mutex
	return func(target string) string {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.HasSuffix(r.URL.Path, "/_bulk") {
				proxy.ServeHTTP(w, r)
				return
			}
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			refuse := bytes.Contains(body, []byte(`{"delete":`)) && refused.Load() < int32(n)
			if refuse {
				refused.Add(1)
			}
			mu.Unlock()
			if !refuse {
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
				proxy.ServeHTTP(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("X-Elastic-Product", "Elasticsearch")
			_ = json.NewEncoder(w).Encode(map[string]any{"took": 1, "errors": true, "items": refusedItems(body)})
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}, refused
}

// refusedItems answers each action of a bulk body with a 429.
func refusedItems(body []byte) []any {
	var items []any
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var line map[string]map[string]any
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		for action, meta := range line {
			if action != "index" && action != "delete" && action != "create" && action != "update" {
				continue // a document line
			}
			items = append(items, map[string]any{action: map[string]any{
				"_index": meta["_index"], "_id": meta["_id"], "status": 429,
				"error": map[string]any{"type": "es_rejected_execution_exception", "reason": "rejected execution of coordinating operation"},
			}})
			if action == "index" || action == "create" || action == "update" {
				sc.Scan() // its document
			}
		}
	}
	return items
}

// deletionSource serves the demo records and returns a function that
// marks one of them deleted at the provider.
func deletionSource(t testing.TB, id string) (sources.Source, func(identifier string)) {
	t.Helper()
	repo, err := demo.Repository("http://127.0.0.1/oai")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&oaipmh.Provider{Repo: repo, PageSize: 5})
	t.Cleanup(srv.Close)
	src := sources.Source{ID: id, Kind: sources.KindOAIPMH, Mapping: "oai_dc", OAI: &sources.OAI{URL: srv.URL, MetadataPrefix: "oai_dc"}}
	return src, func(identifier string) {
		for i, r := range repo.Records {
			if r.Header.Identifier == identifier {
				repo.Records[i].Header.Deleted = true
				repo.Records[i].Header.Datestamp = "2026-10-01T00:00:00Z"
				repo.Records[i].Metadata = nil
				return
			}
		}
		t.Fatalf("no record %s", identifier)
	}
}

// gone checks that a deleted record left S3 and both indices.
func (f *fixture) gone(t testing.TB, source, pid string) {
	t.Helper()
	for _, kind := range esindex.Kinds {
		if err := f.clients.Indices.Refresh(f.ctx, kind); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := f.clients.Indices.IDsOf(f.ctx, source, []string{"oai:demo.archief.local:" + pid})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) > 0 {
		t.Errorf("document %v of the deleted record is still in an index", ids)
	}
	for _, k := range f.keys(t, "records/"+source+"/") {
		if strings.Contains(k, pid) {
			t.Errorf("record %s still in S3", k)
		}
	}
}

// The bulk that carries a deletion is refused once: the page is retried,
// and the retry still knows what to delete, so the deletion holds in both
// indices and S3, and the counts are those of a clean run.
func TestDeleteSurvivesRefusedBulk(t *testing.T) {
	wrap, refused := refusingES(t, 1)
	f := newFixtureWith(t, fixtureOptions{workerES: wrap})
	src, del := deletionSource(t, "delbulk")
	f.harvest(t, src, workflows.HarvestOptions{})
	f.publish(t, "dm03klim001")
	del("oai:demo.archief.local:dm03klim001")
	res := f.harvest(t, src, workflows.HarvestOptions{From: "2026-09-30T00:00:00Z"})
	if refused.Load() != 1 {
		t.Fatalf("the proxy refused %d bulks, want 1", refused.Load())
	}
	if res.Counts.Records != 1 || res.Counts.Deleted != 1 || res.Counts.Pages != 1 {
		t.Errorf("counts %+v, want one record, one deletion, one page", res.Counts)
	}
	f.gone(t, "delbulk", "dm03klim001")
	if n := f.count(t); n != 9 {
		t.Errorf("%d documents in the catalog, want 9", n)
	}
}

// The worker stops after the deletes reached the indices and before the
// S3 record went (as a crash there would): the retry finishes the job.
func TestDeleteSurvivesStopBetweenWrites(t *testing.T) {
	var stops atomic.Int32
	f := newFixtureWith(t, fixtureOptions{harvest: func(h *activities.Harvest) {
		h.BeforeRecordDeletes = func() error {
			if stops.Add(1) == 1 {
				return errors.New("worker stopped between the index and S3 writes")
			}
			return nil
		}
	}})
	src, del := deletionSource(t, "delstop")
	f.harvest(t, src, workflows.HarvestOptions{})
	if stops.Load() != 0 {
		t.Fatalf("the hook ran %d times in a harvest without deletions", stops.Load())
	}
	f.publish(t, "dm03klim001")
	del("oai:demo.archief.local:dm03klim001")
	res := f.harvest(t, src, workflows.HarvestOptions{From: "2026-09-30T00:00:00Z"})
	if stops.Load() < 2 {
		t.Fatalf("the page ran %d times, want a stop and a retry", stops.Load())
	}
	if res.Counts.Records != 1 || res.Counts.Deleted != 1 {
		t.Errorf("counts %+v, want one record, one deletion", res.Counts)
	}
	f.gone(t, "delstop", "dm03klim001")
}

// Whatever the S3 state, a deletion removes the documents: here S3 lost
// the record (as a run of older code that stopped between its S3 delete
// and the bulk left it) while both indices still hold it.
func TestDeleteWithoutS3Record(t *testing.T) {
	f := newFixture(t)
	src, del := deletionSource(t, "delorphan")
	f.harvest(t, src, workflows.HarvestOptions{})
	f.publish(t, "dm03klim001")
	for _, k := range f.keys(t, "records/delorphan/") {
		if strings.Contains(k, "dm03klim001") {
			if err := f.clients.Store.Delete(f.ctx, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	del("oai:demo.archief.local:dm03klim001")
	res := f.harvest(t, src, workflows.HarvestOptions{From: "2026-09-30T00:00:00Z"})
	if res.Counts.Deleted != 1 {
		t.Errorf("counts %+v", res.Counts)
	}
	f.gone(t, "delorphan", "dm03klim001")
}
