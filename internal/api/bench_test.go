package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// benchQueries are what teachers and pupils ask: text, filters, sorts,
// deeper pages.
var benchQueries = []string{
	"q=fiets",
	"q=klimaat+energie",
	"q=geschiedenis+van+Brussel&type=video",
	"q=dieren&level=" + url.QueryEscape(mappings.StructureScheme+"/basisonderwijs"),
	"q=wetenschap&degree=" + url.QueryEscape(mappings.StructureScheme+"/secundair-2e-graad") + "&type=video&type=audio",
	"series=Karrewiet&sort=broadcast",
	"q=muziek&provider=VRT&provider=Klara",
	"keyword=sport&keyword=voetbal",
	"q=oorlog&broadcast_from=1960&broadcast_until=1990",
	"q=water&language=nl&sort=broadcast&order=asc",
	"q=school&from=100&size=20",
	"scope=pupil&q=planeet",
	"scope=pupil&primary=true&q=boerderij",
	"subject=" + url.QueryEscape(mappings.SubjectScheme+"/aardrijkskunde"),
	"q=stad+haven+schelde&sort=updated",
	"",
}

func benchDocs() int {
	if n, err := strconv.Atoi(os.Getenv("AVO_BENCH_DOCS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

func percentile(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkSearchAPI measures the search API with 20 concurrent clients
// over benchDocs items, and the same queries sent straight to
// Elasticsearch (the bodies the API builds, pre-serialised), in rounds
// that alternate the two. Both read every answer whole.
func BenchmarkSearchAPI(b *testing.B) {
	const clients, perClient = 20, 40
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	cfg := testenv.Config(b)
	ix := testenv.Indices(b, cfg)
	if err := ix.Setup(ctx, esindex.Kinds...); err != nil {
		b.Fatal(err)
	}
	n := benchDocs()
	w, err := ix.NewWriter(ctx, esindex.Education)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range searchtest.Synthetic(n, 2) {
		_, edu, err := esindex.Project(r, "s3://bench/records/"+r.ExternalID+".json", time.Now())
		if err != nil || edu.Doc == nil {
			b.Fatalf("project %s: %v", r.ExternalID, err)
		}
		if err := w.Add(ctx, edu); err != nil {
			b.Fatal(err)
		}
	}
	if out, err := w.Close(ctx); err != nil || out.Indexed != n {
		b.Fatalf("load: %+v, %v", out, err)
	}
	if err := ix.Refresh(ctx, esindex.Education); err != nil {
		b.Fatal(err)
	}
	s, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Education))
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Search: s}).Handler())
	defer srv.Close()

	// The direct requests: the very bodies the API sends.
	esURL := cfg.Elasticsearch.URLs[0]
	var bodies [][]byte
	for _, q := range benchQueries {
		v, _ := url.ParseQuery(q)
		r, err := search.ParseQuery(v)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(search.Body(r, s.Vocab))
		bodies = append(bodies, body)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	hc := &http.Client{Transport: tr}
	direct := func(i int) error {
		res, err := hc.Post(esURL+"/"+ix.Alias(esindex.Education)+"/_search", "application/json", bytes.NewReader(bodies[i]))
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != 200 {
			return fmt.Errorf("direct %s: %d %v", benchQueries[i], res.StatusCode, err)
		}
		return nil
	}
	viaAPI := func(i int) error {
		res, err := hc.Get(srv.URL + "/api/search?" + benchQueries[i])
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != 200 {
			return fmt.Errorf("api %s: %d %v", benchQueries[i], res.StatusCode, err)
		}
		return nil
	}
	round := func(call func(int) error) []time.Duration {
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mine := make([]time.Duration, 0, perClient)
				for k := range perClient {
					start := time.Now()
					if err := call((c*7 + k) % len(benchQueries)); err != nil {
						errs <- err
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return lat
	}
	// Warm both paths (caches, connections, JIT) before measuring.
	round(direct)
	round(viaAPI)
	b.ResetTimer()
	var es, ap []time.Duration
	for range b.N {
		for range 3 {
			es = append(es, round(direct)...)
			ap = append(ap, round(viaAPI)...)
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	esP50, esP95, apP50, apP95 := percentile(es, .5), percentile(es, .95), percentile(ap, .5), percentile(ap, .95)
	b.ReportMetric(ms(apP50), "api-p50-ms")
	b.ReportMetric(ms(apP95), "api-p95-ms")
	b.ReportMetric(ms(esP50), "es-p50-ms")
	b.ReportMetric(ms(esP95), "es-p95-ms")
	b.ReportMetric(100*(ms(apP50)/ms(esP50)-1), "overhead-p50-%")
	b.ReportMetric(100*(ms(apP95)/ms(esP95)-1), "overhead-p95-%")
	b.Logf("%d documents, %d clients, %d requests a side: API p50 %.1f ms p95 %.1f ms; Elasticsearch p50 %.1f ms p95 %.1f ms; overhead p50 %+.1f%%, p95 %+.1f%%",
		n, clients, len(ap), ms(apP50), ms(apP95), ms(esP50), ms(esP95), 100*(ms(apP50)/ms(esP50)-1), 100*(ms(apP95)/ms(esP95)-1))
}
