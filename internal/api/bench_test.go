package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

	"github.com/elastic/elastic-transport-go/v8/elastictransport"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

// benchQueries are what teachers and pupils ask: text, filters, sorts,
// deeper pages.
var benchQueries = []string{
	"q=fiets",
	"q=klimaat+energie",
	"q=geschiedenis+van+Brussel&type=video",
	"q=dieren&level=" + url.QueryEscape(profile.StructureScheme+"/basisonderwijs"),
	"q=wetenschap&degree=" + url.QueryEscape(profile.StructureScheme+"/secundair-2e-graad") + "&type=video&type=audio",
	"series=Karrewiet&sort=broadcast",
	"q=muziek&provider=VRT&provider=Klara",
	"keyword=sport&keyword=voetbal",
	"q=oorlog&broadcast_from=1960&broadcast_until=1990",
	"q=water&language=nl&sort=broadcast&order=asc",
	"q=school&from=100&size=20",
	"scope=pupil&q=planeet",
	"scope=pupil&primary=true&q=boerderij",
	"subject=" + url.QueryEscape(profile.SubjectScheme+"/aardrijkskunde"),
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
// Elasticsearch (the bodies the API builds, pre-serialised, on the same
// transport). Both read every answer whole. It also reports the API's own
// time per request: its handler's time less Elasticsearch's answer.
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
	// The API's client, timed: how long Elasticsearch took to answer each
	// request, to the last byte, so the API's own share can be told apart.
	es, err := esindex.NewClient(cfg.Elasticsearch)
	if err != nil {
		b.Fatal(err)
	}
	es.Transport = timedTransport{es.Transport}
	s, err := search.NewSearcher(es, ix.Alias(esindex.Education))
	if err != nil {
		b.Fatal(err)
	}
	var ownMu sync.Mutex
	var own []time.Duration
	handler := (&api.Server{Search: s, Anonymous: auth.Teacher, Limits: api.Limits{AddressRate: 1e9, AddressBurst: 1e9}}).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start, t := time.Now(), &esTime{}
		handler.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), esTimeKey{}, t)))
		d := time.Since(start) - t.get()
		ownMu.Lock()
		own = append(own, d)
		ownMu.Unlock()
	}))
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
	hc := &http.Client{Transport: esindex.NewTransport()}
	// drain reads an answer whole, as a client would.
	drain := func(what string, i int, res *http.Response, err error) error {
		if err != nil {
			return err
		}
		defer res.Body.Close()
		if _, err := io.Copy(io.Discard, res.Body); err != nil || res.StatusCode != 200 {
			return fmt.Errorf("%s %s: %d %v", what, benchQueries[i], res.StatusCode, err)
		}
		return nil
	}
	directCall := func(i int) error {
		res, err := hc.Post(esURL+"/"+ix.Alias(esindex.Education)+"/_search", "application/json", bytes.NewReader(bodies[i]))
		return drain("direct", i, res, err)
	}
	viaAPI := func(i int) error {
		res, err := hc.Get(srv.URL + "/api/search?" + benchQueries[i])
		return drain("api", i, res, err)
	}
	// Each client sends every query both ways, one after the other, the
	// order alternating: the two paths share the same load at the same
	// moment, so a busy spell of the machine weighs on both alike.
	round := func() (viaES, viaAPIs []time.Duration) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, clients)
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				mineES, mineAPI := make([]time.Duration, 0, perClient), make([]time.Duration, 0, perClient)
				timed := func(call func(int) error, q int, into *[]time.Duration) error {
					start := time.Now()
					err := call(q)
					*into = append(*into, time.Since(start))
					return err
				}
				for k := range perClient {
					q := (c*7 + k) % len(benchQueries)
					var err1, err2 error
					if (c+k)%2 == 0 {
						err1, err2 = timed(directCall, q, &mineES), timed(viaAPI, q, &mineAPI)
					} else {
						err1, err2 = timed(viaAPI, q, &mineAPI), timed(directCall, q, &mineES)
					}
					if err := errors.Join(err1, err2); err != nil {
						errs <- err
						return
					}
				}
				mu.Lock()
				viaES, viaAPIs = append(viaES, mineES...), append(viaAPIs, mineAPI...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		return viaES, viaAPIs
	}
	// Warm both paths (caches, connections) before measuring.
	round()
	ownMu.Lock()
	own = own[:0]
	ownMu.Unlock()
	b.ResetTimer()
	var direct, ap []time.Duration
	for range b.N {
		for range 3 {
			d, a := round()
			direct, ap = append(direct, d...), append(ap, a...)
		}
	}
	b.StopTimer()
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	esP50, esP95, apP50, apP95 := percentile(direct, .5), percentile(direct, .95), percentile(ap, .5), percentile(ap, .95)
	ownP50, ownP95 := percentile(own, .5), percentile(own, .95)
	b.ReportMetric(ms(apP50), "api-p50-ms")
	b.ReportMetric(ms(apP95), "api-p95-ms")
	b.ReportMetric(ms(esP50), "es-p50-ms")
	b.ReportMetric(ms(esP95), "es-p95-ms")
	b.ReportMetric(100*(ms(apP50)/ms(esP50)-1), "overhead-p50-%")
	b.ReportMetric(100*(ms(apP95)/ms(esP95)-1), "overhead-p95-%")
	b.ReportMetric(ms(ownP50), "own-p50-ms")
	b.ReportMetric(ms(ownP95), "own-p95-ms")
	b.ReportMetric(100*ms(ownP50)/ms(esP50), "own/es-p50-%")
	b.Logf("the API's own time a request (its handler less Elasticsearch's answer): p50 %.2f ms, p95 %.2f ms", ms(ownP50), ms(ownP95))
	b.Logf("%d documents, %d clients, %d requests a side: API p50 %.1f ms p95 %.1f ms; Elasticsearch p50 %.1f ms p95 %.1f ms; overhead p50 %+.1f%%, p95 %+.1f%%",
		n, clients, len(ap), ms(apP50), ms(apP95), ms(esP50), ms(esP95), 100*(ms(apP50)/ms(esP50)-1), 100*(ms(apP95)/ms(esP95)-1))
}

// esTime adds up the time Elasticsearch took for one API request.
type esTime struct {
	mu sync.Mutex
	d  time.Duration
}

func (t *esTime) add(d time.Duration) { t.mu.Lock(); t.d += d; t.mu.Unlock() }
func (t *esTime) get() time.Duration  { t.mu.Lock(); defer t.mu.Unlock(); return t.d }

type esTimeKey struct{}

// timedTransport reads each answer whole before handing it on, and adds
// the time from request to last byte to the request's esTime.
type timedTransport struct{ next elastictransport.Interface }

func (tt timedTransport) Perform(req *http.Request) (*http.Response, error) {
	start := time.Now()
	res, err := tt.next.Perform(req)
	if err != nil {
		return res, err
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if t, ok := req.Context().Value(esTimeKey{}).(*esTime); ok {
		t.add(time.Since(start))
	}
	res.Body = io.NopCloser(bytes.NewReader(body))
	return res, err
}
