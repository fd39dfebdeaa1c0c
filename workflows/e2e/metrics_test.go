package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// scrape reads a /metrics answer into its families.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("%s is not the Prometheus text format: %v", url, err)
	}
	return fams
}

// sample is the value of the series of family name whose labels include
// want (a counter's value, a histogram's count); 0 when there is none.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		match := true
		for k, v := range want {
			match = match && labels[k] == v
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.GetCounter().GetValue()
		case m.Histogram != nil:
			total += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return total
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestMetricsEqualTheRunReport harvests with a real `avo worker` and
// scrapes its /metrics: the records per outcome and the quarantine per
// kind equal the run's report, and provider, S3, Elasticsearch and
// Temporal SDK metrics are there; /readyz names what it checked. avo
// serve's /metrics counts its answers per route and status.
func TestMetricsEqualTheRunReport(t *testing.T) {
	f := newFixtureWorker(t, false)
	cfg := f.clients.Config
	cfg.Worker.Listen = freeAddr(t)
	startAvoWorker(t, cfg)
	base := "http://" + cfg.Worker.Listen
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			var ready struct {
				Status string            `json:"status"`
				Checks map[string]string `json:"checks"`
			}
			_ = json.NewDecoder(res.Body).Decode(&ready)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				if len(ready.Checks) != 3 || ready.Status != "ready" {
					t.Errorf("the worker's readiness: %+v", ready)
				}
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not get ready: %v", err)
		}
	}

	oai, _ := f.demoSources(t)
	run := f.harvest(t, oai, workflows.HarvestOptions{})
	var rep bucket.Report
	if err := f.clients.Store.GetJSON(f.ctx, run.ReportKey, &rep); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, base+"/metrics")
	src := map[string]string{"source": oai.ID}
	with := func(k, v string) map[string]string { return map[string]string{"source": oai.ID, k: v} }
	for outcome, want := range map[string]int{
		"received": rep.Counts.Records, "indexed": rep.Counts.Indexed, "deleted": rep.Counts.Deleted,
		"quarantined": rep.Counts.Quarantined, "visible": rep.Counts.Visible, "unchanged": rep.Counts.Unchanged,
	} {
		if got := sample(fams, "avo_harvest_records_total", with("outcome", outcome)); got != float64(want) {
			t.Errorf("avo_harvest_records_total{outcome=%q} = %v, the report says %d", outcome, got, want)
		}
	}
	if rep.Counts.Records == 0 || rep.Counts.Quarantined == 0 || len(rep.Quarantine) == 0 {
		t.Fatalf("the demo's harvest should receive and quarantine records: %+v", rep.Counts)
	}
	for kind, s := range rep.Quarantine {
		if got := sample(fams, "avo_harvest_quarantined_total", with("kind", kind)); got != float64(s.Count) {
			t.Errorf("avo_harvest_quarantined_total{kind=%q} = %v, the report says %d", kind, got, s.Count)
		}
	}
	if got := sample(fams, "avo_harvest_pages_total", src); got != float64(rep.Counts.Pages) {
		t.Errorf("avo_harvest_pages_total = %v, the report says %d", got, rep.Counts.Pages)
	}
	if got := sample(fams, "avo_provider_request_duration_seconds", with("status", "200")); got < float64(rep.Counts.Pages) {
		t.Errorf("provider requests timed: %v, pages %d", got, rep.Counts.Pages)
	}
	if got := sample(fams, "avo_s3_request_duration_seconds", map[string]string{"method": "PUT", "status": "200"}); got == 0 {
		t.Error("no S3 PUT timed")
	}
	if got := sample(fams, "avo_elasticsearch_request_duration_seconds", map[string]string{"operation": "_bulk", "status": "200"}); got == 0 {
		t.Error("no bulk request timed")
	}
	temporal := 0
	for name := range fams {
		if strings.HasPrefix(name, "temporal_") {
			temporal++
		}
	}
	if temporal == 0 || sample(fams, "temporal_activity_execution_latency_seconds", map[string]string{"activity_type": "ProcessPage"}) == 0 {
		t.Errorf("the Temporal SDK's metrics are missing (%d families)", temporal)
	}
	for name, fam := range fams {
		for _, m := range fam.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "identifier" || l.GetName() == "harvest" || strings.Contains(l.GetValue(), "oai:") {
					t.Errorf("%s carries an identifier as a label: %s=%s", name, l.GetName(), l.GetValue())
				}
			}
		}
	}

	// avo serve's answers, by route and status.
	m, err := telemetry.Start()
	if err != nil {
		t.Fatal(err)
	}
	educ := f.education(t)
	srv := httptest.NewServer((&api.Server{Search: educ, Anonymous: auth.Teacher, Metrics: m.Handler()}).Handler())
	t.Cleanup(srv.Close)
	route := func(fams map[string]*dto.MetricFamily, path, status string) float64 {
		return sample(fams, "avo_http_server_request_duration_seconds", map[string]string{"route": path, "method": "GET", "status": status})
	}
	before := scrape(t, srv.URL+"/metrics")
	for _, path := range []string{"/api/search?q=fietsen", "/api/search?q=schelde", "/api/items/nosuchitem", "/api/items/dm01fiets01x"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	after := scrape(t, srv.URL+"/metrics")
	if d := route(after, "/api/search", "200") - route(before, "/api/search", "200"); d != 2 {
		t.Errorf("searches counted: %v, want 2", d)
	}
	if d := route(after, "/api/items/{id}", "404") - route(before, "/api/items/{id}", "404"); d != 2 {
		t.Errorf("items not found counted: %v, want 2 (under the route, not the path)", d)
	}
}
