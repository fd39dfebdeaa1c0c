package mappings

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/profile"

	"github.com/archiefvooronderwijs/avo/internal/fixtures"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
)

var origin = Origin{Source: "src", Identifier: "oai:x:1", Raw: "s3://b/raw#1", Harvest: "h1", Now: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}

func demoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "internal", "demo", "data", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestOAIDCFieldByField(t *testing.T) {
	rec, err := oaipmh.ParseRecord(demoFile(t, "oai-pmh/01-dm01fiets01.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := MapOAIDC(rec.Metadata, origin)
	if err != nil {
		t.Fatal(err)
	}
	want := profile.Record{
		ExternalID:      "dm01fiets01",
		Title:           "Veilig fietsen naar school",
		Description:     "Hoe fietsen kinderen veilig naar school? Een reportage over fietspaden, helmen en zichtbaarheid in het verkeer.",
		Issued:          "2019-09-02",
		Type:            "video",
		Languages:       []string{"nl"},
		Publishers:      []profile.Agent{{Name: "VRT"}},
		PartnerKeywords: []string{"verkeer", "fietsen", "verkeersveiligheid"},
		Rights:          profile.Rights{Licenses: []string{"VIAA-ONDERWIJS"}},
		Provenance:      origin.provenance("oai_dc"),
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("mapped\n%+v\nwant\n%+v", r, want)
	}
	if err := r.Validate(); err != nil {
		t.Errorf("valid record refused: %v", err)
	}
}

// Derived ids are one to one: identifiers that differ only in punctuation
// stay apart, and long ones stay within Elasticsearch's limit.
func TestDerivedIDIsInjective(t *testing.T) {
	seen := map[string]string{}
	for _, in := range []string{"src:oai:x:odd/1", "src:oai:x:odd-1", "src:oai:x:odd.1", "src:oai:x:odd_1", "src:oai:x:odd__1",
		"src:oai:x:odd_2d1", "src:oai:x:odd 1", "src:oai:x:ödd1", "src:oai:x:odd1", "src_:oai:x:odd1", "src:_oai:x:odd1"} {
		id := DerivedID(in)
		if !profile.ValidExternalID(id) {
			t.Errorf("%q → %q is no valid id", in, id)
		}
		if other, ok := seen[id]; ok {
			t.Errorf("%q and %q both become %q", in, other, id)
		}
		seen[id] = in
	}
	long := strings.Repeat("a/", 400)
	a, b := DerivedID(long+"1"), DerivedID(long+"2")
	if len(a) > 512 || a == b || !profile.ValidExternalID(a) {
		t.Errorf("long identifiers: %d bytes, distinct %v", len(a), a != b)
	}
}

func FuzzDerivedID(f *testing.F) {
	f.Add("a:b/c", "a:b-c")
	f.Fuzz(func(t *testing.T, x, y string) {
		if x != y && len(x) < 150 && len(y) < 150 && DerivedID(x) == DerivedID(y) {
			t.Errorf("%q and %q both become %q", x, y, DerivedID(x))
		}
	})
}

// DSpace lists its accession and availability time stamps before the issue
// date: a 1979 recording stays 1979.
func TestOAIDCIssuedDateOfSeveral(t *testing.T) {
	for _, c := range []struct {
		dates []string
		want  string
	}{
		{[]string{"2022-03-01T10:15:30Z", "2022-03-01T10:15:30Z", "1979"}, "1979"},
		{[]string{"1980", "1979-05"}, "1979-05"},
		{[]string{"2021-06-01T08:00:00Z", "2020-01-01T00:00:00Z"}, "2020-01-01T00:00:00Z"},
		{[]string{"19XX", "1958"}, "19XX"},
		{[]string{"1990/1995", "1992"}, "1990/1995"},
		{[]string{"gisteren", "1979"}, "1979"},
	} {
		var b strings.Builder
		for _, d := range c.dates {
			b.WriteString("<dc:date>" + d + "</dc:date>")
		}
		raw := []byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">` +
			`<dc:title>Opname</dc:title>` + b.String() + `</oai_dc:dc>`)
		r, err := MapOAIDC(raw, origin)
		if err != nil {
			t.Fatal(err)
		}
		if r.Issued != c.want {
			t.Errorf("dates %v: issued %q, want %q", c.dates, r.Issued, c.want)
		}
	}
}

func TestOAIDCWithoutPIDUsesSourceIdentifier(t *testing.T) {
	raw := []byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/">
	  <dc:title>  Een   titel
	  over twee regels </dc:title>
	  <dc:identifier>http://example.org/item/9</dc:identifier>
	  <dc:language>Klingon</dc:language>
	  <dc:date>lente 1990</dc:date>
	</oai_dc:dc>`)
	r, err := MapOAIDC(raw, origin)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExternalID != "src_3aoai_3ax_3a1" {
		t.Errorf("external id = %q, want one derived from source and OAI identifier", r.ExternalID)
	}
	if r.Title != "Een titel over twee regels" {
		t.Errorf("title whitespace not collapsed: %q", r.Title)
	}
	if !reflect.DeepEqual(r.LocalIDs, []profile.LocalID{{Type: "dc:identifier", Value: "http://example.org/item/9"}}) {
		t.Errorf("local ids = %+v", r.LocalIDs)
	}
	if len(r.Warnings) != 2 || r.Issued != "" || r.Languages != nil {
		t.Errorf("unusable language and date should be warnings, not values: %+v", r)
	}
}

func TestSidecarFieldByField(t *testing.T) {
	r, err := MapSidecar(demoFile(t, "bucket/sidecars/dm22karre01.xml"), origin)
	if err != nil {
		t.Fatal(err)
	}
	want := profile.Record{
		ExternalID: "dm22karre01", OriginalCP: "VRT", OriginalCPID: "OR-rf5kf25",
		Title: "Waarom fietsen kinderen minder naar school?", Series: "Karrewiet", Season: "2021",
		Description: "Karrewiet zoekt uit waarom minder kinderen met de fiets naar school gaan.",
		Issued:      "2021-03-15", Type: "video", Languages: []string{"nl"},
		Keywords: []string{"fiets", "mobiliteit"},
		Education: profile.Education{
			Levels:   []profile.Concept{{URI: "https://w3id.org/onderwijs-vlaanderen/id/structuur/lager-onderwijs"}},
			Degrees:  []profile.Concept{{URI: "https://w3id.org/onderwijs-vlaanderen/id/structuur/lager-3e-graad"}},
			Subjects: []profile.Concept{{URI: "https://w3id.org/onderwijs-vlaanderen/id/vak/aardrijkskunde"}},
			Themes:   []profile.Concept{{URI: "https://data.hetarchief.be/id/onderwijs/thema/verkeer-en-mobiliteit"}},
		},
		Rights:     profile.Rights{Licenses: []string{"VIAA-ONDERWIJS", "VIAA-ONDERZOEK"}},
		Provenance: origin.provenance("mediahaven-sidecar"),
	}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("mapped\n%+v\nwant\n%+v", r, want)
	}
}

// The real sample sidecar from the archive (a subtitle file's sidecar).
func TestSidecarRealSample(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(fixtures.Dir(t, "meemoo/sample-records"), "mediahaven-sidecar-subtitle.xml"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := MapSidecar(raw, origin)
	if err != nil {
		t.Fatal(err)
	}
	if r.ExternalID != "qsf7664p39_closed" || r.Title != "qsf7664p39_closed.srt" || r.OriginalCP != "testbeeld" || r.OriginalCPID != "OR-h41jm1d" || r.Description != "Subtitles for item qsf7664p39" {
		t.Errorf("mapped %+v", r)
	}
}

func TestBadInputIsAnErrorNotAPanic(t *testing.T) {
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	cases := map[string][]byte{
		"empty":            nil,
		"not xml":          []byte("broken xml"),
		"truncated":        []byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"><dc:title>x`),
		"wrong namespace":  []byte(`<oai_dc:dc xmlns:oai_dc="http://example.org/not-oai-dc/"><title>x</title></oai_dc:dc>`),
		"wrong root":       []byte(`<html><body/></html>`),
		"deep nesting":     []byte(deep),
		"deep json":        []byte(strings.Repeat(`{"a":`, 200) + `1` + strings.Repeat(`}`, 200)),
		"entity expansion": []byte(`<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]><d>&b;&b;&b;</d>`),
		"external entity":  []byte(`<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>`),
		"two roots":        []byte(`<a/><b/>`),
		"50 MB":            []byte("<a>" + strings.Repeat("x", 50<<20) + "</a>"),
	}
	for _, format := range Formats() {
		for name, raw := range cases {
			if _, _, err := Map(format, raw, origin); err == nil {
				t.Errorf("%s / %s: no error", name, format)
			}
		}
	}
	if _, err := MapOAIDC([]byte(deep), origin); !errors.Is(err, ErrMalformed) {
		t.Errorf("deep nesting: %v, want ErrMalformed", err)
	}
	if _, _, err := Map("marc21", []byte("<x/>"), origin); err == nil || !strings.Contains(err.Error(), "unknown mapping") {
		t.Errorf("unknown format: %v", err)
	}
}

// A record with an empty title maps, but breaks a rule: it is quarantined
// with that reason rather than failing to map.
func TestEmptyTitleIsAProblem(t *testing.T) {
	raw := []byte(`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title> </dc:title><dc:identifier>pid1</dc:identifier></oai_dc:dc>`)
	_, problems, err := Map("oai_dc", raw, origin)
	if err != nil || !slices.Equal(problems.Rules(), []string{profile.RuleMissingTitle}) {
		t.Errorf("got %v, %v", problems, err)
	}
}

// FuzzMap: no input makes any mapping panic.
func FuzzMap(f *testing.F) {
	for _, seed := range []string{
		`<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>t</dc:title></oai_dc:dc>`,
		`<mhs:Sidecar xmlns:mhs="https://zeticon.mediahaven.com/metadata/20.3/mhs/"><mhs:Dynamic><PID>p</PID><dc_titles><serie>s</serie></dc_titles></mhs:Dynamic></mhs:Sidecar>`,
		`{"Dynamic": {"PID": "p", "lom_keywords": {"Sleutelwoord": ["a", 1, null, {"x": [true]}]}}}`,
		`@prefix s: <https://schema.org/> . <http://x/p1> a s:VideoObject ; s:name "n" ; s:duration "PT1M" .`,
		`{"@id": "http://x/p", "http://purl.org/dc/terms/title": "t"}`,
	} {
		f.Add(0, []byte(seed))
	}
	formats := Formats()
	f.Fuzz(func(t *testing.T, which int, raw []byte) {
		if which < 0 {
			which = -which
		}
		format := formats[which%len(formats)]
		rec, _, err := Map(format, raw, origin)
		if err == nil {
			if _, merr := json.Marshal(rec); merr != nil {
				t.Fatalf("%s: the record does not serialise: %v", format, merr)
			}
		}
	})
}

func TestValidate(t *testing.T) {
	ok := profile.Record{ExternalID: "abc_123", Title: "t", Issued: "2019-10", Created: "1958?", Provenance: origin.provenance("oai_dc"),
		Rights: profile.Rights{Licenses: []string{"VIAA-ONDERWIJS"}}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid: %v", err)
	}
	lic := ok
	lic.Rights.Licenses = []string{"VIAA-ONDERWIJS", "MAG-ALLES"}
	if ps := profile.Check(lic); len(ps) != 1 || ps[0].Rule != profile.RuleUnknownLicence {
		t.Errorf("unknown licence: %v", ps)
	}
	lang := ok
	lang.Languages = []string{"nld"}
	if ps := profile.Check(lang); len(ps) != 1 || ps[0].Rule != profile.RuleSchema || !strings.Contains(ps[0].Message, "/languages/0") {
		t.Errorf("three-letter language: %v", ps)
	}
	for _, d := range []string{"2019", "2019-10-23", "2019-10-22T22:00:00Z", "2019-10-22T22:00:00.000000Z", "1990/1995", "../2001", "2004-06~"} {
		if !profile.ValidDate(d) {
			t.Errorf("%q should be a valid date", d)
		}
	}
	bad := profile.Record{ExternalID: "a b", Title: " ", Issued: "gisteren"}
	ps := profile.Check(bad)
	if got := ps.Rules(); !slices.Equal(got, []string{profile.RuleBadDate, profile.RuleBadExternalID, profile.RuleMissingTitle}) {
		t.Errorf("rules %v from %v", got, ps)
	}
}

func TestLookup(t *testing.T) {
	for _, f := range []string{"oai_dc", "mediahaven-sidecar"} {
		if _, err := Lookup(f); err != nil {
			t.Error(err)
		}
	}
	if _, err := Lookup("marc21"); err == nil || !strings.Contains(err.Error(), "oai_dc") {
		t.Errorf("unknown format error should list the known ones: %v", err)
	}
}

// clean's shortcut for values already clean gives what cleaning them
// gives, whatever the spaces (ASCII or Unicode) and where.
func TestCleanShortcutAgrees(t *testing.T) {
	parts := []string{"a", "é", " ", "  ", "\t", "\n", "\u00a0", "\u2003", "b c", "", "x\u0085y"}
	var build func(prefix string, depth int)
	build = func(prefix string, depth int) {
		if want := strings.Join(strings.Fields(prefix), " "); clean(prefix) != want {
			t.Errorf("clean(%q) = %q, want %q", prefix, clean(prefix), want)
		}
		if depth == 0 {
			return
		}
		for _, p := range parts {
			build(prefix+p, depth-1)
		}
	}
	build("", 4)
}
