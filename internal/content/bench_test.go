package content_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func benchCollections() int {
	if n, err := strconv.Atoi(os.Getenv("AVO_BENCH_COLLECTIONS")); err == nil && n > 0 {
		return n
	}
	return 10_000
}

const (
	benchBlocks  = 20
	benchItems   = 2_000
	benchHolders = 1_000 // collections that hold the item the benchmark depublishes
)

// BenchmarkContentIndexing indexes public teachers' collections of 20
// item blocks each, as an education rebuild does (read from S3, each
// block's item looked up, documents made and bulk-written), beside a bare
// loop of the same S3 GETs (as many at once) followed by a bare _bulk of
// the very same documents, and beside that bare _bulk alone, each into a
// fresh index of the same template; rounds alternate and the best rate of
// each counts. Then it
// depublishes an item that 1,000 of the collections hold (its document
// leaves the education index, as an editor's decision does) and times
// until every one of those collections' documents counts one item less.
func BenchmarkContentIndexing(b *testing.B) {
	n := benchCollections()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cfg := testenv.Config(b)
	ix := testenv.Indices(b, cfg)
	store := testenv.Store(b, cfg)
	for _, kind := range []string{esindex.Catalog, esindex.Education} {
		if err := ix.Setup(ctx, kind); err != nil {
			b.Fatal(err)
		}
	}
	// The items teachers see, each 120 seconds long.
	var items []esindex.Op
	for i := range benchItems {
		id := fmt.Sprintf("bench%06d", i)
		doc, _ := json.Marshal(esindex.Doc{ExternalID: id, AdministrativeType: "video", Title: "item " + id, DurationSeconds: 120,
			Licenses: []string{"VIAA-ONDERWIJS"}, Published: true, SourceID: "bench",
			Provenance: esindex.DocProvenance{Format: "oai_dc", Identifier: id, Raw: "s3://bench/" + id, Harvest: "h", MappingVersion: "1"}})
		items = append(items, esindex.Op{ID: id, Doc: doc})
	}
	if out, err := ix.Write(ctx, esindex.Education, items); err != nil || out.Indexed != benchItems {
		b.Fatalf("items: %+v %v", out, err)
	}
	if err := ix.Refresh(ctx, esindex.Education); err != nil {
		b.Fatal(err)
	}
	// The collections, written to S3 as the desk keeps them: the first
	// benchHolders all hold item 0.
	const subject = "https://w3id.org/onderwijs-vlaanderen/id/vak/aardrijkskunde"
	now := time.Now().UTC()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(64)
	ids := make([]string, n)
	for c := range n {
		ids[c] = fmt.Sprintf("col-bench%06d", c)
		g.Go(func() error {
			p := content.Piece{ID: ids[c], Kind: content.Collection, Title: fmt.Sprintf("Collectie %d over verkeer", c),
				Description: "Een collectie om te delen", Owner: content.Person{ID: "t" + strconv.Itoa(c%500), Name: "Leerkracht " + strconv.Itoa(c%500)},
				Shares: []content.Share{}, Education: content.Education{Subjects: []string{subject}}, Keywords: []string{"verkeer"},
				Public: true, CreatedAt: now, UpdatedAt: now, Revision: 1}
			for k := range benchBlocks {
				item := (c*benchBlocks + k) % benchItems
				if c < benchHolders && k == 0 {
					item = 0
				} else if item == 0 {
					item = 1
				}
				start, end := 10.0, 70.0
				p.Blocks = append(p.Blocks, content.Block{Type: content.ItemBlock, ExternalID: fmt.Sprintf("bench%06d", item), Start: &start, End: &end})
			}
			body, _ := json.Marshal(p)
			return store.Put(gctx, bucket.ContentKey(p.ID), body, "application/json")
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	desk := content.NewDesk(store, ix)
	fresh := func() string {
		name, err := ix.CreateIndex(ctx, esindex.Education, false)
		if err != nil {
			b.Fatal(err)
		}
		return name
	}
	drop := func(name string) {
		if res, err := ix.ES.Indices.Delete([]string{name}, ix.ES.Indices.Delete.WithContext(ctx)); err == nil {
			res.Body.Close()
		}
	}
	var docs []esindex.Op
	var bestPipe, bestBare, bestGetBulk float64
	for range b.N {
		for round := 0; round < 3; round++ {
			name := fresh()
			start := time.Now()
			w, err := ix.IndexWriter(name)
			if err != nil {
				b.Fatal(err)
			}
			var got []esindex.Op
			count, err := desk.Documents(ctx, func(op esindex.Op) error {
				if docs == nil {
					got = append(got, op)
				}
				return w.Add(ctx, op)
			})
			if err != nil {
				b.Fatal(err)
			}
			out, err := w.Close(ctx)
			if err != nil || count != n || out.Indexed != n || out.Retryable != 0 || len(out.Rejected) != 0 {
				b.Fatalf("pipeline: %d documents, %+v, %v", count, out, err)
			}
			bestPipe = max(bestPipe, float64(n)/time.Since(start).Seconds())
			drop(name)
			if docs == nil {
				docs = got
			}

			name = fresh()
			start = time.Now()
			testenv.BareBulk(b, ctx, ix, name, docs)
			bestBare = max(bestBare, float64(n)/time.Since(start).Seconds())
			drop(name)

			name = fresh()
			start = time.Now()
			bareGets(b, ctx, store, 64)
			testenv.BareBulk(b, ctx, ix, name, docs)
			bestGetBulk = max(bestGetBulk, float64(n)/time.Since(start).Seconds())
			drop(name)
		}
	}
	var sample esindex.Doc
	if err := json.Unmarshal(docs[0].Doc, &sample); err != nil || sample.ItemCount != benchBlocks || sample.DurationSeconds != benchBlocks*60 {
		b.Fatalf("a collection's document: %+v %v", sample, err)
	}
	b.ReportMetric(bestPipe, "pipeline-docs/s")
	b.ReportMetric(bestGetBulk, "bare-get+bulk-docs/s")
	b.ReportMetric(bestBare, "bare-bulk-docs/s")
	b.ReportMetric(bestPipe/bestGetBulk, "ratio-get+bulk")
	b.ReportMetric(bestPipe/bestBare, "ratio-bulk")
	b.Logf("%d collections of %d blocks: pipeline %.0f docs/s; bare S3 GETs then _bulk %.0f docs/s (ratio %.2f); bare _bulk alone %.0f docs/s (ratio %.2f)",
		n, benchBlocks, bestPipe, bestGetBulk, bestPipe/bestGetBulk, bestBare, bestPipe/bestBare)

	// The collections in the live education index, then the depublication.
	if _, err := desk.Sync(ctx, nil); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if out, err := ix.Write(ctx, esindex.Education, []esindex.Op{{ID: "bench000000"}}); err != nil || out.Deleted != 1 {
		b.Fatalf("depublish: %+v %v", out, err)
	}
	if err := ix.Refresh(ctx, esindex.Education); err != nil {
		b.Fatal(err)
	}
	touched, err := desk.Refresh(ctx, []string{"bench000000"})
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	holders := ids[:benchHolders]
	got, err := ix.Docs(ctx, esindex.Education, holders, esindex.FieldItemCount)
	if err != nil {
		b.Fatal(err)
	}
	for _, id := range holders {
		if got[id].ItemCount != benchBlocks-1 {
			b.Fatalf("%s counts %d items after the depublication, want %d", id, got[id].ItemCount, benchBlocks-1)
		}
	}
	if touched != benchHolders {
		b.Fatalf("the depublication rewrote %d documents, want %d", touched, benchHolders)
	}
	b.ReportMetric(took.Seconds(), "depublish-s")
	b.Logf("an item depublished from %d collections: all %d documents count it out after %.2f s", benchHolders, touched, took.Seconds())
}

// bareGets lists the pieces and reads every one, conc at once, keeping
// nothing: the S3 side of a rebuild without the work on what it reads.
func bareGets(b *testing.B, ctx context.Context, store *s3store.Store, conc int) {
	objs, err := store.List(ctx, bucket.ContentPrefix)
	if err != nil {
		b.Fatal(err)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for _, o := range objs {
		g.Go(func() error {
			_, err := store.Get(gctx, o.Key, 0)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}
