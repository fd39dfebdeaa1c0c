package mappings

import (
	"os"
	"path/filepath"
	"testing"

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
