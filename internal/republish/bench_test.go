package republish_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/republish"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func benchItems() int {
	if n, err := strconv.Atoi(os.Getenv("AVO_BENCH_OAI_ITEMS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// BenchmarkOAIListRecords harvests ListRecords in lom, 100 records a page,
// over 100,000 visible items with avo's own client, following every token
// to the end: records a second overall, the time of the first ten pages
// beside that of the ten deepest, and the provider's heap at the start
// and deep in the list (it keeps no state between pages, so neither may
// grow with the cursor).
func BenchmarkOAIListRecords(b *testing.B) {
	n := benchItems()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
	defer cancel()
	cfg := testenv.Config(b)
	ix := testenv.Indices(b, cfg)
	if err := ix.Setup(ctx, esindex.Education); err != nil {
		b.Fatal(err)
	}
	w, err := ix.NewWriter(ctx, esindex.Education)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now().Add(-time.Duration(n) * time.Second).UTC().Truncate(time.Second)
	for i, r := range searchtest.Synthetic(n, 7) {
		d := esindex.NewDoc(r, "s3://bench/records/"+r.ExternalID+".json")
		stamp := start.Add(time.Duration(i) * time.Second) // a spread of datestamps
		d.OAIDatestamp = &stamp
		doc, err := json.Marshal(d)
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Add(ctx, esindex.Op{ID: r.ExternalID, Doc: doc}); err != nil {
			b.Fatal(err)
		}
	}
	if out, err := w.Close(ctx); err != nil || out.Indexed != n {
		b.Fatalf("load: %+v %v", out, err)
	}
	if err := ix.Refresh(ctx, esindex.Education); err != nil {
		b.Fatal(err)
	}
	repo := &republish.Repository{Indices: ix, BaseURL: "http://bench/oai", Namespace: republish.DefaultNamespace,
		Landing: func(id string) string { return "http://bench/items/" + id }}
	srv := httptest.NewServer(&oaipmh.Provider{Repo: repo, PageSize: 100, TokenTTL: time.Hour, Snapshot: true})
	defer srv.Close()
	c := &oaipmh.Client{BaseURL: srv.URL, HTTP: oaipmh.NewHTTPClient(30*time.Second, 60*time.Second), UserAgent: "avo-bench"}

	heap := func() float64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return float64(m.HeapInuse) / (1 << 20)
	}
	for range b.N {
		var first, deep time.Duration
		var heapStart, heapDeep float64
		records, pages := 0, 0
		args := oaipmh.ListArgs{MetadataPrefix: "lom"}
		began := time.Now()
		for {
			t0 := time.Now()
			p, _, err := c.ListRecords(ctx, args)
			var oe *oaipmh.Error
			if errors.As(err, &oe) && oe.Code == oaipmh.NoRecordsMatch {
				break
			}
			if err != nil {
				b.Fatalf("page %d: %v", pages+1, err)
			}
			took := time.Since(t0)
			pages++
			records += len(p.Records)
			switch {
			case pages <= 10:
				first += took
			case pages > n/100-10:
				deep += took
			}
			if pages == 10 {
				heapStart = heap()
			}
			if pages == n/100-10 {
				heapDeep = heap()
			}
			if p.Token.Value == "" {
				break
			}
			args = oaipmh.ListArgs{Token: p.Token.Value}
		}
		elapsed := time.Since(began)
		if records != n {
			b.Fatalf("harvested %d records of %d", records, n)
		}
		b.ReportMetric(float64(records)/elapsed.Seconds(), "records/s")
		b.ReportMetric(float64(first.Milliseconds())/10, "ms/page-first10")
		b.ReportMetric(float64(deep.Milliseconds())/10, "ms/page-last10")
		b.ReportMetric(heapStart, "MiB-heap-page10")
		b.ReportMetric(heapDeep, "MiB-heap-deep")
		b.Logf("%d lom records in %d pages: %.0f records/s; first ten pages %.1f ms each, last ten %.1f ms each; provider heap %.1f MiB at page 10, %.1f MiB at page %d",
			records, pages, float64(records)/elapsed.Seconds(), float64(first.Milliseconds())/10, float64(deep.Milliseconds())/10, heapStart, heapDeep, n/100-10)
	}
}
