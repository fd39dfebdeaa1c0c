package esindex_test

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func benchDocs() int {
	if n, err := strconv.Atoi(os.Getenv("AVO_BENCH_DOCS")); err == nil && n > 0 {
		return n
	}
	return 50_000
}

// BenchmarkBulk compares the pipeline's indexer (esindex.Writer: every
// item result checked) with a bare _bulk loop of the same pre-serialised
// documents, bodies of the same size, to the same node, each into a fresh
// index made from the same template. Rounds alternate the two; the best
// rate of each counts, so a noisy moment does not decide.
func BenchmarkBulk(b *testing.B) {
	n := benchDocs()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	ix := testenv.Indices(b, testenv.Config(b))
	if err := ix.Setup(ctx, esindex.Catalog); err != nil {
		b.Fatal(err)
	}
	docs := make([]esindex.Op, 0, n)
	for _, r := range searchtest.Synthetic(n, 1) {
		doc, err := json.Marshal(esindex.NewDoc(r, "s3://bench/records/"+r.ExternalID+".json"))
		if err != nil {
			b.Fatal(err)
		}
		docs = append(docs, esindex.Op{ID: r.ExternalID, Doc: doc})
	}
	fresh := func() string {
		name, err := ix.CreateIndex(ctx, esindex.Catalog, false)
		if err != nil {
			b.Fatal(err)
		}
		return name
	}
	drop := func(name string) {
		res, err := ix.ES.Indices.Delete([]string{name}, ix.ES.Indices.Delete.WithContext(ctx))
		if err == nil {
			res.Body.Close()
		}
	}
	var bestBare, bestPipe float64
	for range b.N {
		for round := 0; round < 3; round++ {
			name := fresh()
			start := time.Now()
			testenv.BareBulk(b, ctx, ix, name, docs)
			bestBare = max(bestBare, float64(n)/time.Since(start).Seconds())
			drop(name)

			name = fresh()
			start = time.Now()
			w, err := ix.IndexWriter(name)
			if err != nil {
				b.Fatal(err)
			}
			for _, op := range docs {
				if err := w.Add(ctx, op); err != nil {
					b.Fatal(err)
				}
			}
			out, err := w.Close(ctx)
			if err != nil || out.Indexed != n || out.Retryable != 0 || len(out.Rejected) != 0 {
				b.Fatalf("pipeline indexer: %+v, %v", out, err)
			}
			bestPipe = max(bestPipe, float64(n)/time.Since(start).Seconds())
			drop(name)
		}
	}
	b.ReportMetric(bestPipe, "pipeline-docs/s")
	b.ReportMetric(bestBare, "bare-docs/s")
	b.ReportMetric(bestPipe/bestBare, "ratio")
	b.Logf("%d documents: pipeline indexer %.0f docs/s, bare _bulk loop %.0f docs/s, ratio %.2f", n, bestPipe, bestBare, bestPipe/bestBare)
}
