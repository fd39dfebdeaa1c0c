package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// numbered makes n oai_dc records numbered from first on.
func numbered(first, n int) []oaipmh.Record {
	recs := make([]oaipmh.Record, n)
	for i := range recs {
		recs[i] = oaitest.Record(first+i, "2026-01-01T00:00:00Z")
	}
	return recs
}

// barePage is what a harvest writes for one page of 100 records, made
// ahead: the raw page, each record's JSON, each index's _bulk body
// (records nobody published yet leave the education index: deletes).
type barePage struct {
	raw       []byte
	keys      []string
	records   [][]byte
	cat, educ bareBulk
}

// bareBulk is a _bulk request body made ahead.
type bareBulk struct{ body []byte }

func (bb *bareBulk) add(op esindex.Op) {
	if op.Doc == nil {
		bb.body = fmt.Appendf(bb.body, `{"delete":{"_id":%q}}`+"\n", op.ID)
	} else {
		bb.body = fmt.Appendf(bb.body, `{"index":{"_id":%q}}`+"\n", op.ID)
		bb.body = append(append(bb.body, op.Doc...), '\n')
	}
}

func barePages(b *testing.B, recs []oaipmh.Record) []barePage {
	b.Helper()
	var pages []barePage
	now := time.Now().UTC()
	for start := 0; start < len(recs); start += 100 {
		var p barePage
		var raw bytes.Buffer
		zw := gzip.NewWriter(&raw)
		for _, r := range recs[start:min(start+100, len(recs))] {
			_, _ = zw.Write(r.Metadata)
			rec, problems, err := mappings.Map("oai_dc", r.Metadata, mappings.Origin{Source: "bare", Identifier: r.Header.Identifier, Raw: "s3://bare/raw", Harvest: "bare", Now: now})
			if err != nil || len(problems) > 0 {
				b.Fatal(err, problems)
			}
			body, err := json.Marshal(rec)
			if err != nil {
				b.Fatal(err)
			}
			key := bucket.RecordKey("bare", r.Header.Identifier)
			cat, edu, err := esindex.Project(rec, "s3://bare/"+key, now)
			if err != nil {
				b.Fatal(err)
			}
			p.keys, p.records = append(p.keys, key), append(p.records, body)
			p.cat.add(cat)
			p.educ.add(edu)
		}
		_ = zw.Close()
		p.raw = raw.Bytes()
		pages = append(pages, p)
	}
	return pages
}

// bareWrites issues the requests a harvest of pages makes, and nothing
// else: parallel pages at once, each its raw page and its records' PUTs
// (writers at once, when puts is set) and one _bulk per index, into
// indices of their own. It returns records/s.
func bareWrites(b *testing.B, f *fixture, st *s3store.Store, pages []barePage, parallel, writers int, puts bool, prefix string) float64 {
	b.Helper()
	ix := f.clients.Indices
	var names [2]string
	for i, kind := range []string{esindex.Catalog, esindex.Education} {
		name, err := ix.CreateIndex(f.ctx, kind, false)
		if err != nil {
			b.Fatal(err)
		}
		names[i] = name
	}
	defer func() {
		for _, name := range names {
			_ = esindex.Do(context.Background(), ix.ES, http.MethodDelete, "/"+name, nil, nil)
		}
	}()
	start := time.Now()
	var pg errgroup.Group
	pg.SetLimit(parallel)
	records := 0
	for i, p := range pages {
		records += len(p.records)
		pg.Go(func() error {
			ctx := f.ctx
			if puts {
				if err := st.Put(ctx, fmt.Sprintf("%sraw/page-%06d.xml.gz", prefix, i), p.raw, "application/gzip"); err != nil {
					return err
				}
				var wg errgroup.Group
				wg.SetLimit(writers)
				for j, body := range p.records {
					wg.Go(func() error { return st.Put(ctx, prefix+p.keys[j], body, "application/json") })
				}
				if err := wg.Wait(); err != nil {
					return err
				}
			}
			var both errgroup.Group
			// The bare operation: the body made ahead, one request, every
			// item checked.
			both.Go(func() error { return ix.Bulk(ctx, names[0], p.cat.body) })
			both.Go(func() error { return ix.Bulk(ctx, names[1], p.educ.body) })
			return both.Wait()
		})
	}
	if err := pg.Wait(); err != nil {
		b.Fatal(err)
	}
	return float64(records) / time.Since(start).Seconds()
}

// indexTotal is how many index operations the catalog has taken.
func indexTotal(b *testing.B, f *fixture) int {
	b.Helper()
	var out struct {
		All struct {
			Primaries struct {
				Indexing struct {
					IndexTotal int `json:"index_total"`
				} `json:"indexing"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	if err := esindex.Do(f.ctx, f.clients.Indices.ES, http.MethodGet, "/"+f.clients.Indices.Alias(esindex.Catalog)+"/_stats/indexing", nil, &out); err != nil {
		b.Fatal(err)
	}
	return out.All.Primaries.Indexing.IndexTotal
}

// timedHarvest runs a harvest to its end and returns records/s and its
// counts.
func timedHarvest(b *testing.B, f *fixture, src sources.Source, o workflows.HarvestOptions) (float64, bucket.Counts) {
	b.Helper()
	start := time.Now()
	run, err := f.clients.StartHarvest(f.ctx, src, o)
	if err != nil {
		b.Fatal(err)
	}
	res, err := run.Result(f.ctx)
	if err != nil {
		b.Fatalf("harvest of %s: %v", src.ID, err)
	}
	return float64(res.Counts.Records) / time.Since(start).Seconds(), res.Counts
}

// puts counts the PUT requests among seen whose key starts with prefix.
func puts(seen []string, prefix string) int { return requests(seen, "PUT", prefix) }

// mix says how many requests of seen went where: by method and the
// first part of the key, the most first.
func mix(seen []string) string {
	by := map[string]int{}
	for _, s := range seen {
		method, key, _ := strings.Cut(s, " ")
		top, _, _ := strings.Cut(key, "/")
		by[method+" "+top+"/"]++
	}
	kinds := slices.Collect(maps.Keys(by))
	slices.SortFunc(kinds, func(a, b string) int { return by[b] - by[a] })
	var out []string
	for _, k := range kinds {
		out = append(out, fmt.Sprintf("%s %d", k, by[k]))
	}
	return strings.Join(out, ", ")
}

// requests counts the requests of method among seen whose key starts
// with prefix.
func requests(seen []string, method, prefix string) int {
	n := 0
	for _, s := range seen {
		if strings.HasPrefix(s, method+" "+prefix) {
			n++
		}
	}
	return n
}

// warmRecords are harvested, and written by the bare loop, before
// anything is measured.
const warmRecords = 50000

// BenchmarkHarvest harvests oai_dc records from a fast local provider
// (100 records a page) through Temporal into S3 and Elasticsearch, with
// workers in processes of their own, and sets each figure beside the bare
// operation on the same stack in the same run:
//
//   - for each of benchSizes(): records/s end to end, beside a bare loop
//     of the same S3 PUTs and _bulk requests at the same concurrency
//     (pages at once × writers; the mean of a run before the harvest and
//     one after) and beside the _bulk requests alone; the
//     worker's peak RSS after each size and the largest history;
//   - a full re-harvest of the first size, unchanged: records/s, the
//     records written to S3 and the documents indexed (both should be 0);
//   - a new set of the first size with two workers: records/s beside the
//     first size's with one;
//   - for each size, the CPU seconds each process of the stack used per
//     1,000 records in the bare loops and in the harvest (where the
//     difference between the two goes, with every core busy).
//
// A warm-up of warmRecords, a bare loop and a harvest, goes first.
//
// Every S3 request of the workers passes a proxy that counts it.
func BenchmarkHarvest(b *testing.B) {
	sizes := benchSizes()
	for range b.N {
		b.StopTimer()
		f := newFixtureWith(b, fixtureOptions{noWorker: true, timeout: 3 * time.Hour})
		rec, endpoint := newRecorder(b, f, f.clients.Store.Bucket)
		wcfg := f.clients.Config
		wcfg.S3.Endpoint = endpoint
		bareStore, err := s3store.New(f.ctx, wcfg.S3)
		if err != nil {
			b.Fatal(err)
		}
		one := wcfg
		one.Worker.Listen = freeAddr(b)
		worker := startAvoWorker(b, one)
		cpu := newStackCPU(worker.Process.Pid, f.clients.Config.S3.Endpoint, f.clients.Config.Elasticsearch.URLs[0])
		parallel, writers := sources.DefaultOAIParallel, wcfg.Harvest.Writers
		if writers <= 0 {
			writers = 32
		}
		// The stack's first minutes are not what it does after (the JIT
		// compiler in Elasticsearch, every cache empty): a bare loop and a
		// harvest go first, not counted. Without them the first bare loop
		// ran at two thirds of the rate of the one after; after 10,000
		// records each it still ran at four fifths of it, Elasticsearch
		// spending twice the CPU per record.
		next := 1
		warm := numbered(next, warmRecords)
		next += warmRecords
		bareWrites(b, f, bareStore, barePages(b, warm), parallel, writers, true, "warm/")
		wp := oaitest.New(b, warm, oaitest.Faults{PageSize: 100})
		timedHarvest(b, f, oaiSource("warm", wp), workflows.HarvestOptions{})
		rec.take()
		b.StartTimer()
		oneWorker := 0.0
		var first sources.Source
		for i, n := range sizes {
			recs := numbered(next, n)
			next += n
			pages := barePages(b, recs)
			c0 := cpu.read()
			bare := bareWrites(b, f, bareStore, pages, parallel, writers, true, "bare/")
			c1 := cpu.read()
			bulkOnly := bareWrites(b, f, bareStore, pages, parallel, writers, false, "bare/")
			p := oaitest.New(b, recs, oaitest.Faults{PageSize: 100})
			src := oaiSource(fmt.Sprintf("bench%d", n), p)
			src.OAI.Timeout = sources.Duration(time.Minute)
			c2 := cpu.read()
			rate, counts := timedHarvest(b, f, src, workflows.HarvestOptions{})
			c3 := cpu.read()
			if counts.Indexed != n {
				b.Fatalf("harvest of %d records indexed %d", n, counts.Indexed)
			}
			// The bare loop once more after the harvest: its rate drifts by
			// a sixth between runs on a shared machine, so the harvest is
			// set beside the mean of one before and one after.
			// (New keys: writing over objects costs the S3 server more.)
			c4 := cpu.read()
			bareAfter := bareWrites(b, f, bareStore, pages, parallel, writers, true, "bare-after/")
			c5 := cpu.read()
			bareBefore := bare
			bare = (bareBefore + bareAfter) / 2
			_, peak := rssKB(worker.Process.Pid)
			runs, events := historySizes(b, f, workflows.HarvestWorkflowID(src.ID, ""))
			b.ReportMetric(rate, fmt.Sprintf("records/s@%d", n))
			b.ReportMetric(rate/bare, fmt.Sprintf("of-bare-puts+bulk@%d", n))
			b.ReportMetric(rate/bulkOnly, fmt.Sprintf("of-bare-bulk@%d", n))
			b.ReportMetric(float64(peak)/1024, fmt.Sprintf("worker-peak-MB@%d", n))
			b.ReportMetric(float64(events), fmt.Sprintf("max-history-events@%d", n))
			report("%d records: %.0f records/s; bare PUTs+_bulk %.0f/s (%.2f; %.0f/s before the harvest, %.0f/s after), bare _bulk %.0f/s (%.2f); worker peak RSS %.0f MB; %d runs, at most %d history events",
				n, rate, bare, rate/bare, bareBefore, bareAfter, bulkOnly, rate/bulkOnly, float64(peak)/1024, runs, events)
			report("%d records, the worker's memory (MB): %s", n, workerMemory(one.Worker.Listen))
			report("%d records, the harvest's course: %s", n, harvestTimeline(b, f, workflows.HarvestWorkflowID(src.ID, "")))
			report("%d records, CPU by process: bare loop before %s; harvest %s; bare loop after %s",
				n, cpu.per(c0, c1, n), cpu.per(c2, c3, n), cpu.per(c4, c5, n))
			if i == 0 {
				first, oneWorker = src, rate
			}
			seen := rec.take()
			report("%d records: %d S3 requests (%s), %d reads of editors' decisions",
				n, len(seen), mix(seen), requests(seen, "GET", "editorial/"))
		}

		// The first set again, unchanged.
		n := sizes[0]
		before := indexTotal(b, f)
		rate, counts := timedHarvest(b, f, first, workflows.HarvestOptions{Full: true})
		seen := rec.take()
		written, indexed := puts(seen, "records/"), indexTotal(b, f)-before
		if counts.Unchanged != n {
			b.Errorf("re-harvest: %d of %d records unchanged", counts.Unchanged, n)
		}
		b.ReportMetric(rate, "records/s-unchanged")
		b.ReportMetric(float64(written), "record-puts-unchanged")
		b.ReportMetric(float64(indexed), "docs-indexed-unchanged")
		report("re-harvest of %d unchanged records: %.0f records/s, %d records written to S3, %d documents indexed, %d S3 requests in all (%d PUTs)",
			n, rate, written, indexed, len(seen), puts(seen, ""))

		// A new set of the first size with a second worker.
		startAvoWorker(b, wcfg)
		p := oaitest.New(b, numbered(next, n), oaitest.Faults{PageSize: 100})
		src := oaiSource("bench2w", p)
		src.OAI.Timeout = sources.Duration(time.Minute)
		rate2, _ := timedHarvest(b, f, src, workflows.HarvestOptions{})
		b.ReportMetric(rate2, "records/s-2-workers")
		b.ReportMetric(rate2/oneWorker, "2-workers/1")
		report("%d records with 2 workers: %.0f records/s, %.2f of one worker's", n, rate2, rate2/oneWorker)
	}
}

// report prints a line of a benchmark's report on the standard output:
// the testing package keeps only the first ten lines a benchmark logs.
func report(format string, args ...any) {
	fmt.Printf("    "+format+"\n", args...)
}
