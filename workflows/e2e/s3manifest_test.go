package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// recorder stands in front of the S3 server and notes every request that
// reaches it: "LIST prefix" for a listing, "GET key", "HEAD key", "PUT
// key" for the rest.
type recorder struct {
	bucket string
	mu     sync.Mutex
	seen   []string
}

func newRecorder(t testing.TB, f *fixture, bucket string) (*recorder, string) {
	t.Helper()
	target, err := url.Parse(f.clients.Config.S3.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{bucket: bucket}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// Connections to the S3 server are kept for as many requests as the
	// writers make at once: the default transport keeps two, and dialling
	// the rest anew took a sixth of the benchmark's CPU away from the
	// stack it measures.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 512, 512
	t.Cleanup(tr.CloseIdleConnections)
	proxy.Transport = tr
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.note(r)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return rec, srv.URL
}

func (r *recorder) note(req *http.Request) {
	key := strings.TrimPrefix(strings.TrimPrefix(req.URL.Path, "/"+r.bucket), "/")
	what := req.Method + " " + key
	if req.Method == http.MethodGet && key == "" && req.URL.Query().Get("list-type") == "2" {
		what = "LIST " + req.URL.Query().Get("prefix")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, what)
}

// take returns the requests noted since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.seen
	r.seen = nil
	return out
}

// reads returns the keys of the GET and HEAD requests among seen, sorted.
func reads(seen []string) []string {
	var out []string
	for _, s := range seen {
		if k, ok := strings.CutPrefix(s, "GET "); ok {
			out = append(out, k)
		} else if k, ok := strings.CutPrefix(s, "HEAD "); ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// sidecar is a MediaHaven sidecar of the item pid with a title.
func sidecar(t testing.TB, pid, title string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), "internal/demo/data/bucket/sidecars/dm22karre01.xml"))
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.ReplaceAll(b, []byte("dm22karre01"), []byte(pid))
	return bytes.Replace(b, []byte("Waarom fietsen kinderen minder naar school?"), []byte(title), 1)
}

// A partner bucket of sidecars beside their video, a SIP package and an
// oversized metadata file, harvested by manifest: the first run reads
// every metadata object and nothing else; after changes a second run
// reads exactly what changed and deletes what vanished; a run without
// changes only lists. Every request the S3 server sees is watched.
func TestS3ManifestReadsOnlyWhatChangedAndNeverTheEssence(t *testing.T) {
	f := newFixture(t)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	rec, endpoint := newRecorder(t, f, f.partner.Bucket)
	put := func(key string, body []byte) {
		t.Helper()
		if err := f.partner.Put(f.ctx, key, body, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
	}
	del := func(key string) {
		t.Helper()
		if err := f.partner.Delete(f.ctx, key); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 8; i++ {
		pid := fmt.Sprintf("s3x%04d", i)
		put("arch/sidecars/"+pid+".xml", sidecar(t, pid, "Aflevering "+pid))
		put("arch/sidecars/"+pid+".mp4", []byte("essence: never read"))
	}
	sip, err := os.ReadFile(filepath.Join(moduleRoot(t), "mappings/testdata/samples/sip-expo58.xml"))
	if err != nil {
		t.Fatal(err)
	}
	put("arch/sip/expo/METS.xml", []byte("<mets/>"))
	put("arch/sip/expo/metadata/descriptive/dc+schema.xml", sip)
	put("arch/sip/expo/data/representations/1/expo58.mxf", []byte("essence: never read"))
	put("arch/sidecars/huge.xml", bytes.Repeat([]byte(" "), mappings.MaxRecordBytes+1))
	put("elsewhere/s3x9999.xml", sidecar(t, "s3x9999", "not under a prefix"))
	rec.take()

	src := sources.Source{ID: "arch", Kind: sources.KindS3, S3: &sources.S3{
		Bucket: f.partner.Bucket, Endpoint: endpoint, Prefixes: []string{"arch/sip/", "arch/sidecars/"}, Batch: 3, Parallel: 2, Concurrency: 4,
		Rules: []sources.Rule{
			{Match: "**/*.xml", Except: []string{"**/METS.xml", "**/metadata/**"}, Mapping: "mediahaven-sidecar"},
			{Match: "**/metadata/descriptive/dc+schema.xml", Mapping: "sip-dc-schema"},
		},
	}}
	metadata := []string{"arch/sidecars/s3x0001.xml", "arch/sidecars/s3x0002.xml", "arch/sidecars/s3x0003.xml", "arch/sidecars/s3x0004.xml",
		"arch/sidecars/s3x0005.xml", "arch/sidecars/s3x0006.xml", "arch/sidecars/s3x0007.xml", "arch/sidecars/s3x0008.xml",
		"arch/sip/expo/metadata/descriptive/dc+schema.xml"}

	// First run: every metadata object is read once, the oversized one
	// not at all (quarantined), the essence never.
	res := f.harvest(t, src, workflows.HarvestOptions{})
	if got := reads(rec.take()); !slices.Equal(got, metadata) {
		t.Errorf("first run read %v, want exactly the metadata %v", got, metadata)
	}
	if c := res.Counts; c.Listed != 20 || c.Records != 10 || c.Indexed != 9 || c.Quarantined != 1 || c.Unchanged != 0 || c.Pages != 4 {
		t.Errorf("first run counts %+v: want 20 keys listed under the prefixes, 10 metadata objects in 4 batches, 9 indexed, the oversized one quarantined", c)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "arch"})
	if err != nil || len(q) != 1 || q[0].Identifier != "arch/sidecars/huge.xml" || !strings.Contains(q[0].Errors[0], "not read") {
		t.Errorf("quarantine %+v %v", q, err)
	}
	var r profile.Record
	if err := f.clients.Store.GetJSON(f.ctx, bucket.RecordKey("arch", "arch/sidecars/s3x0001.xml"), &r); err != nil || r.Provenance.ETag == "" {
		t.Errorf("the record points to no object version: %+v %v", r.Provenance, err)
	}
	// The video beside the sidecar is its browse copy (never read).
	wantMedia := profile.Media{Source: "arch", Bucket: f.partner.Bucket, Key: "arch/sidecars/s3x0001.mp4", Type: "video/mp4"}
	if r.Media == nil || *r.Media != wantMedia {
		t.Errorf("browse copy %+v, want %+v", r.Media, wantMedia)
	}

	// Changes: one sidecar edited, one added (with its video), one
	// deleted (with its video), one written again unchanged, one given a
	// better browse copy (WebM beside its MP4).
	put("arch/sidecars/s3x0002.xml", sidecar(t, "s3x0002", "Nieuwe titel"))
	put("arch/sidecars/s3x0009.xml", sidecar(t, "s3x0009", "Aflevering s3x0009"))
	put("arch/sidecars/s3x0009.mp4", []byte("essence: never read"))
	del("arch/sidecars/s3x0003.xml")
	del("arch/sidecars/s3x0003.mp4")
	put("arch/sidecars/s3x0004.xml", sidecar(t, "s3x0004", "Aflevering s3x0004"))
	put("arch/sidecars/s3x0005.webm", []byte("essence: never read"))
	rec.take()

	res = f.harvest(t, src, workflows.HarvestOptions{})
	want := []string{"arch/sidecars/s3x0002.xml", "arch/sidecars/s3x0005.xml", "arch/sidecars/s3x0009.xml"}
	if got := reads(rec.take()); !slices.Equal(got, want) {
		t.Errorf("second run read %v, want exactly the changed %v", got, want)
	}
	if c := res.Counts; c.Records != 3 || c.Indexed != 3 || c.Swept != 1 || c.Unchanged != 7 || c.Quarantined != 0 {
		t.Errorf("second run counts %+v: want 3 read and indexed, 1 deleted, 7 unchanged", c)
	}
	r = profile.Record{}
	if err := f.clients.Store.GetJSON(f.ctx, bucket.RecordKey("arch", "arch/sidecars/s3x0005.xml"), &r); err != nil || r.Media == nil || r.Media.Key != "arch/sidecars/s3x0005.webm" || r.Media.Type != "video/webm" {
		t.Errorf("browse copy of s3x0005 after a WebM came: %+v %v", r.Media, err)
	}
	if n := f.count(t); n != 9 {
		t.Errorf("the catalog holds %d documents, want 9", n)
	}
	if title := f.title(t, "s3x0002"); title != "Nieuwe titel" {
		t.Errorf("edited item has title %q", title)
	}
	if title := f.title(t, "s3x0009"); title != "Aflevering s3x0009" {
		t.Errorf("added item has title %q", title)
	}
	if title := f.title(t, "s3x0003"); title != "" {
		t.Errorf("deleted item still indexed (%q)", title)
	}

	// Nothing changed: only listings reach the server.
	res = f.harvest(t, src, workflows.HarvestOptions{})
	for _, s := range rec.take() {
		if !strings.HasPrefix(s, "LIST ") {
			t.Errorf("a run without changes made %s", s)
		}
	}
	if c := res.Counts; c.Records != 0 || c.Unchanged != 10 || c.Swept != 0 {
		t.Errorf("run without changes: %+v", c)
	}

	// Most of it vanishes: refused, and the manifest stays, so the run
	// the operator allows deletes exactly those.
	for _, pid := range []string{"s3x0004", "s3x0005", "s3x0006", "s3x0007"} {
		del("arch/sidecars/" + pid + ".xml")
	}
	err, rep := f.fail(t, src, workflows.HarvestOptions{})
	if !strings.Contains(rep.Error, "refusing to delete 4 of the 10 records of source arch") {
		t.Errorf("mass delete: %v (report %q)", err, rep.Error)
	}
	if n := f.count(t); n != 9 {
		t.Errorf("after the refused run the catalog holds %d documents, want 9", n)
	}
	res = f.harvest(t, src, workflows.HarvestOptions{AllowMassDelete: true})
	if c := res.Counts; c.Swept != 4 || c.Records != 0 {
		t.Errorf("allowed run: %+v, want the 4 deleted", c)
	}
	if n := f.count(t); n != 5 {
		t.Errorf("the catalog holds %d documents, want 5", n)
	}
}

// title is the catalog title of the item pid ("" when it is not there).
func (f *fixture) title(t *testing.T, pid string) string {
	t.Helper()
	u := f.clients.Config.Elasticsearch.URLs[0] + "/" + f.clients.Indices.Alias(esindex.Catalog) + "/_doc/" + pid
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc struct {
		Found  bool `json:"found"`
		Source struct {
			Title string `json:"dc_title"`
		} `json:"_source"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil && resp.StatusCode != http.StatusNotFound {
		t.Fatal(err)
	}
	return doc.Source.Title
}

// A worker killed while a partner bucket's batches run loses and
// duplicates nothing: another worker takes over, every object ends as one
// record and one document, the manifest is committed once, and the next
// run finds nothing to do.
func TestS3KilledWorkerLosesNothing(t *testing.T) {
	f := newFixtureWorker(t, false)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		pid := fmt.Sprintf("kill%04d", i)
		if err := f.partner.Put(f.ctx, "kill/"+pid+".xml", sidecar(t, pid, "Titel "+pid), "application/xml"); err != nil {
			t.Fatal(err)
		}
	}
	// Each read takes a while, so that the kill finds batches under way.
	target, err := url.Parse(f.clients.Config.S3.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Query().Get("list-type") == "" {
			time.Sleep(30 * time.Millisecond)
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sources.Source{ID: "kill", Kind: sources.KindS3, Mapping: "mediahaven-sidecar",
		S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "kill/", Endpoint: srv.URL, Batch: 10, Parallel: 2, Concurrency: 2}}
	opts := workflows.HarvestOptions{Timeouts: workflows.Timeouts{RetryBase: 50 * time.Millisecond, Heartbeat: 2 * time.Second, Page: time.Minute}}

	first := startHelperWorker(t, f.clients.Config)
	run, err := f.clients.StartHarvest(f.ctx, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := f.clients.HarvestStatus(f.ctx, "kill", "")
		if err == nil && st.Progress != nil && st.Progress.Page >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the harvest did not reach batch 6: %+v %v", st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	startHelperWorker(t, f.clients.Config)
	res, err := run.Result(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Pages != n/10 || res.Counts.Quarantined != 0 {
		t.Errorf("counts %+v: want %d batches, nothing quarantined", res.Counts, n/10)
	}
	docs, records := f.state(t, "kill")
	if len(docs) != n || len(records) != n {
		t.Errorf("%d documents and %d records, want %d of each", len(docs), len(records), n)
	}
	for i, d := range docs {
		pid := fmt.Sprintf("kill%04d", i)
		if want := pid + " Titel " + pid + " kill/" + pid + ".xml"; d != want {
			t.Errorf("document %q, want %q", d, want)
			break
		}
	}
	again := f.harvest(t, src, opts)
	if again.Counts.Records != 0 || again.Counts.Unchanged != n {
		t.Errorf("the run after: %+v, want nothing to read", again.Counts)
	}
}

// Editors' decisions outlive whatever happens to the record: a changed
// record harvested again stays published, and so does one that was
// deleted and came back (the catalog no longer knew it).
func TestEditorialDecisionOutlivesReharvest(t *testing.T) {
	f := newFixture(t)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	put := func(title string) {
		t.Helper()
		if err := f.partner.Put(f.ctx, "ed/ed0001.xml", sidecar(t, "ed0001", title), "application/xml"); err != nil {
			t.Fatal(err)
		}
	}
	src := sources.Source{ID: "ed", Kind: sources.KindS3, Mapping: "mediahaven-sidecar", S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "ed/"}}
	put("Eerste titel")
	f.harvest(t, src, workflows.HarvestOptions{})
	f.publish(t, "ed0001")
	published := func(when string) {
		t.Helper()
		if ids := f.educationIDs(t); !slices.Equal(ids, []string{"ed0001"}) {
			t.Errorf("%s: teachers find %v, want ed0001", when, ids)
		}
		var r profile.Record
		if err := f.clients.Store.GetJSON(f.ctx, bucket.RecordKey("ed", "ed/ed0001.xml"), &r); err != nil || !r.Rights.Published || r.Rights.EditorialAt == nil {
			t.Errorf("%s: record rights %+v %v", when, r.Rights, err)
		}
	}
	put("Tweede titel")
	if res := f.harvest(t, src, workflows.HarvestOptions{}); res.Counts.Indexed != 1 {
		t.Fatalf("changed record: %+v", res.Counts)
	}
	if title := f.title(t, "ed0001"); title != "Tweede titel" {
		t.Errorf("title %q after the change", title)
	}
	published("after a change")

	if err := f.partner.Delete(f.ctx, "ed/ed0001.xml"); err != nil {
		t.Fatal(err)
	}
	if res := f.harvest(t, src, workflows.HarvestOptions{AllowMassDelete: true}); res.Counts.Swept != 1 || f.count(t) != 0 {
		t.Fatalf("deleted record: %+v, %d documents", res.Counts, f.count(t))
	}
	put("Derde titel")
	if res := f.harvest(t, src, workflows.HarvestOptions{}); res.Counts.Indexed != 1 {
		t.Fatalf("record back: %+v", res.Counts)
	}
	published("after it came back")
}
