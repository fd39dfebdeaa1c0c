package e2e

import (
	"fmt"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh/oaitest"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// A replay maps the stored records of a source again from the raw form
// its harvests kept, for an OAI-PMH provider and a partner bucket alike,
// without a single request to the partner; a record whose raw form is
// gone is counted and left as it is.
func TestReplayRemapsWithoutThePartner(t *testing.T) {
	f := newFixture(t)
	if err := f.partner.EnsureBucket(f.ctx); err != nil {
		t.Fatal(err)
	}
	p := oaitest.New(t, oaitest.Records(12), oaitest.Faults{})
	oai := oaiSource("replayoai", p)
	rec, endpoint := newRecorder(t, f, f.partner.Bucket)
	for i := 1; i <= 4; i++ {
		pid := fmt.Sprintf("rpl%04d", i)
		if err := f.partner.Put(f.ctx, "rpl/"+pid+".xml", sidecar(t, pid, "Titel "+pid), "application/xml"); err != nil {
			t.Fatal(err)
		}
	}
	s3 := sources.Source{ID: "replays3", Kind: sources.KindS3, Mapping: "mediahaven-sidecar",
		S3: &sources.S3{Bucket: f.partner.Bucket, Prefix: "rpl/", Endpoint: endpoint}}
	for _, src := range []sources.Source{oai, s3} {
		if res := f.harvest(t, src, workflows.HarvestOptions{}); res.Counts.Indexed == 0 {
			t.Fatalf("harvest of %s: %+v", src.ID, res.Counts)
		}
	}
	before := p.CountRequests("")
	rec.take()

	// What a mapping change would do: every stored record differs from
	// what its raw form maps to today.
	spoil := func(source, identifier string) {
		t.Helper()
		key := bucket.RecordKey(source, identifier)
		var r profile.Record
		if err := f.clients.Store.GetJSON(f.ctx, key, &r); err != nil {
			t.Fatal(err)
		}
		r.Title = "stale"
		if err := f.clients.Store.PutJSON(f.ctx, key, r); err != nil {
			t.Fatal(err)
		}
	}
	spoil("replays3", "rpl/rpl0002.xml")
	var oaiRec profile.Record
	first := f.keys(t, "records/replayoai/")[0]
	if err := f.clients.Store.GetJSON(f.ctx, first, &oaiRec); err != nil {
		t.Fatal(err)
	}
	spoil("replayoai", oaiRec.Provenance.Identifier)

	for _, tc := range []struct {
		src     sources.Source
		records int
		check   string // an identifier whose title comes back
	}{{s3, 4, "rpl/rpl0002.xml"}, {oai, 12, oaiRec.Provenance.Identifier}} {
		run, err := f.clients.StartReplay(f.ctx, tc.src)
		if err != nil {
			t.Fatal(err)
		}
		var res workflows.RemapResult
		if err := run.Get(f.ctx, &res); err != nil {
			t.Fatalf("replay of %s: %v", tc.src.ID, err)
		}
		if c := res.Counts; c.Records != tc.records || c.Indexed != tc.records || c.Quarantined != 0 || res.Unreplayable != 0 {
			t.Errorf("replay of %s: %+v, want %d records mapped and indexed", tc.src.ID, res, tc.records)
		}
		var r profile.Record
		if err := f.clients.Store.GetJSON(f.ctx, bucket.RecordKey(tc.src.ID, tc.check), &r); err != nil || r.Title == "stale" || r.Title == "" {
			t.Errorf("%s after replay: title %q %v", tc.check, r.Title, err)
		}
		if r.Provenance.Harvest == "" || r.Provenance.Raw == "" {
			t.Errorf("replayed record lost its provenance: %+v", r.Provenance)
		}
	}
	if n := p.CountRequests("") - before; n != 0 {
		t.Errorf("replay asked the OAI-PMH provider %d times", n)
	}
	if seen := rec.take(); len(seen) != 0 {
		t.Errorf("replay reached the partner bucket: %v", seen)
	}
	if title := f.title(t, "rpl0002"); title != "Titel rpl0002" {
		t.Errorf("indexed title after replay %q", title)
	}

	// A raw page that is gone: its records are counted, not touched.
	var r profile.Record
	if err := f.clients.Store.GetJSON(f.ctx, bucket.RecordKey("replays3", "rpl/rpl0001.xml"), &r); err != nil {
		t.Fatal(err)
	}
	raw := r.Provenance.Raw[len("s3://"+f.clients.Store.Bucket+"/") : len(r.Provenance.Raw)-len("#"+r.Provenance.Identifier)]
	if err := f.clients.Store.Delete(f.ctx, raw); err != nil {
		t.Fatal(err)
	}
	run, err := f.clients.StartReplay(f.ctx, s3)
	if err != nil {
		t.Fatal(err)
	}
	var res workflows.RemapResult
	if err := run.Get(f.ctx, &res); err != nil || res.Unreplayable != 4 || res.Counts.Records != 0 || len(res.Examples) == 0 {
		t.Errorf("replay without raw pages: %+v %v", res, err)
	}
	if n := f.count(t); n != 16 {
		t.Errorf("the catalog holds %d documents, want all 16 still", n)
	}
}
