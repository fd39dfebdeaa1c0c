package main

import (
	"context"
	"encoding/json"
	"io"
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

// TestOperatorAPI starts, follows, lists and cancels harvests and reads
// the quarantine over HTTP as an operator, against real Temporal, S3,
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
		"--sources", srcFile, "--log-level", "error",
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
		req, _ := http.NewRequestWithContext(ctx, method, srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
			}
		}
		return res.StatusCode
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
}
