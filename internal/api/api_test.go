package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// server serves the API over the test items in a real education index.
func server(t *testing.T) (*httptest.Server, esindex.Indices) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ix := testenv.Indices(t, testenv.Config(t))
	searchtest.Load(t, ctx, ix)
	s, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Education))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Search: s, Anonymous: auth.Teacher}).Handler())
	t.Cleanup(srv.Close)
	return srv, ix
}

func get(t *testing.T, url string, out any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("GET %s: %d %s: %v", url, res.StatusCode, b, err)
		}
	}
	return res.StatusCode
}

func TestAPI(t *testing.T) {
	srv, ix := server(t)

	var res search.Response
	if code := get(t, srv.URL+"/api/search?q=fietsen&type=video&type=audio", &res); code != 200 || res.Total == 0 || res.Hits[0].ID != "fiets1" {
		t.Fatalf("search: %d %+v", code, res)
	}
	if len(res.Facets["type"]) == 0 || len(res.Facets["level"]) == 0 {
		t.Errorf("facets missing: %+v", res.Facets)
	}

	bad := map[string]string{
		"/api/search?colour=red":           `unknown parameter "colour"`,
		"/api/search?sort=popularity":      `unknown sort "popularity"`,
		"/api/search?scope=admin":          `unknown scope "admin"`,
		"/api/search?scope=pupil&level=x":  `not available to pupils`,
		"/api/search?size=1000":            "size is at most",
		"/api/facets/colour":               `no facet "colour"`,
		"/api/suggest?prefix=a&index=x":    `index: want education or catalog`,
		"/api/suggest?prefix=a&lang=nl":    `unknown parameter "lang"`,
		"/api/items/fiets1?q=x":            `unknown parameter "q"`,
		"/api/items/fiets1/related?sort=x": `unknown parameter "sort"`,
	}
	for path, msg := range bad {
		var e struct {
			Error string `json:"error"`
		}
		if code := get(t, srv.URL+path, &e); code != http.StatusBadRequest || !strings.Contains(e.Error, msg) {
			t.Errorf("%s: %d %q, want 400 with %q", path, code, e.Error, msg)
		}
	}

	var item search.Hit
	if code := get(t, srv.URL+"/api/items/klimaat1", &item); code != 200 || item.Title != "Klimaat en energie" || !slices.Contains(item.Subjects, "fysica") {
		t.Errorf("item: %d %+v", code, item)
	}
	if code := get(t, srv.URL+"/api/items/hidden1", nil); code != http.StatusNotFound {
		t.Errorf("unpublished item: %d, want 404", code)
	}
	if code := get(t, srv.URL+"/api/items/dossier1?scope=pupil", nil); code != http.StatusNotFound {
		t.Errorf("collection for pupils: %d, want 404", code)
	}
	var rel struct {
		Related []search.Hit `json:"related"`
	}
	if code := get(t, srv.URL+"/api/items/fiets1/related?size=3", &rel); code != 200 || len(rel.Related) == 0 || len(rel.Related) > 3 {
		t.Errorf("related: %d %+v", code, rel)
	}
	var sug struct {
		Keywords []string `json:"keywords"`
	}
	if code := get(t, srv.URL+"/api/suggest?prefix=fie", &sug); code != 200 || !slices.Equal(sug.Keywords, []string{"fiets"}) {
		t.Errorf("suggest: %d %+v", code, sug)
	}
	var fac struct {
		Buckets []search.Bucket `json:"buckets"`
	}
	if code := get(t, srv.URL+"/api/facets/series?facet_q=VOL&type=audio", &fac); code != 200 || len(fac.Buckets) != 1 || fac.Buckets[0].Count != 1 {
		t.Errorf("facet search: %d %+v", code, fac)
	}
	if code := get(t, srv.URL+"/healthz", nil); code != 200 {
		t.Errorf("healthz: %d", code)
	}
	resp, err := http.Post(srv.URL+"/api/search", "application/json", strings.NewReader(`{"query":{"match_all":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST of a raw query: %d, want 405", resp.StatusCode)
	}
	var page string
	if r, err := http.Get(srv.URL + "/"); err == nil {
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		page = string(b)
	}
	if !strings.Contains(page, `id="results"`) {
		t.Errorf("search page not served: %.200s", page)
	}

	// An index that fails answers 502 without Elasticsearch's details.
	broken, _ := search.NewSearcher(ix.ES, ix.Prefix+"-missing")
	bsrv := httptest.NewServer((&api.Server{Search: broken, Anonymous: auth.Teacher}).Handler())
	defer bsrv.Close()
	var e struct {
		Error string `json:"error"`
	}
	if code := get(t, bsrv.URL+"/api/search?q=x", &e); code != http.StatusBadGateway || strings.Contains(e.Error, "index_not_found") {
		t.Errorf("broken index: %d %q", code, e.Error)
	}
	if code := get(t, bsrv.URL+"/readyz", nil); code != http.StatusServiceUnavailable {
		t.Errorf("readyz of a broken index: %d", code)
	}
}

// In headless Chromium: search, click a facet, and see the results
// narrow, with their education labels.
func TestSearchPageInChromium(t *testing.T) {
	srv, _ := server(t)
	ctx := testenv.Browser(t, 90*time.Second)

	// The page must show what the API answers.
	want := func(query string) (string, int) {
		var res search.Response
		if code := get(t, srv.URL+"/api/search?"+query, &res); code != 200 {
			t.Fatalf("api %s: %d", query, code)
		}
		var ids []string
		for _, h := range res.Hits {
			ids = append(ids, h.ID)
		}
		slices.Sort(ids)
		b, _ := json.Marshal(ids)
		return string(b), res.Total
	}
	wantBefore, totalBefore := want("q=klimaat")
	wantAfter, totalAfter := want("q=klimaat&type=audio")
	if totalBefore < 2 || totalAfter != 1 {
		t.Fatalf("klimaat: %s; with type audio: %s", wantBefore, wantAfter)
	}
	shows := func(total int) string {
		return "document.getElementById('status').dataset.total === '" + strconv.Itoa(total) + "' && document.querySelectorAll('#results .hit').length === " + strconv.Itoa(total)
	}

	hits := chromedp.Evaluate[string](`JSON.stringify([...document.querySelectorAll('#results .hit')].map(e => e.dataset.id).sort())`)
	wait := func(expr string) chromedp.Action[chromedp.Void] {
		return void(chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second)))
	}
	audio := chromedp.CSS(`ul[data-facet="type"] button[data-value="audio"]`)
	var before, after string
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#q`)),
		wait(shows(8)),
		chromedp.SendKeys(chromedp.CSS(`#q`), "klimaat"),
		chromedp.Click(chromedp.CSS(`#search button[type="submit"]`)),
		wait(shows(totalBefore)),
		testenv.Into(&before, hits),
		chromedp.Click(audio),
		wait(shows(totalAfter)),
		testenv.Into(&after, hits),
	)
	if err != nil {
		status, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
		t.Fatalf("browser: %v (status %q, before %s, after %s)", err, status, before, after)
	}
	pressed, err := chromedp.Run(ctx, chromedp.AttributeValue(audio, "aria-pressed"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.hit[data-id="klimaat1"] .edu`)))
	if err != nil {
		t.Fatal(err)
	}
	if before != wantBefore {
		t.Errorf("search klimaat showed %s, the API says %s", before, wantBefore)
	}
	if after != wantAfter || after != `["klimaat1"]` || pressed.Value != "true" {
		t.Errorf("after clicking the audio facet: %s (pressed %q), want %s", after, pressed.Value, wantAfter)
	}
	if !strings.Contains(labels, "secundair onderwijs") || !strings.Contains(labels, "fysica") {
		t.Errorf("education labels of klimaat1: %q", labels)
	}

	// Facets come in the order a teacher narrows down.
	order, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#facets ul')].map(u => u.dataset.facet).join(",")`))
	if err != nil || !strings.HasPrefix(order, "type,level") {
		t.Errorf("facet order %q, %v", order, err)
	}
	// A result opens whole: thumbnail, education fields, a Dutch date.
	err = chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`.hit[data-id="klimaat1"] h3 a`)),
		wait(`document.getElementById('detail').open && document.getElementById('detail').dataset.id === 'klimaat1' && document.querySelector('#detail dl') !== null`),
	)
	if err != nil {
		t.Fatalf("detail view: %v", err)
	}
	detail, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#detail`)))
	if !strings.Contains(detail, "Onderwijsniveau") || !strings.Contains(detail, "secundair onderwijs") || !strings.Contains(detail, "Volt") {
		t.Errorf("detail view of klimaat1: %q", detail)
	}
	// Dates as a Flemish reader writes them (fiets1 was broadcast on
	// 2019-10-23, kleuter1 in 2018-05).
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/"),
		wait(shows(8)),
	)
	if err != nil {
		t.Fatal(err)
	}
	dates, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#results`)))
	if !strings.Contains(dates, "23 oktober 2019") || !strings.Contains(dates, "mei 2018") {
		t.Errorf("dates not in Dutch: %q", dates)
	}
	// Nothing found: the page says so and what to try; with filters, a
	// button clears them.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?q=qqxyzzyqq&type=video"),
		wait(`document.getElementById('status').dataset.total === '0' && document.querySelector('#results .empty #clear-filters') !== null`),
	)
	if err != nil {
		t.Fatalf("empty result: %v", err)
	}
	// An error: in Dutch, and paging off.
	err = chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/?sort=popularity"),
		wait(`document.getElementById('status').classList.contains('error') && document.getElementById('next').disabled && document.getElementById('prev').disabled`),
	)
	if err != nil {
		t.Fatalf("error state: %v", err)
	}
	msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#status`)))
	if !strings.Contains(msg, "Deze zoekopdracht kan niet") {
		t.Errorf("error message %q, want Dutch", msg)
	}
}

// void drops an action's value.
func void[T any](a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := a(ctx, t)
		return chromedp.Void{}, err
	}
}

// do sends a request and returns the response with its body read.
func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

// The API fails well: what a client got wrong is a 400 that says what,
// an unknown route a JSON 404, an unreachable index a quick 503.
func TestAPIFailsWell(t *testing.T) {
	srv, ix := server(t)
	for _, c := range []struct {
		path string
		code int
		says string
	}{
		{"/api/search?q=%zz", 400, "malformed query string"},
		{"/api/search?type=video&scope=pupil%", 400, "malformed query string"},
		{"/api/search?size=0", 400, "size"},
		{"/api/search?broadcast_from=2020&broadcast_until=2019-05", 400, "after broadcast_until"},
		{"/api/facets/keyword?facet_q=" + strings.Repeat("a", 51), 400, "longer than 50"},
		{"/api/nothing", 404, "no such route"},
		{"/no-such-file.js", 404, "no such route"},
		{"/api/items/fiets1?scope=%", 400, "malformed query string"},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+c.path, nil)
		res, body := do(t, req)
		if res.StatusCode != c.code || !strings.Contains(string(body), c.says) || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
			t.Errorf("GET %s: %d %s %s; want %d saying %q", c.path, res.StatusCode, res.Header.Get("Content-Type"), body, c.code, c.says)
		}
	}
	// A facet text with what a regular expression means is taken as text.
	var f struct {
		Buckets []search.Bucket `json:"buckets"`
	}
	if code := get(t, srv.URL+"/api/facets/keyword?facet_q="+url.QueryEscape(`fiets.*(|[`), &f); code != 200 {
		t.Errorf("facet text with pattern characters: %d", code)
	}

	// CORS: the configured origins, and their preflight.
	csrv := httptest.NewServer((&api.Server{Search: mustSearcher(t, ix), Anonymous: auth.Teacher, Origins: []string{"https://klascement.net"}}).Handler())
	defer csrv.Close()
	pre, _ := http.NewRequest(http.MethodOptions, csrv.URL+"/api/search", nil)
	pre.Header.Set("Origin", "https://klascement.net")
	pre.Header.Set("Access-Control-Request-Method", "GET")
	if res, _ := do(t, pre); res.StatusCode != 204 || res.Header.Get("Access-Control-Allow-Origin") != "https://klascement.net" || !strings.Contains(res.Header.Get("Access-Control-Allow-Methods"), "GET") {
		t.Errorf("preflight: %d %v", res.StatusCode, res.Header)
	}
	pre.Header.Set("Origin", "https://elsewhere.example")
	if res, _ := do(t, pre); res.StatusCode != 403 || res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight of another origin: %d %v", res.StatusCode, res.Header)
	}

	// gzip for clients that ask; static files with ETag and Cache-Control.
	gz, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/search?q=fietsen", nil)
	gz.Header.Set("Accept-Encoding", "gzip")
	res, body := do(t, gz)
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("no gzip: %v", res.Header)
	} else if zr, err := gzip.NewReader(bytes.NewReader(body)); err != nil {
		t.Error(err)
	} else if plain, _ := io.ReadAll(zr); !strings.Contains(string(plain), "fiets1") {
		t.Errorf("gzipped body: %.100s", plain)
	}
	page, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	res, _ = do(t, page)
	etag := res.Header.Get("ETag")
	if res.StatusCode != 200 || etag == "" || !strings.Contains(res.Header.Get("Cache-Control"), "max-age") {
		t.Errorf("page: %d %v", res.StatusCode, res.Header)
	}
	page.Header.Set("If-None-Match", etag)
	if res, _ := do(t, page); res.StatusCode != http.StatusNotModified {
		t.Errorf("page again with its ETag: %d", res.StatusCode)
	}

	// An Elasticsearch that cannot be reached: 503 at once, not after the
	// timeout, from searches and the health check.
	down, err := esindex.NewClient(config.Elasticsearch{URLs: []string{"http://127.0.0.1:1"}})
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := search.NewSearcher(down, "x")
	dsrv := httptest.NewServer((&api.Server{Search: ds, Anonymous: auth.Teacher}).Handler())
	defer dsrv.Close()
	for _, path := range []string{"/readyz", "/api/search?q=x", "/api/search?q=y"} {
		start := time.Now()
		req, _ := http.NewRequest(http.MethodGet, dsrv.URL+path, nil)
		res, body := do(t, req)
		if res.StatusCode != http.StatusServiceUnavailable || time.Since(start) > 2*time.Second {
			t.Errorf("GET %s with Elasticsearch down: %d after %s: %s", path, res.StatusCode, time.Since(start), body)
		}
	}
}

func mustSearcher(t *testing.T, ix esindex.Indices) *search.Searcher {
	t.Helper()
	s, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Education))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
