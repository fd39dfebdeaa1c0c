package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// A partner bucket read by rules: sidecars beside their video, a SIP
// package whose descriptive metadata is read with its own mapping and
// whose METS.xml and essence are not, each record mapped by its rule.
func TestS3RulesChooseTheMapping(t *testing.T) {
	f := newFixture(t)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	root, err := devstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	objects := map[string][]byte{
		"in/2024/dm22karre01.xml":                        read("internal/demo/data/bucket/sidecars/dm22karre01.xml"),
		"in/2024/dm22karre01.mp4":                        []byte("not metadata: never read"),
		"in/sip-expo/METS.xml":                           []byte("<mets/>"),
		"in/sip-expo/metadata/descriptive/dc+schema.xml": read("mappings/testdata/samples/sip-expo58.xml"),
		"in/sip-expo/data/representations/1/expo58.mxf":  []byte("not metadata: never read"),
		"in/sip-expo/metadata/preservation/premis.xml":   []byte("<premis/>"),
	}
	for key, body := range objects {
		if err := f.partner.Put(f.ctx, key, body, "application/octet-stream"); err != nil {
			t.Fatal(err)
		}
	}
	src := sources.Source{ID: "rules", Kind: sources.KindS3, S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "in/", Rules: []sources.Rule{
		{Match: "**/*.xml", Except: []string{"**/METS.xml", "**/metadata/**"}, Mapping: "mediahaven-sidecar"},
		{Match: "**/metadata/descriptive/dc+schema.xml", Mapping: "sip-dc-schema"},
	}}}
	res := f.harvest(t, src, workflows.HarvestOptions{})
	if res.Counts.Records != 2 || res.Counts.Indexed != 2 || res.Counts.Quarantined != 0 {
		t.Fatalf("counts %+v, want the sidecar and the SIP record", res.Counts)
	}
	var formats []string
	for _, key := range f.keys(t, "records/rules/") {
		var rec profile.Record
		if err := f.clients.Store.GetJSON(f.ctx, key, &rec); err != nil {
			t.Fatal(err)
		}
		formats = append(formats, rec.Provenance.Identifier+" "+rec.Provenance.Format)
	}
	slices.Sort(formats)
	want := []string{"in/2024/dm22karre01.xml mediahaven-sidecar", "in/sip-expo/metadata/descriptive/dc+schema.xml sip-dc-schema"}
	if !slices.Equal(formats, want) {
		t.Errorf("records %v, want %v", formats, want)
	}
}

// An object the credentials may not read is quarantined with the reason
// and the run goes on; what an earlier run made of it stays (the sweep
// keeps it). A bucket that does not exist fails the run at once, saying so.
func TestS3ObjectDeniedAndBucketMissing(t *testing.T) {
	f := newFixture(t)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []string{"dm22karre01", "dm23expo58"} {
		body, err := os.ReadFile(filepath.Join(moduleRoot(t), "internal/demo/data/bucket/sidecars", pid+".xml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := f.partner.Put(f.ctx, "deny/"+pid+".xml", body, "application/xml"); err != nil {
			t.Fatal(err)
		}
	}
	target, err := url.Parse(f.clients.Config.S3.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var deny atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if deny.Load() && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/deny/dm23expo58.xml") {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src := sources.Source{ID: "deny", Kind: sources.KindS3, Mapping: "mediahaven-sidecar",
		S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "deny/", Endpoint: srv.URL}}
	if res := f.harvest(t, src, workflows.HarvestOptions{}); res.Counts.Indexed != 2 {
		t.Fatalf("first harvest %+v", res.Counts)
	}
	deny.Store(true)
	// A run that reads everything again (--full): the object it may not
	// read is quarantined, the other indexed, nothing swept.
	res := f.harvest(t, src, workflows.HarvestOptions{Full: true})
	if res.Counts.Records != 2 || res.Counts.Unchanged != 1 || res.Counts.Quarantined != 1 || res.Counts.Swept != 0 {
		t.Errorf("counts %+v: want one read and unchanged, one quarantined, nothing swept", res.Counts)
	}
	// An incremental run reads the unreadable object again, though it
	// did not change, and only that one.
	res = f.harvest(t, src, workflows.HarvestOptions{})
	if res.Counts.Records != 1 || res.Counts.Quarantined != 1 || res.Counts.Unchanged != 1 {
		t.Errorf("incremental run while denied: %+v, want the denied object read again", res.Counts)
	}
	deny.Store(false)
	res = f.harvest(t, src, workflows.HarvestOptions{})
	if res.Counts.Records != 1 || res.Counts.Quarantined != 0 || res.Counts.Unchanged != 2 {
		t.Errorf("incremental run once allowed: %+v, want the object read (as the index holds it)", res.Counts)
	}
	if res = f.harvest(t, src, workflows.HarvestOptions{}); res.Counts.Records != 0 || res.Counts.Unchanged != 2 {
		t.Errorf("run without changes: %+v, want nothing read", res.Counts)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "deny"})
	if err != nil || len(q) != 2 || !strings.Contains(strings.Join(q[0].Errors, " "), "is not allowed: the credentials need s3:GetObject") {
		t.Errorf("quarantine %+v, %v", q, err)
	}
	if n := f.count(t); n != 2 {
		t.Errorf("the catalog holds %d documents, want both still", n)
	}

	missing := sources.Source{ID: "nobucket", Kind: sources.KindS3, Mapping: "mediahaven-sidecar",
		S3: &sources.S3{Bucket: "avo-no-such-partner-bucket"}}
	start := time.Now()
	err, rep := f.fail(t, missing, fast)
	if !strings.Contains(rep.Error, "bucket avo-no-such-partner-bucket does not exist") || time.Since(start) > 30*time.Second {
		t.Errorf("missing bucket: %v (report %q) after %s", err, rep.Error, time.Since(start))
	}
}

func moduleRoot(t testing.TB) string {
	t.Helper()
	root, err := devstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}
