package mappings

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
)

// benchRecords are realistic records of each format: the demo's and the
// samples written for these tests.
func benchRecord(b *testing.B, format string) []byte {
	b.Helper()
	var path string
	switch format {
	case "oai_dc":
		raw, err := os.ReadFile("../internal/demo/data/oai-pmh/02-dm02belg001.xml")
		if err != nil {
			b.Fatal(err)
		}
		rec, err := oaipmh.ParseRecord(raw)
		if err != nil {
			b.Fatal(err)
		}
		return rec.Metadata
	case "mediahaven-sidecar":
		path = "../internal/demo/data/bucket/sidecars/dm22karre01.xml"
	case "sip-dc-schema":
		path = filepath.Join("testdata", "samples", "sip-expo58.xml")
	case "ebucore-2012":
		path = filepath.Join("testdata", "samples", "ebucore-karrewiet.xml")
	case "rdf-turtle":
		path = filepath.Join("testdata", "samples", "rdf-dieren.ttl")
	case "rdf-jsonld":
		path = filepath.Join("testdata", "samples", "rdf-dieren.jsonld")
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

var benchFormats = []string{"oai_dc", "mediahaven-sidecar", "sip-dc-schema", "ebucore-2012", "rdf-turtle", "rdf-jsonld"}

// BenchmarkMapping runs each format's mapping alone: bytes to record.
func BenchmarkMapping(b *testing.B) {
	for _, format := range benchFormats {
		raw := benchRecord(b, format)
		m, _ := Lookup(format)
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			for range b.N {
				if _, err := m(raw, origin); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkMap runs the whole step a harvest runs per record: the mapping,
// the vocabularies and the checks (rules and JSON Schema).
func BenchmarkMap(b *testing.B) {
	for _, format := range benchFormats {
		raw := benchRecord(b, format)
		b.Run(format, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if _, ps, err := Map(format, raw, origin); err != nil || len(ps) > 0 {
					b.Fatal(err, ps)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkXSLT compares the whole per-record step for oai_dc with an
// XSLT 1.0 transform of the same records to JSON by xsltproc (libxslt),
// in one run: records/s of each and their ratio (avo/xsltproc). The
// stylesheet (testdata/bench) does less than avo: no vocabularies, no
// rules, no schema.
func BenchmarkXSLT(b *testing.B) {
	xsltproc, err := exec.LookPath("xsltproc")
	if err != nil {
		b.Fatal("xsltproc is needed (make bench installs it): ", err)
	}
	raw := benchRecord(b, "oai_dc")
	const n = 20_000
	var doc bytes.Buffer
	doc.WriteString("<records>\n")
	for range n {
		doc.Write(raw)
		doc.WriteByte('\n')
	}
	doc.WriteString("</records>\n")
	path := filepath.Join(b.TempDir(), "records.xml")
	if err := os.WriteFile(path, doc.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		start := time.Now()
		out, err := exec.Command(xsltproc, filepath.Join("testdata", "bench", "oai_dc-to-json.xsl"), path).Output()
		if err != nil {
			b.Fatal(err)
		}
		xslt := time.Since(start)
		if lines := bytes.Count(out, []byte("\n")); lines != n {
			b.Fatalf("xsltproc wrote %d records, want %d", lines, n)
		}
		start = time.Now()
		for range n {
			if _, ps, err := Map("oai_dc", raw, origin); err != nil || len(ps) > 0 {
				b.Fatal(err, ps)
			}
		}
		own := time.Since(start)
		b.ReportMetric(n/xslt.Seconds(), "xsltproc-records/s")
		b.ReportMetric(n/own.Seconds(), "avo-records/s")
		b.ReportMetric(xslt.Seconds()/own.Seconds(), "avo/xsltproc")
	}
}
