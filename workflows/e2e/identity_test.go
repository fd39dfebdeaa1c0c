package e2e

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// noPID is an oai_dc record whose only dc:identifier is no archive PID.
func noPID(identifier, title string) oaipmh.Record {
	return oaipmh.Record{
		Header: oaipmh.Header{Identifier: identifier, Datestamp: "2026-01-01T00:00:00Z"},
		Metadata: []byte(fmt.Sprintf(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">`+
			`<dc:title>%s</dc:title><dc:identifier>http://example.org/%s</dc:identifier></oai_dc:dc>`, title, title)),
	}
}

// Records without a PID whose identifiers differ only in punctuation stay
// three documents; a PID claimed by a second source record is quarantined,
// naming the first, never merged into its document.
func TestIdentifiersNeverCollide(t *testing.T) {
	f := newFixture(t)
	first := oaitest.Record(1, "2026-01-01T00:00:00Z")
	second := first
	second.Header.Identifier = "oai:test:copy-of-1"
	second.Metadata = bytes.Replace(first.Metadata, []byte("Fragment 1"), []byte("Een ander item"), 1)
	recs := []oaipmh.Record{
		first, second,
		noPID("oai:x:odd/1", "slash"), noPID("oai:x:odd-1", "hyphen"), noPID("oai:x:odd.1", "dot"),
	}
	p := oaitest.New(t, recs, oaitest.Faults{PageSize: 10})
	res := f.harvest(t, oaiSource("ids", p), workflows.HarvestOptions{})
	if res.Counts.Records != 5 || res.Counts.Indexed != 4 || res.Counts.Quarantined != 1 {
		t.Errorf("counts %+v, want 5 records: 4 indexed, 1 quarantined", res.Counts)
	}
	if n := f.count(t); n != 4 {
		t.Errorf("%d documents, want 4", n)
	}
	if keys := f.keys(t, "records/ids/"); len(keys) != 4 {
		t.Errorf("S3 holds %d records, want 4: %v", len(keys), keys)
	}
	q, err := bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "ids", Kind: "duplicate-pid"})
	if err != nil || len(q) != 1 || q[0].Identifier != "oai:test:copy-of-1" || !strings.Contains(strings.Join(q[0].Errors, " "), "oai:test:1") {
		t.Fatalf("quarantined duplicates %+v, %v", q, err)
	}
	// The PID's document is still the first record's.
	src, id, found, err := f.clients.Indices.Holder(f.ctx, "rec00001")
	if err != nil || !found || src != "ids" || id != "oai:test:1" {
		t.Errorf("rec00001 is held by %s %s (%v, %v), want ids oai:test:1", src, id, found, err)
	}

	// Another source claims the same PID: quarantined, naming the first.
	other := first
	other.Header.Identifier = "oai:other:9"
	p2 := oaitest.New(t, []oaipmh.Record{other}, oaitest.Faults{})
	res = f.harvest(t, oaiSource("ids2", p2), workflows.HarvestOptions{})
	if res.Counts.Quarantined != 1 || res.Counts.Indexed != 0 {
		t.Errorf("second source counts %+v, want its record quarantined", res.Counts)
	}
	q, err = bucket.ListQuarantine(f.ctx, f.clients.Store, bucket.QuarantineFilter{Source: "ids2"})
	if err != nil || len(q) != 1 || !strings.Contains(strings.Join(q[0].Errors, " "), "oai:test:1 of source ids") {
		t.Errorf("quarantined %+v, %v", q, err)
	}
	// A re-harvest of the first source is no claim against itself.
	if res := f.harvest(t, oaiSource("ids", p), workflows.HarvestOptions{Full: true}); res.Counts.Unchanged != 4 || res.Counts.Quarantined != 1 {
		t.Errorf("re-harvest counts %+v", res.Counts)
	}
}
