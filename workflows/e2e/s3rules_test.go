package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

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
