// Package testenv gives integration tests real servers. Under `make test`
// (`avo dev run -- go test ./...`) they come from the environment; a bare
// `go test` starts them itself and stops them when the package's tests end.
// Tests never skip for want of a server: a missing server fails the test.
package testenv

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/temporal"
	"go.temporal.io/server/temporaltest"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/chromedp/chromedp"
)

// Variables `avo dev run` sets.
const (
	EnvElasticsearch = "AVO_TEST_ELASTICSEARCH_URL"
	EnvS3            = "AVO_TEST_S3_ENDPOINT"
	EnvIssuer        = "AVO_TEST_ISSUER"
)

// Paths are resolved when the test binary starts, before any test changes
// the working directory.
var (
	cacheDir, cacheErr = devstack.CacheDir()
	versitygw, _       = devstack.FindVersityGW("")
)

var (
	mu      sync.Mutex
	stack   *devstack.Stack
	started bool

	keycloak  *devstack.Keycloak
	kcStarted bool
)

// Main runs the package's tests and stops any server they started; use it
// from TestMain: os.Exit(testenv.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	mu.Lock()
	defer mu.Unlock()
	if keycloak != nil {
		if err := keycloak.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stopping keycloak:", err)
		}
	}
	if stack != nil {
		if err := stack.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: stopping servers:", err)
		} else if err := devstack.RemoveData(cacheDir, stackName()); err != nil {
			fmt.Fprintln(os.Stderr, "testenv: removing the servers' data:", err)
		}
	}
	return code
}

// stackName names this process's test stack.
func stackName() string { return fmt.Sprintf("test-%d", os.Getpid()) }

// servers returns the Elasticsearch URL and S3 endpoint, starting a stack
// when the environment names none.
func servers(t testing.TB) (string, string) {
	t.Helper()
	es, s3 := os.Getenv(EnvElasticsearch), os.Getenv(EnvS3)
	if es != "" && s3 != "" {
		return es, s3
	}
	mu.Lock()
	defer mu.Unlock()
	if !started {
		started = true
		if cacheErr != nil {
			t.Fatalf("cache folder: %v", cacheErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		st, err := devstack.StartStack(ctx, devstack.StackOptions{
			CacheDir: cacheDir, S3Binary: versitygw, Name: stackName(), Fresh: true,
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		})
		if err != nil {
			t.Fatalf("start test servers (or run under `make test`): %v", err)
		}
		stack = st
		_ = os.Setenv("AWS_ACCESS_KEY_ID", devstack.S3AccessKey)
		_ = os.Setenv("AWS_SECRET_ACCESS_KEY", devstack.S3SecretKey)
	}
	if stack == nil {
		t.Fatal("test servers failed to start earlier in this package")
	}
	return stack.ElasticsearchURL, stack.S3Endpoint
}

// Issuer returns the issuer URL of the test identity provider (Keycloak
// with the avo realm), starting one when the environment names none.
func Issuer(t testing.TB) string {
	t.Helper()
	if is := os.Getenv(EnvIssuer); is != "" {
		return is
	}
	mu.Lock()
	defer mu.Unlock()
	if !kcStarted {
		kcStarted = true
		if cacheErr != nil {
			t.Fatalf("cache folder: %v", cacheErr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		k, err := devstack.StartKeycloak(ctx, devstack.KeycloakOptions{CacheDir: cacheDir, Name: stackName(),
			Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatalf("start the test identity provider (or run under `make test`): %v", err)
		}
		keycloak = k
	}
	if keycloak == nil {
		t.Fatal("the test identity provider failed to start earlier in this package")
	}
	return keycloak.Issuer
}

// Token signs in as the local realm's user of role (teacher, pupil,
// editor, operator) and returns the access token.
func Token(t testing.TB, issuer, role string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tok, err := devstack.SignIn(ctx, issuer, role)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Name returns a name unique to this test run, usable as an index prefix
// and bucket name: lower case letters and digits.
func Name(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := strings.ToLower(t.Name())
	var clean strings.Builder
	for _, r := range base {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			clean.WriteRune(r)
		}
		if clean.Len() >= 20 {
			break
		}
	}
	return "t" + clean.String() + hex.EncodeToString(b[:])
}

// Config returns a configuration on the test servers, with an index prefix
// and bucket of the test's own; the indices are deleted when it ends.
func Config(t testing.TB) config.Config {
	t.Helper()
	esURL, s3URL := servers(t)
	if os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		_ = os.Setenv("AWS_ACCESS_KEY_ID", devstack.S3AccessKey)
		_ = os.Setenv("AWS_SECRET_ACCESS_KEY", devstack.S3SecretKey)
	}
	t.Logf("integration test on Elasticsearch at %s and S3 (versitygw) at %s", esURL, s3URL)
	name := Name(t)
	c := config.Default()
	c.S3 = config.S3{Endpoint: s3URL, Region: devstack.S3Region, Bucket: name, PathStyle: true}
	c.Elasticsearch.URLs, c.Elasticsearch.IndexPrefix = []string{esURL}, name
	// Tests that run a worker process choose its metrics port.
	c.Worker.Listen = ""
	t.Cleanup(func() { deleteIndices(esURL, name) })
	return c
}

// Indices returns esindex.Indices on the test node for c.
func Indices(t testing.TB, c config.Config) esindex.Indices {
	t.Helper()
	es, err := esindex.NewClient(c.Elasticsearch)
	if err != nil {
		t.Fatal(err)
	}
	return esindex.Indices{ES: es, Prefix: c.Elasticsearch.IndexPrefix}
}

// Store returns the test's bucket, created.
func Store(t testing.TB, c config.Config) *s3store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := s3store.New(ctx, c.S3)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

// deleteIndices removes a test's indices and templates. Elasticsearch
// refuses to delete by wildcard, so the names are listed first.
func deleteIndices(esURL, prefix string) {
	es, err := esindex.NewClient(config.Elasticsearch{URLs: []string{esURL}})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := es.Cat.Indices(es.Cat.Indices.WithContext(ctx), es.Cat.Indices.WithIndex(prefix+"-*"), es.Cat.Indices.WithH("index"), es.Cat.Indices.WithFormat("json"))
	if err != nil {
		return
	}
	var rows []struct {
		Index string `json:"index"`
	}
	err = json.NewDecoder(res.Body).Decode(&rows)
	res.Body.Close()
	if err == nil && len(rows) > 0 {
		names := make([]string, 0, len(rows))
		for _, r := range rows {
			names = append(names, r.Index)
		}
		if res, err := es.Indices.Delete(names, es.Indices.Delete.WithContext(ctx)); err == nil {
			res.Body.Close()
		}
	}
	if res, err := es.Indices.DeleteIndexTemplate(prefix+"-*", es.Indices.DeleteIndexTemplate.WithContext(ctx)); err == nil {
		res.Body.Close()
	}
}

// Temporal starts an in-process Temporal server for one test. Task queues
// get one partition, as on a development server: with several, a lone
// worker's poll can sit on an empty partition for its whole long-poll.
func Temporal(t testing.TB) *temporaltest.TestServer {
	defer func(start time.Time) {
		t.Logf("in-process Temporal server started in %s", time.Since(start).Round(time.Millisecond))
	}(time.Now())
	opts := []temporaltest.TestServerOption{}
	if tt, ok := t.(*testing.T); ok {
		opts = append(opts, temporaltest.WithT(tt))
	}
	ts := temporaltest.NewServer(append(opts, temporaltest.WithBaseServerOptions(
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():      []dynamicconfig.ConstrainedValue{{Value: 1}},
			dynamicconfig.MatchingNumTaskqueueWritePartitions.Key():     []dynamicconfig.ConstrainedValue{{Value: 1}},
		}),
	))...)
	if _, ok := t.(*testing.T); !ok {
		t.Cleanup(ts.Stop)
	}
	return ts
}

// Call sends method url with body (none when empty) and a bearer token
// (none when empty), decodes a JSON answer into out (when not nil) and
// returns the response, its body read.
func Call(t testing.TB, method, url, token, body string, out any) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
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
			t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
		}
	}
	return res
}

// BareBulk sends documents to index in _bulk bodies of 5 MB, one after
// the other, checking only the errors flag of each response: the bare
// operation benchmarks compare avo's indexing with.
func BareBulk(tb testing.TB, ctx context.Context, ix esindex.Indices, index string, docs []esindex.Op) {
	var body bytes.Buffer
	send := func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/"+index+"/_bulk", bytes.NewReader(body.Bytes()))
		req.Header.Set("Content-Type", "application/x-ndjson")
		res, err := ix.ES.Perform(req)
		if err != nil {
			tb.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		var out struct {
			Errors bool `json:"errors"`
		}
		if res.StatusCode != 200 || json.Unmarshal(raw, &out) != nil || out.Errors {
			tb.Fatalf("bare bulk: %d %.300s", res.StatusCode, raw)
		}
		body.Reset()
	}
	for _, op := range docs {
		fmt.Fprintf(&body, `{"index":{"_id":%q}}`+"\n", op.ID)
		body.Write(op.Doc)
		body.WriteByte('\n')
		if body.Len() >= 5<<20 {
			send()
		}
	}
	if body.Len() > 0 {
		send()
	}
}

// Python returns the interpreter of a virtual environment under the
// project's cache that holds packages (pip requirement specifiers,
// pinned), made and filled on first use: independent clients that tests
// run against avo.
func Python(t testing.TB, packages ...string) string {
	t.Helper()
	if cacheErr != nil {
		t.Fatalf("cache folder: %v", cacheErr)
	}
	pyMu.Lock()
	defer pyMu.Unlock()
	sum := sha256.Sum256([]byte(strings.Join(packages, " ")))
	dir := filepath.Join(cacheDir, "python", hex.EncodeToString(sum[:6]))
	python := filepath.Join(dir, "bin", "python")
	ready := filepath.Join(dir, ".installed")
	if _, err := os.Stat(ready); err == nil {
		return python
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	for _, cmd := range [][]string{
		{"python3", "-m", "venv", "--clear", dir},
		append([]string{python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"}, packages...),
	} {
		if out, err := exec.CommandContext(ctx, cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(cmd, " "), err, out)
		}
	}
	if err := os.WriteFile(ready, []byte(strings.Join(packages, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return python
}

var pyMu sync.Mutex

// Browser starts headless Chromium (`make browser` installs it) with a
// profile of its own and returns a tab that ends, with the browser, when
// the test does or after timeout.
func Browser(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("chromium not found: `make browser` installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-dev-shm-usage", true),
		// A muted video may start without a click, as on any page.
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc) // ends the browser process
	bctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancelTimeout := context.WithTimeout(bctx, timeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// Until waits until expr is true in the tab, whichever page it holds
// meanwhile (a sign-in goes to the identity provider and back).
func Until(expr string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(30 * time.Second)
		for {
			ok, err := chromedp.Evaluate[bool](expr)(ctx, tg)
			if err == nil && ok {
				return chromedp.Void{}, nil
			}
			if time.Now().After(deadline) {
				return chromedp.Void{}, fmt.Errorf("not true after 30s: %s (last error: %v)", expr, err)
			}
			select {
			case <-ctx.Done():
				return chromedp.Void{}, ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
}

// Into stores an action's result in dst.
func Into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		v, err := a(ctx, tg)
		*dst = v
		return chromedp.Void{}, err
	}
}
