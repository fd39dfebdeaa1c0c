package sources

import (
	"fmt"
	"strings"
	"testing"
)

// known stands in for mappings.Lookup, which this package may not import.
func known(name string) error {
	if name == "oai_dc" || name == "mediahaven-sidecar" {
		return nil
	}
	return fmt.Errorf("unknown mapping %q", name)
}

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParse(t *testing.T) {
	f, err := Parse([]byte(`
sources:
  - id: vrt
    kind: oai-pmh
    mapping: oai_dc
    oai: {url: "${VRT_URL}", metadata_prefix: oai_dc, sets: [a, b], delay: 500ms, auth_header: Authorization, auth_env: VRT_TOKEN}
  - id: bucket
    kind: s3
    mapping: mediahaven-sidecar
    s3: {bucket: partner, prefix: sidecars/}
`), env(map[string]string{"VRT_URL": "https://oai.example.org/oai"}), known)
	if err != nil {
		t.Fatal(err)
	}
	vrt, err := f.Get("vrt")
	if err != nil || vrt.OAI.URL != "https://oai.example.org/oai" || len(vrt.OAI.Sets) != 2 || vrt.OAI.Delay == 0 {
		t.Errorf("vrt: %+v %v", vrt, err)
	}
	if b, _ := f.Get("bucket"); len(b.S3.MetadataSuffixes()) != 1 || b.S3.MetadataSuffixes()[0] != ".xml" {
		t.Errorf("default suffixes: %v", b.S3.MetadataSuffixes())
	}
	if _, err := f.Get("nope"); err == nil || !strings.Contains(err.Error(), "bucket, vrt") {
		t.Errorf("unknown source: %v", err)
	}
}

// Every problem of a sources file is reported at once.
func TestParseReportsEveryProblem(t *testing.T) {
	_, err := Parse([]byte(`
sources:
  - id: Bad ID
    kind: ftp
    mapping: marc
  - id: o
    kind: oai-pmh
    mapping: oai_dc
    oai: {url: "ftp://x", auth_header: X, parallel: 65}
  - id: o
    kind: s3
    mapping: oai_dc
`), env(nil), known)
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"id must be", `kind "ftp"`, "unknown mapping", "not an http(s) URL", "metadata_prefix is empty", "oai.parallel 65: want 1 to 64", "go together", "id used twice", "needs s3.bucket"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if _, err := Parse([]byte("sources:\n  - id: x\n    url: ${MISSING}\n"), env(nil), known); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Errorf("unset variable: %v", err)
	}
	if _, err := Parse([]byte("sources:\n  - id: x\n    kind: s3\n    mapping: oai_dc\n    s3: {bucket: b}\n    colour: red\n"), env(nil), known); err == nil {
		t.Error("an unknown key was accepted")
	}
}

// FuzzParse: no sources file makes the reader panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte("sources:\n  - id: a\n    kind: s3\n    mapping: oai_dc\n    s3: {bucket: b}\n"))
	f.Add([]byte("sources: [{id: x, kind: oai-pmh, oai: {url: 'http://a', delay: 1h}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = Parse(data, env(nil), known)
	})
}

// A source that does not say how many pages to write at once gets the
// default; one that does gets its own.
func TestOAIPipeline(t *testing.T) {
	if got := (OAI{}).Pipeline(); got != DefaultOAIParallel {
		t.Errorf("default %d, want %d", got, DefaultOAIParallel)
	}
	if got := (OAI{Parallel: 9}).Pipeline(); got != 9 {
		t.Errorf("parallel 9 gives %d", got)
	}
}
