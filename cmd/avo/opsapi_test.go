package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/demo"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

// TestOperatorAPI starts, follows, lists and cancels harvests, reads the
// quarantine and rebuilds an index over HTTP as an operator, against real Temporal, S3,
// Elasticsearch and a worker; other roles are refused.
func TestOperatorAPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	ts := testenv.Temporal(t)
	cfg := testenv.Config(t)
	provider, err := demo.Serve(0)
	if err != nil {
		t.Fatal(err)
	}
	defer provider.Close()
	srcFile := filepath.Join(t.TempDir(), "sources.yaml")
	yaml := strings.ReplaceAll(string(demo.SourcesYAML()), "${"+demo.OAIURLVariable+"}", provider.URL)
	if err := os.WriteFile(srcFile, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg.Temporal.Address, cfg.Temporal.Namespace, cfg.Temporal.TaskQueue = ts.GetFrontendHostPort(), ts.GetDefaultNamespace(), testenv.Name(t)
	cfg.Sources = srcFile
	common := []string{
		"--temporal-address", cfg.Temporal.Address, "--temporal-namespace", cfg.Temporal.Namespace,
		"--task-queue", cfg.Temporal.TaskQueue, "--s3-endpoint", cfg.S3.Endpoint, "--s3-bucket", cfg.S3.Bucket,
		"--es-url", cfg.Elasticsearch.URLs[0], "--es-index-prefix", cfg.Elasticsearch.IndexPrefix,
		"--sources", srcFile, "--log-level", "error", "--worker-listen", "127.0.0.1:0",
	}
	if code, _, errOut := avo(ctx, append([]string{"setup"}, common...)...); code != exitOK {
		t.Fatalf("setup: exit %d: %s", code, errOut)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, _, _ = avo(wctx, append([]string{"worker"}, common...)...)
	}()
	defer func() { stopWorker(); wg.Wait() }()

	a := &app{cfg: cfg, log: slog.New(slog.DiscardHandler)}
	c, err := connect(ctx, cfg, a.log, need{s3: true, elasticsearch: true})
	if err != nil {
		t.Fatal(err)
	}
	ops := a.operatorAPI(ctx, c)
	if ops == nil {
		t.Fatal("no operator API with Temporal running")
	}
	defer c.Close()
	authn, err := auth.New(auth.Config{Static: []auth.StaticToken{
		{Token: "operator-token-0123456789", User: "o1", Roles: []string{auth.Operator}},
		{Token: "editor-token-0123456789", User: "e1", Roles: []string{auth.Editor}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Auth: authn, Operator: ops}).Handler())
	defer srv.Close()
	call := func(method, path, token string, out any) int {
		t.Helper()
		return testenv.Call(t, method, srv.URL+path, token, "", out).StatusCode
	}
	const op = "operator-token-0123456789"

	if code := call("POST", "/api/ops/harvests/demo-oai", "", nil); code != http.StatusUnauthorized {
		t.Errorf("anonymous start: %d", code)
	}
	if code := call("POST", "/api/ops/harvests/demo-oai", "editor-token-0123456789", nil); code != http.StatusForbidden {
		t.Errorf("editor start: %d", code)
	}
	var e map[string]string
	if code := call("POST", "/api/ops/harvests/nosuchsource", op, &e); code != http.StatusNotFound || !strings.Contains(e["error"], "nosuchsource") {
		t.Errorf("unknown source: %d %v", code, e)
	}
	if code := call("POST", "/api/ops/harvests/demo-oai?from=yesterday", op, &e); code != http.StatusBadRequest {
		t.Errorf("a bad date: %d %v", code, e)
	}
	var started map[string]any
	if code := call("POST", "/api/ops/harvests/demo-oai", op, &started); code != http.StatusAccepted || started["workflow_id"] == "" {
		t.Fatalf("start: %d %v", code, started)
	}
	// Followed until it ends, as a page would.
	var st struct {
		Status string `json:"status"`
		Report *struct {
			Counts struct{ Indexed, Quarantined int } `json:"counts"`
		} `json:"report"`
	}
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(300 * time.Millisecond) {
		if code := call("GET", "/api/ops/harvests/demo-oai", op, &st); code != http.StatusOK {
			t.Fatalf("status: %d", code)
		}
		if st.Status != "running" || time.Now().After(deadline) {
			break
		}
	}
	if st.Status != "completed" || st.Report == nil || st.Report.Counts.Indexed != 10 || st.Report.Counts.Quarantined != 1 {
		t.Fatalf("harvest ended %q with %+v", st.Status, st.Report)
	}
	var rows []map[string]any
	if code := call("GET", "/api/ops/harvests?source=demo-oai", op, &rows); code != http.StatusOK || len(rows) != 1 || rows[0]["status"] != "completed" {
		t.Errorf("list: %d %v", code, rows)
	}
	if code := call("GET", "/api/ops/harvests?source=nothing", op, &rows); code != http.StatusOK || rows == nil || len(rows) != 0 {
		t.Errorf("empty list: %d %v", code, rows)
	}
	var q []map[string]any
	if code := call("GET", "/api/ops/quarantine?source=demo-oai", op, &q); code != http.StatusOK || len(q) != 1 {
		t.Errorf("quarantine: %d %v", code, q)
	}
	if code := call("POST", "/api/ops/harvests/demo-oai/cancel", op, &e); code != http.StatusNotFound || !strings.Contains(e["error"], "no harvest of demo-oai is running") {
		t.Errorf("cancel with nothing running: %d %v", code, e)
	}
	// One quarantined record whole, by the key the list gives.
	if len(q) == 1 {
		var rec map[string]any
		key, _ := q[0]["key"].(string)
		if code := call("GET", "/api/ops/quarantine/"+key, op, &rec); code != http.StatusOK || rec["key"] != key || rec["source"] != "demo-oai" {
			t.Errorf("quarantine show %s: %d %v", key, code, rec)
		}
	}
	if code := call("GET", "/api/ops/quarantine/quarantine/nothing/here.json", op, &e); code != http.StatusNotFound {
		t.Errorf("quarantine show of nothing: %d %v", code, e)
	}

	// The indices, and a rebuild of the education index followed to its end.
	if code := call("POST", "/api/ops/indices/everything/rebuild", op, &e); code != http.StatusBadRequest {
		t.Errorf("rebuild of an unknown kind: %d %v", code, e)
	}
	var rb map[string]string
	if code := call("POST", "/api/ops/indices/education/rebuild", op, &rb); code != http.StatusAccepted || rb["workflow_id"] == "" {
		t.Fatalf("rebuild: %d %v", code, rb)
	}
	var indices []struct {
		Kind    string `json:"kind"`
		Rebuild *struct {
			Status string `json:"status"`
		} `json:"rebuild"`
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(300 * time.Millisecond) {
		if code := call("GET", "/api/ops/indices", op, &indices); code != http.StatusOK || len(indices) != 2 {
			t.Fatalf("indices: %d %+v", code, indices)
		}
		done := false
		for _, ix := range indices {
			if ix.Kind == "education" && ix.Rebuild != nil && ix.Rebuild.Status != "running" {
				done = true
			}
		}
		if done || time.Now().After(deadline) {
			break
		}
	}
	for _, ix := range indices {
		if ix.Kind == "education" && (ix.Rebuild == nil || ix.Rebuild.Status != "completed") {
			t.Errorf("the education index's rebuild: %+v", ix.Rebuild)
		}
	}
}
