package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/fixtures"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/republish"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// oaiHarvest pages through a list with avo's own client, keeping every
// page's raw response; it returns the records' local ids in order.
func oaiHarvest(t *testing.T, c *oaipmh.Client, args oaipmh.ListArgs, raw *[][]byte) ([]string, []oaipmh.Record) {
	t.Helper()
	var ids []string
	var recs []oaipmh.Record
	for page := 0; page < 100; page++ {
		p, body, err := c.ListRecords(context.Background(), args)
		var oe *oaipmh.Error
		if errors.As(err, &oe) && oe.Code == oaipmh.NoRecordsMatch {
			return ids, recs
		}
		if err != nil {
			t.Fatalf("%+v: %v", args, err)
		}
		if raw != nil {
			*raw = append(*raw, body)
		}
		for _, r := range p.Records {
			ids = append(ids, r.Header.Identifier[strings.LastIndexByte(r.Header.Identifier, ':')+1:])
			recs = append(recs, r)
		}
		if p.Token.Value == "" {
			return ids, recs
		}
		args = oaipmh.ListArgs{Token: p.Token.Value}
	}
	t.Fatal("more than 100 pages")
	return nil, nil
}

// interopRecord is a record as an independent client read it.
type interopRecord struct {
	Identifier string   `json:"identifier"`
	Datestamp  string   `json:"datestamp"`
	Sets       []string `json:"sets"`
	Deleted    bool     `json:"deleted"`
	Title      string   `json:"title"`
}

// interop harvests base with Sickle or pyoai (testdata/interop/harvest.py)
// from since ("" for all).
func interop(t *testing.T, python, client, base, format, since string) []interopRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, filepath.Join("testdata", "interop", "harvest.py"), client, base, format, since).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %s: %v\n%s", client, format, err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var recs []interopRecord
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var r interopRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%s: %q: %v", client, line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// localIDs are the sorted PIDs of records.
func localIDs(recs []interopRecord) []string {
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.Identifier[strings.LastIndexByte(r.Identifier, ':')+1:])
	}
	slices.Sort(ids)
	return ids
}

// validate checks OAI-PMH responses with xmllint against the protocol's
// schema and the metadata format's (a wrapper imports both).
func validate(t *testing.T, format string, bodies [][]byte) {
	t.Helper()
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("xmllint is needed (make test installs Debian's libxml2-utils)")
	}
	xsd := fixtures.Dir(t, "xsd")
	dir := t.TempDir()
	imports := map[string]string{"oai_dc": `<xs:import namespace="` + republish.DCNamespace + `" schemaLocation="` + filepath.Join(xsd, "oai-pmh", "oai_dc.xsd") + `"/>`,
		"lom": `<xs:import namespace="` + republish.LOMNamespace + `" schemaLocation="` + filepath.Join(xsd, "lom", "lom.xsd") + `"/>`}
	wrapper := `<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/" schemaLocation="` + filepath.Join(xsd, "oai-pmh", "OAI-PMH.xsd") + `"/>
  ` + imports[format] + `
</xs:schema>`
	schema := filepath.Join(dir, "wrapper.xsd")
	if err := os.WriteFile(schema, []byte(wrapper), 0o644); err != nil {
		t.Fatal(err)
	}
	for i, b := range bodies {
		file := filepath.Join(dir, fmt.Sprintf("response-%d.xml", i))
		if err := os.WriteFile(file, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(xmllint, "--noout", "--nonet", "--schema", schema, file).CombinedOutput(); err != nil {
			t.Errorf("%s response %d does not validate: %v\n%s\n%.2000s", format, i, err, out, b)
		}
	}
}

// TestOAIProviderServesWhatTeachersSee harvests avo's own OAI-PMH provider
// over the education index: every verb, both formats validated against
// their schemas, sets, selective and incremental lists, tokens across a
// change, and the protocol's errors.
func TestOAIProviderServesWhatTeachersSee(t *testing.T) {
	f := newFixture(t)
	oai, bucketSource := f.demoSources(t)
	f.harvest(t, oai, workflows.HarvestOptions{})
	f.harvest(t, bucketSource, workflows.HarvestOptions{})
	for _, id := range []string{"dm01fiets01", "dm09fiets02", "dm22karre01", "dm24dieren", "dm25zon0001"} {
		f.publish(t, id)
	}
	teacher := content.Caller{ID: "t1", Name: "Leen Leerkracht", Email: "leen@school.example"}
	desk := content.NewDesk(f.clients.Store, f.clients.Indices)
	col, ver, err := desk.Create(f.ctx, content.Piece{Kind: content.Collection, Title: "Fietsen", Description: "Twee reportages over de fiets",
		Education: content.Education{Subjects: []string{geography}},
		Blocks:    []content.Block{{Type: content.ItemBlock, ExternalID: "dm01fiets01"}, {Type: content.ItemBlock, ExternalID: "dm22karre01"}}}, teacher)
	if err != nil {
		t.Fatal(err)
	}
	public := true
	if _, _, err := desk.Edit(f.ctx, col.ID, ver, content.Edit{Public: &public}, teacher); err != nil {
		t.Fatal(err)
	}
	educ := f.education(t)
	mux := httptest.NewUnstartedServer(nil)
	base := "http://" + mux.Listener.Addr().String()
	repo := &republish.Repository{Indices: f.clients.Indices, BaseURL: base + "/oai", Namespace: republish.DefaultNamespace,
		Landing: func(id string) string { return base + "/items/" + url.PathEscape(id) }}
	mux.Config.Handler = (&api.Server{Search: educ, OAI: &oaipmh.Provider{Repo: repo, PageSize: 2, TokenTTL: time.Hour, Snapshot: true}}).Handler()
	mux.Start()
	t.Cleanup(mux.Close)
	c := &oaipmh.Client{BaseURL: base + "/oai", HTTP: oaipmh.NewHTTPClient(5*time.Second, 10*time.Second), UserAgent: "avo-test"}
	// A list ends at the last whole second before it began: what was
	// written since is for the next harvest.
	time.Sleep(2 * time.Second)

	id, err := c.Identify(f.ctx)
	if err != nil || id.BaseURL != base+"/oai" || id.Granularity != "YYYY-MM-DDThh:mm:ssZ" || id.ProtocolVersion != "2.0" {
		t.Fatalf("Identify: %+v %v", id, err)
	}
	sets, err := c.ListSets(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var specs []string
	for _, s := range sets {
		specs = append(specs, s.Spec)
	}
	for _, want := range []string{"type:video", "type:collectie", "partner:OR-rf5kf25", "level:lager-onderwijs"} {
		if !slices.Contains(specs, want) {
			t.Errorf("ListSets lacks %s: %v", want, specs)
		}
	}

	// Everything teachers see, in both formats, valid against the schemas.
	want := f.educationIDs(t)
	for _, format := range []string{"oai_dc", "lom"} {
		var raw [][]byte
		got, _ := oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: format}, &raw)
		slices.Sort(got)
		if !slices.Equal(got, want) || !slices.Contains(got, col.ID) {
			t.Errorf("%s: harvested %v, the education index holds %v", format, got, want)
		}
		if len(raw) < 2 {
			t.Errorf("%s: %d pages of 2 records for %d records", format, len(raw), len(want))
		}
		validate(t, format, raw)
	}
	rec, err := c.GetRecord(f.ctx, "oai:"+republish.DefaultNamespace+":dm22karre01", "lom")
	if err != nil {
		t.Fatal(err)
	}
	lom := string(rec.Metadata)
	for _, part := range []string{
		"<aggregationLevel><source>LOMv1.0</source><value>1</value></aggregationLevel>",
		"<taxonPath><source><string language=\"x-none\">https://w3id.org/onderwijs-vlaanderen/id/vak</string></source><taxon><id>" + geography + "</id><entry><string language=\"nl\">aardrijkskunde</string></entry></taxon></taxonPath>",
		"<location>" + base + "/items/dm22karre01</location>",
		"FN:VRT",
	} {
		if !strings.Contains(lom, part) {
			t.Errorf("the LOM record of dm22karre01 lacks %s:\n%s", part, lom)
		}
	}
	// Independent clients get the same.
	// pyoai reads with an lxml API that lxml 5 removed.
	python := testenv.Python(t, "pyoai==2.5.0", "Sickle==0.7.0", "lxml==4.9.4")
	for _, client := range []string{"sickle", "pyoai"} {
		for _, format := range []string{"oai_dc", "lom"} {
			got := interop(t, python, client, base+"/oai", format, "")
			if ids := localIDs(got); !slices.Equal(ids, want) {
				t.Errorf("%s harvesting %s: %v, the education index holds %v", client, format, ids, want)
			}
			if format == "oai_dc" && !slices.ContainsFunc(got, func(r interopRecord) bool { return r.Title == "Fietsen" }) {
				t.Errorf("%s read no title of the collection: %+v", client, got)
			}
		}
	}
	if got, _ := oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: "lom", Set: "type:collectie"}, nil); !slices.Equal(got, []string{col.ID}) {
		t.Errorf("set type:collectie: %v", got)
	}
	got, recs := oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: "oai_dc", Set: "partner:OR-rf5kf25"}, nil)
	if !slices.Contains(got, "dm22karre01") || slices.Contains(got, "dm01fiets01") {
		t.Errorf("set partner:OR-rf5kf25: %v", got)
	}
	for _, r := range recs {
		if !slices.Contains(r.Header.SetSpecs, "partner:OR-rf5kf25") {
			t.Errorf("%s in the partner's set says it is in %v", r.Header.Identifier, r.Header.SetSpecs)
		}
	}

	// A list under way: a record it gave changes, another it has not
	// reached yet changes; the first is not given twice, and the next
	// incremental harvest (from the first response's date) has both.
	first, _, err := c.ListRecords(f.ctx, oaipmh.ListArgs{MetadataPrefix: "oai_dc"})
	if err != nil {
		t.Fatal(err)
	}
	seen := first.Records[0].Header.Identifier
	seenID := seen[strings.LastIndexByte(seen, ':')+1:]
	all, _ := oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: "oai_dc"}, nil)
	unseenID := all[len(all)-1]
	time.Sleep(1100 * time.Millisecond) // a second later: datestamps are in seconds
	changedAfter := time.Now()
	for _, id := range []string{seenID, unseenID} {
		if err := f.clients.Indices.Refresh(f.ctx, esindex.Education); err != nil {
			t.Fatal(err)
		}
		if content.KindOf(id) != "" {
			if _, err := desk.Sync(f.ctx, []string{id}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if _, err := (&editorial.Desk{Store: f.clients.Store, Indices: f.clients.Indices}).Reproject(f.ctx, id, nil); err != nil {
			t.Fatal(err)
		}
	}
	// The token needs nothing the provider kept: another provider (a
	// restarted server) takes it.
	restarted := httptest.NewServer(&oaipmh.Provider{Repo: repo, PageSize: 2, TokenTTL: time.Hour, Snapshot: true})
	t.Cleanup(restarted.Close)
	again := &oaipmh.Client{BaseURL: restarted.URL, HTTP: oaipmh.NewHTTPClient(5*time.Second, 10*time.Second), UserAgent: "avo-test"}
	rest, _ := oaiHarvest(t, again, oaipmh.ListArgs{Token: first.Token.Value}, nil)
	listed := append([]string{seenID, first.Records[1].Header.Identifier[strings.LastIndexByte(first.Records[1].Header.Identifier, ':')+1:]}, rest...)
	dup := map[string]int{}
	for _, id := range listed {
		if dup[id]++; dup[id] > 1 {
			t.Errorf("%s is listed twice in one list", id)
		}
	}
	time.Sleep(time.Until(changedAfter.Add(2 * time.Second)))
	next, _ := oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: "oai_dc", From: first.ResponseDate}, nil)
	for _, id := range []string{seenID, unseenID} {
		if !slices.Contains(next, id) {
			t.Errorf("the incremental harvest from %s lacks %s, changed since: %v", first.ResponseDate, id, next)
		}
	}
	for _, id := range want {
		if dup[id] == 0 && !slices.Contains(next, id) {
			t.Errorf("%s is in neither the list nor the next incremental harvest", id)
		}
	}
	slices.Sort(next)
	for _, client := range []string{"sickle", "pyoai"} {
		if got := localIDs(interop(t, python, client, base+"/oai", "oai_dc", first.ResponseDate)); !slices.Equal(got, next) {
			t.Errorf("%s harvesting from %s: %v, want %v", client, first.ResponseDate, got, next)
		}
	}

	// Depublished, made private: deleted records, kept; back again: not.
	time.Sleep(1100 * time.Millisecond)
	before := time.Now().UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
	items := &editorial.Desk{Store: f.clients.Store, Indices: f.clients.Indices}
	if _, err := items.Decide(f.ctx, "dm24dieren", editorial.Decision{Reason: "rechten", By: "test"}); err != nil {
		t.Fatal(err)
	}
	cur, ver, err := desk.Get(f.ctx, col.ID)
	if err != nil {
		t.Fatal(err)
	}
	private := false
	if _, _, err := desk.Edit(f.ctx, col.ID, ver, content.Edit{Public: &private}, teacher); err != nil || cur == nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	var raw [][]byte
	_, recs = oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: "lom", From: before}, &raw)
	deleted := map[string]bool{}
	for _, r := range recs {
		deleted[r.Header.Identifier[strings.LastIndexByte(r.Header.Identifier, ':')+1:]] = r.Header.Deleted
	}
	if len(deleted) != 2 || !deleted["dm24dieren"] || !deleted[col.ID] {
		t.Errorf("the harvest since %s: %v, want dm24dieren and %s deleted", before, deleted, col.ID)
	}
	validate(t, "lom", raw)
	if rec, err := c.GetRecord(f.ctx, "oai:"+republish.DefaultNamespace+":dm24dieren", "oai_dc"); err != nil || !rec.Header.Deleted || len(rec.Metadata) != 0 {
		t.Errorf("GetRecord of a depublished item: %+v %v", rec, err)
	}
	for _, client := range []string{"sickle", "pyoai"} {
		got := interop(t, python, client, base+"/oai", "oai_dc", before)
		if len(got) != 2 || !got[0].Deleted || !got[1].Deleted {
			t.Errorf("%s harvesting the deletions since %s: %+v", client, before, got)
		}
	}
	if _, err := items.Decide(f.ctx, "dm24dieren", editorial.Decision{Publish: true, By: "test"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if rec, err := c.GetRecord(f.ctx, "oai:"+republish.DefaultNamespace+":dm24dieren", "oai_dc"); err != nil || rec.Header.Deleted {
		t.Errorf("GetRecord of an item published again: %+v %v", rec.Header, err)
	}
	_, recs = oaiHarvest(t, c, oaipmh.ListArgs{MetadataPrefix: "oai_dc"}, nil)
	for _, r := range recs {
		if strings.HasSuffix(r.Header.Identifier, ":dm24dieren") && r.Header.Deleted {
			t.Errorf("an item published again is still listed as deleted")
		}
	}

	// The protocol's errors.
	for _, cs := range []struct {
		params url.Values
		code   string
	}{
		{url.Values{"verb": {"GetRecord"}, "metadataPrefix": {"lom"}, "identifier": {"oai:" + republish.DefaultNamespace + ":nosuchitem"}}, oaipmh.IDDoesNotExist},
		{url.Values{"verb": {"GetRecord"}, "metadataPrefix": {"lom"}, "identifier": {"oai:" + republish.DefaultNamespace + ":dm02belg001"}}, oaipmh.IDDoesNotExist}, // not visible to teachers
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"marc21"}}, oaipmh.CannotDisseminateFormat},
		{url.Values{"verb": {"ListRecords"}, "metadataPrefix": {"lom"}, "from": {"2026-01-01"}, "until": {"2026-12-31T00:00:00Z"}}, oaipmh.BadArgument},
		{url.Values{"verb": {"ListIdentifiers"}, "metadataPrefix": {"lom"}, "from": {"2099-01-01"}}, oaipmh.NoRecordsMatch},
		{url.Values{"verb": {"ListRecords"}, "resumptionToken": {"bm9wZQ"}}, oaipmh.BadResumptionToken},
		{url.Values{"verb": {"Harvest"}}, oaipmh.BadVerb},
	} {
		body, err := c.Get(f.ctx, cs.params)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), `<error code="`+cs.code+`"`) {
			t.Errorf("%v: %s, want %s", cs.params, body, cs.code)
		}
	}
}
