package mappings

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/profile"

	"github.com/archiefvooronderwijs/avo/internal/fixtures"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
)

var update = flag.Bool("update", false, "rewrite the golden files from the mappings' output")

// goldenCase is one sample record: a real one from the shared data, or one
// written for these tests (testdata/samples) for formats without one.
type goldenCase struct {
	format string
	shared string // path under the shared data
	own    string // file under testdata/samples, or the demo data
	oai    bool   // the file is an OAI-PMH <record>: its metadata is mapped
}

var goldenCases = []goldenCase{
	{format: "oai_dc", shared: "oai-pmh/sickle/GetRecord.xml", oai: true},
	{format: "oai_dc", own: "../../../internal/demo/data/oai-pmh/01-dm01fiets01.xml", oai: true},
	{format: "mediahaven-sidecar", shared: "meemoo/sample-records/mediahaven-sidecar-subtitle.xml"},
	{format: "mediahaven-sidecar", own: "../../../internal/demo/data/bucket/sidecars/dm22karre01.xml"},
	{format: "mediahaven-external-metadata", shared: "meemoo/sample-records/mediahaven-external-metadata-mam_doc1.xml"},
	{format: "mediahaven-json", shared: "meemoo/sample-records/mediahaven-v2-record-qs5d8ncx8c.json"},
	{format: "lido", shared: "meemoo/sample-records/oai-pmh-lido-record-vkc_doc1.xml", oai: true},
	{format: "sip-dc-schema", shared: "meemoo/sample-records/sip-2.1-basic-dc+schema.video-with-subtitles.xml"},
	{format: "sip-dc-schema", own: "sip-expo58.xml"},
	{format: "ebucore-2012", own: "ebucore-karrewiet.xml"},
	{format: "rdf-turtle", own: "rdf-dieren.ttl"},
	{format: "rdf-ntriples", own: "rdf-dieren.nt"},
	{format: "rdf-jsonld", own: "rdf-dieren.jsonld"},
}

func (c goldenCase) read(t *testing.T) ([]byte, string) {
	t.Helper()
	path := filepath.Join("testdata", "samples", c.own)
	if c.shared != "" {
		dir, file := filepath.Split(c.shared)
		path = filepath.Join(fixtures.Dir(t, filepath.Clean(dir)), file)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if c.oai {
		if bytes.Contains(raw, []byte("OAI-PMH>")) { // a whole response
			page, err := oaipmh.ParseList(raw)
			if err != nil {
				t.Fatal(err)
			}
			return page.Records[0].Metadata, name
		}
		rec, err := oaipmh.ParseRecord(raw)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Metadata, name
	}
	return raw, name
}

// goldenOutput is what a golden file holds: the record as mapped,
// resolved against the vocabularies and checked.
type goldenOutput struct {
	Record   profile.Record   `json:"record"`
	Problems profile.Problems `json:"problems,omitempty"`
}

// TestGolden maps every sample and compares the result, field by field,
// with its golden file (go test ./mappings -update rewrites them; read the
// diff before committing).
func TestGolden(t *testing.T) {
	for _, c := range goldenCases {
		raw, name := c.read(t)
		t.Run(c.format+"/"+name, func(t *testing.T) {
			rec, problems, err := Map(c.format, raw, origin)
			if err != nil {
				t.Fatalf("mapping failed: %v", err)
			}
			got, _ := json.MarshalIndent(goldenOutput{Record: rec, Problems: problems}, "", "  ")
			got = append(got, '\n')
			file := filepath.Join("testdata", "golden", c.format+"__"+name+".json")
			if *update {
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./mappings -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				diffFields(t, want, got)
			}
		})
	}
}

// diffFields reports the differing fields of two records' JSON.
func diffFields(t *testing.T, want, got []byte) {
	t.Helper()
	var w, g map[string]any
	_ = json.Unmarshal(want, &w)
	_ = json.Unmarshal(got, &g)
	wr, _ := w["record"].(map[string]any)
	gr, _ := g["record"].(map[string]any)
	for k := range merge(wr, gr) {
		wv, _ := json.Marshal(wr[k])
		gv, _ := json.Marshal(gr[k])
		if !bytes.Equal(wv, gv) {
			t.Errorf("field %s:\n  got  %s\n  want %s", k, gv, wv)
		}
	}
	wp, _ := json.Marshal(w["problems"])
	gp, _ := json.Marshal(g["problems"])
	if !bytes.Equal(wp, gp) {
		t.Errorf("problems:\n  got  %s\n  want %s", gp, wp)
	}
}

func merge(a, b map[string]any) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}

// The three RDF syntaxes of one description give one record.
func TestRDFSyntaxesGiveOneRecord(t *testing.T) {
	var first []byte
	for _, f := range []struct{ format, file string }{
		{"rdf-turtle", "rdf-dieren.ttl"}, {"rdf-ntriples", "rdf-dieren.nt"}, {"rdf-jsonld", "rdf-dieren.jsonld"},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", "samples", f.file))
		if err != nil {
			t.Fatal(err)
		}
		rec, problems, err := Map(f.format, raw, origin)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v", f.format, err, problems)
		}
		rec.Provenance.Format = ""
		b, _ := json.Marshal(rec)
		if first == nil {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Errorf("%s gives\n%s\nturtle gives\n%s", f.format, b, first)
		}
	}
}
