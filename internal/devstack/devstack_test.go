package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Resolved before any test changes directory.
var versitygw, versitygwErr = FindVersityGW("")

func gateway(t *testing.T) string {
	t.Helper()
	if versitygwErr != nil {
		t.Fatal(versitygwErr)
	}
	return versitygw
}

func TestPortInUseIsNamed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = StartS3(context.Background(), S3Options{Binary: gateway(t), CacheDir: t.TempDir(), Port: port})
	if !errors.Is(err, ErrPortInUse) || !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("want a port-in-use error naming %d, got %v", port, err)
	}
}

func TestJavaNotFoundIsNamed(t *testing.T) {
	t.Setenv("ES_JAVA_HOME", filepath.Join(t.TempDir(), "no-jdk"))
	if _, err := findJava(); err == nil || !strings.Contains(err.Error(), "java not found") {
		t.Errorf("bad ES_JAVA_HOME: %v", err)
	}
	t.Setenv("ES_JAVA_HOME", "")
	t.Setenv("JAVA_HOME", "")
	t.Setenv("PATH", t.TempDir())
	if _, err := findJava(); err == nil || !strings.HasPrefix(err.Error(), "java not found") {
		t.Errorf("no java on PATH: %v", err)
	}
}

func TestMissingVersityGWIsNamed(t *testing.T) {
	if _, err := FindVersityGW(filepath.Join(t.TempDir(), "versitygw")); err == nil || !strings.Contains(err.Error(), "versitygw not found") {
		t.Errorf("got %v", err)
	}
}

// `avo dev up` twice starts one server; `avo dev down` stops it by pid.
func TestDetachedStartIsIdempotent(t *testing.T) {
	cache := t.TempDir()
	o := S3Options{Binary: gateway(t), CacheDir: cache, Name: "idem", Detached: true}
	t.Cleanup(func() { _, _ = StopDetached(cache, "versitygw-idem") })
	first, err := StartS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	second, err := StartS3(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if second.PID != first.PID || second.URL != first.URL || second.Attached() {
		t.Fatalf("second start gave pid %d at %s (attached %v); first was pid %d at %s", second.PID, second.URL, second.Attached(), first.PID, first.URL)
	}
	stopped, err := StopDetached(cache, "versitygw-idem")
	if err != nil || !stopped {
		t.Fatalf("stop: %v %v", stopped, err)
	}
	if alive(first.PID, "versitygw") {
		t.Errorf("pid %d still runs after stop", first.PID)
	}
	if stopped, _ := StopDetached(cache, "versitygw-idem"); stopped {
		t.Error("a second stop found something to stop")
	}
}

// A server started by a process that dies without stopping it (killed
// with SIGKILL, say) dies too: nothing is left running.
func TestAttachedServerDiesWithItsParent(t *testing.T) {
	if os.Getenv("AVO_DEVSTACK_HELPER") == "1" {
		p, err := StartS3(context.Background(), S3Options{Binary: os.Getenv("AVO_VERSITYGW"), CacheDir: os.Getenv("AVO_CACHE"), Name: "orphan"})
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("pid", p.PID)
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	helper := exec.Command(os.Args[0], "-test.run=^TestAttachedServerDiesWithItsParent$")
	helper.Env = append(os.Environ(), "AVO_DEVSTACK_HELPER=1", "AVO_VERSITYGW="+gateway(t), "AVO_CACHE="+t.TempDir())
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = helper.Process.Kill(); _ = helper.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("helper: %v", err)
	}
	var pid int
	if _, err := fmt.Sscanf(line, "pid %d", &pid); err != nil {
		t.Fatalf("helper said %q", line)
	}
	if !alive(pid, "versitygw") {
		t.Fatalf("versitygw (pid %d) is not running", pid)
	}
	if err := helper.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = helper.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid, "versitygw") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if alive(pid, "versitygw") {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("versitygw (pid %d) outlived its killed parent", pid)
	}
}

// The embedded Temporal server keeps its state in SQLite across restarts.
func TestEmbeddedTemporalPersists(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db := filepath.Join(t.TempDir(), "temporal.db")
	for i := range 2 {
		ts, err := StartTemporal(ctx, TemporalOptions{DatabaseFile: db, Namespace: "avo-test"})
		if err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		c, err := client.DialContext(ctx, client.Options{HostPort: ts.Address, Namespace: "avo-test", Logger: quietLogger{}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil {
			t.Fatal(err)
		}
		c.Close()
		if err := ts.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("no database file: %v", err)
	}
}

func TestUnreachableFindsTheBlockingFolder(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create folders another account cannot enter")
	}
	base := t.TempDir()
	private := filepath.Join(base, "private")
	inner := filepath.Join(private, "cache")
	if err := os.MkdirAll(inner, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	if got := unreachable(inner, 12345, 12345); got != private {
		t.Errorf("blocked at %q, want %q", got, private)
	}
	if got := unreachable(inner, os.Geteuid(), os.Getegid()); got != "" {
		t.Errorf("our own account is blocked at %q", got)
	}
}

// A server of the stack that ends on its own is noticed and named, with
// the end of its log.
func TestDiedNamesTheServer(t *testing.T) {
	p, err := StartS3(context.Background(), S3Options{Binary: gateway(t), CacheDir: t.TempDir(), Name: "died"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	s := &Stack{S3: p}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	died := s.Died(ctx, 100*time.Millisecond)
	select {
	case err := <-died:
		t.Fatalf("reported dead while it runs: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-died:
		if !strings.Contains(err.Error(), p.Name) || !strings.Contains(err.Error(), strconv.Itoa(p.PID)) || !strings.Contains(err.Error(), "stopped on its own") {
			t.Errorf("died: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("a killed server was not noticed")
	}
}

func TestStackNameIsLockedWhileInUse(t *testing.T) {
	dir := t.TempDir()
	first, err := lockStack(dir, "test")
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockStack(dir, "test")
	want := fmt.Sprintf(`the local stack "test" is in use by another avo (pid %d); give this one another name (--name)`, os.Getpid())
	if err == nil || err.Error() != want {
		t.Fatalf("second lock: %v, want %q", err, want)
	}
	other, err := lockStack(dir, "other")
	if err != nil {
		t.Fatalf("another name: %v", err)
	}
	other.Close()
	first.Close()
	again, err := lockStack(dir, "test")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Close()
}

// The local Temporal server serves its Web UI when asked: the UI answers
// and lists a workflow started on the server, found by its search
// attribute as an operator would.
func TestTemporalWebUIListsWorkflows(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ts, err := StartTemporal(ctx, TemporalOptions{Namespace: "avo-ui", UI: true,
		SearchAttributes: map[string]enumspb.IndexedValueType{"AvoSource": enumspb.INDEXED_VALUE_TYPE_KEYWORD}})
	if err != nil {
		t.Fatal(err)
	}
	defer ts.Stop()
	if ts.UIURL == "" {
		t.Fatal("no UI address")
	}
	c, err := client.DialContext(ctx, client.Options{HostPort: ts.Address, Namespace: "avo-ui", Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// No worker runs it: it waits, listed as running.
	_, err = c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "harvest:ui-test/*", TaskQueue: "nobody",
		TypedSearchAttributes: temporal.NewSearchAttributes(temporal.NewSearchAttributeKeyKeyword("AvoSource").ValueSet("ui-test"))}, "Harvest")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(ts.UIURL + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(page), "<html") {
		t.Fatalf("the UI's page: %d %.200s", res.StatusCode, page)
	}
	q := url.Values{"query": {`AvoSource="ui-test"`}}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		res, err := http.Get(ts.UIURL + "/api/v1/namespaces/avo-ui/workflows?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK && strings.Contains(string(body), `"harvest:ui-test/*"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the UI does not list the workflow: %d %.300s", res.StatusCode, body)
		}
	}
}

// A stack started to be discarded takes its S3 objects and Elasticsearch
// data along when it stops, and only its own.
func TestDiscardedStackRemovesItsData(t *testing.T) {
	cache := t.TempDir()
	for _, name := range []string{"gone", "kept"} {
		for _, dir := range stackData(cache, name) {
			if err := os.MkdirAll(filepath.Join(dir, "buckets", "avo"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "buckets", "avo", "object"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := &Stack{data: stackData(cache, "gone")}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, dir := range stackData(cache, "gone") {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there (%v)", dir, err)
		}
	}
	for _, dir := range stackData(cache, "kept") {
		if _, err := os.Stat(filepath.Join(dir, "buckets", "avo", "object")); err != nil {
			t.Errorf("another stack's data went too: %v", err)
		}
	}
}
