// Package searchtest loads a small, known set of items into real indices
// for the tests of the search package and the search API.
package searchtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

const (
	structure = profile.StructureScheme + "/"
	subject   = profile.SubjectScheme + "/"
	theme     = profile.ThemeScheme + "/"
)

func concepts(prefix string, names ...string) []profile.Concept {
	var out []profile.Concept
	for _, n := range names {
		out = append(out, profile.Concept{URI: prefix + n})
	}
	return out
}

// item is a published record with the education licence.
func item(id, typ, title, series, provider, issued string, keywords []string, langs []string) profile.Record {
	return profile.Record{
		ExternalID: id, Type: typ, Title: title, Series: series, OriginalCP: provider, Issued: issued,
		Keywords: keywords, Languages: langs,
		Rights: profile.Rights{Licenses: []string{profile.EducationLicence}, Published: true},
		Provenance: profile.Provenance{
			Source: "searchtest", Format: "test", Identifier: "oai:test:" + id, Raw: "s3://test/raw/" + id,
			Harvest: "h1", Mapping: profile.MappingVersion, MappedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		},
	}
}

// Records are the items: every filter, facet and sort has something to
// tell apart. Hidden is not published and must never reach teachers.
func Records() []profile.Record {
	fiets := item("fiets1", "video", "De fiets van opa", "Karrewiet", "VRT", "2019-10-23", []string{"fiets", "verkeer"}, []string{"nl"})
	fiets.Description = "Een korte film over het verkeer in de stad."
	fiets.Created = "2019-01-01"
	fiets.Education.Degrees = concepts(structure, "lager-3e-graad")
	fiets.Education.Subjects = concepts(subject, "aardrijkskunde")
	fiets.Education.Themes = concepts(theme, "verkeer-en-mobiliteit")
	fiets.DurationSeconds = 180
	fiets.Media = &profile.Media{Source: "vrt", Bucket: "vrt-archief", Key: "karrewiet/fiets1.webm", Type: "video/webm"}

	belgie := item("belgie1", "video", "Een reis door België", "Volt", "VRT", "2021-03-01", []string{"reizen", "steden"}, []string{"nl", "fr"})
	belgie.Description = "Op ontdekking in Brussel, Gent en Luik."
	belgie.Created = "2020-06-01"
	belgie.Education.Degrees = concepts(structure, "secundair-2e-graad")
	belgie.Education.Subjects = concepts(subject, "geschiedenis")

	klimaat := item("klimaat1", "audio", "Klimaat en energie", "Volt", "Radio 1", "2020", []string{"klimaat", "energie"}, []string{"nl"})
	klimaat.Description = "Waarom de fiets goed is voor het klimaat, en wat wind en zon opleveren."
	klimaat.Created = "2020-01-15"
	klimaat.Education.Levels = concepts(structure, "secundair-onderwijs")
	klimaat.Education.Subjects = concepts(subject, "fysica")
	klimaat.Education.Themes = concepts(theme, "milieu-en-ecologie")

	dossier := item("dossier1", "collection", "Dossier klimaat", "", "VRT", "2022-09-01", []string{"klimaat"}, []string{"nl"})
	dossier.Education.Levels = concepts(structure, "secundair-onderwijs")

	kleuter := item("kleuter1", "video", "Dieren op de boerderij", "Karrewiet", "Ketnet", "2018-05", []string{"dieren", "boerderij"}, []string{"nl"})
	kleuter.Description = "Koeien, kippen en varkens."
	kleuter.Education.Levels = concepts(structure, "kleuteronderwijs")

	legacy := item("legacy1", "video", "Schooltelevisie over fysica", "Schooltelevisie: fysica", "BRT", "1975", []string{"fysica"}, []string{"nl"})
	legacy.Education.Context = []string{"Schoolradio-niveau"}
	legacy.Education.Classification = []string{"Natuurkunde (oud)"}

	html := item("html1", "video", "Wat is <b>HTML</b>? Een fiets voor het web", "", "VRT", "2022-12-31", []string{"computer"}, []string{"en"})
	html.Education.Degrees = concepts(structure, "secundair-3e-graad")

	english := item("english1", "audio", "Cycling in the Netherlands", "", "BBC", "2017-06-15", []string{"fiets", "sport"}, []string{"en"})
	english.Education.Degrees = concepts(structure, "secundair-3e-graad")

	hidden := item("hidden1", "video", "Een fiets die niemand mag zien", "Karrewiet", "VRT", "2023", []string{"fiets"}, []string{"nl"})
	hidden.Rights.Published = false

	return []profile.Record{fiets, belgie, klimaat, dossier, kleuter, legacy, html, english, hidden}
}

// Load sets up both indices of ix and writes the records, enriched with
// the vocabularies, as the pipeline would: everything into the catalog,
// the visible ones into the education index. Every write must succeed.
func Load(t testing.TB, ctx context.Context, ix esindex.Indices) []profile.Record {
	t.Helper()
	vocab, err := profile.Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	if err := ix.Setup(ctx, esindex.Kinds...); err != nil {
		t.Fatalf("setup indices: %v", err)
	}
	recs := Records()
	var cat, edu []esindex.Op
	for i := range recs {
		vocab.Enrich(&recs[i])
		c, e, err := esindex.Project(recs[i], "s3://test/records/"+recs[i].ExternalID+".json", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		cat = append(cat, c)
		if e.Doc != nil {
			edu = append(edu, e)
		}
	}
	for kind, ops := range map[string][]esindex.Op{esindex.Catalog: cat, esindex.Education: edu} {
		out, err := ix.Write(ctx, kind, ops)
		if err != nil || out.Indexed != len(ops) || len(out.Rejected) > 0 || out.Retryable > 0 {
			t.Fatalf("write %s: %+v, %v", kind, out, err)
		}
		if err := ix.Refresh(ctx, kind); err != nil {
			t.Fatal(err)
		}
	}
	return recs
}

// Words, series and providers of the synthetic items: Dutch, with the
// spread of a real archive (a few large series, many small ones).
var (
	words = strings.Fields(`fiets school klimaat energie water dieren boerderij stad dorp rivier zee strand
		bos oorlog vrede koning geschiedenis Brussel Gent Antwerpen Luik Brugge Schelde haven trein auto
		verkeer muziek orkest kunst schilder museum wetenschap ruimte planeet zon maan sterren weer regen
		sneeuw sport voetbal wielrennen olympische spelen gezondheid voeding groenten fruit brood kaas
		taal Frans Engels Nederlands wiskunde rekenen getallen meetkunde natuur plant bloem boom insect
		vogel vis computer internet robot techniek bouw brug toren kerk kasteel markt winkel geld economie
		werk arbeid fabriek landbouw visserij verkiezingen parlement democratie rechten kinderen jongeren
		familie vriendschap pesten emoties film theater dans feest carnaval kerstmis lente zomer herfst winter`)
	series    = []string{"Karrewiet", "Volt", "Journaal", "Terzake", "Koppen", "Pano", "Iedereen beroemd", "Hoe?Zo!", "Overleven", "Generatie K", "Factcheckers", "De Afspraak", "Schooltelevisie: fysica", "Het Lichaam van Coppens", "Ook getest op mensen"}
	providers = []string{"VRT", "VTM", "Ketnet", "Radio 1", "Klara", "Studio Brussel", "Amsab-ISG", "KADOC", "Letterenhuis", "Huis van Alijn", "STAM", "MAS", "Liberas", "ADVN", "Erfgoedcel Brugge"}
	languages = []string{"nl", "nl", "nl", "nl", "en", "fr", "de"}
	types     = []string{"video", "video", "video", "audio", "audio", "collection"}
)

// Synthetic returns n published items made from a seed: the same n and
// seed give the same items. Their education fields use the real
// vocabularies, so facets and filters have the real shape.
func Synthetic(n int, seed uint64) []profile.Record {
	vocab, err := profile.Vocabularies()
	if err != nil {
		panic(err)
	}
	pick := func(r *rand.Rand, cs []*profile.VocabConcept) profile.Concept {
		return profile.Concept{URI: cs[r.IntN(len(cs))].URI}
	}
	degrees := vocab.Search(profile.StructureScheme, "graad")
	subjects := vocab.Search(profile.SubjectScheme, "")
	themes := vocab.Search(profile.ThemeScheme, "")
	r := rand.New(rand.NewPCG(seed, 1))
	sentence := func(min, max int) string {
		k := min + r.IntN(max-min+1)
		out := make([]string, k)
		for i := range out {
			out[i] = words[r.IntN(len(words))]
		}
		return strings.Join(out, " ")
	}
	recs := make([]profile.Record, n)
	for i := range recs {
		id := fmt.Sprintf("syn%07d", i)
		title := sentence(3, 8)
		rec := item(id, types[r.IntN(len(types))], strings.ToUpper(title[:1])+title[1:], "", providers[r.IntN(len(providers))],
			fmt.Sprintf("%d-%02d-%02d", 1960+r.IntN(66), 1+r.IntN(12), 1+r.IntN(28)),
			[]string{words[r.IntN(len(words))], words[r.IntN(len(words))]}, []string{languages[r.IntN(len(languages))]})
		if r.IntN(3) > 0 {
			rec.Series = series[min(r.IntN(len(series)), r.IntN(len(series)))] // the first series are the big ones
		}
		rec.Description = sentence(20, 60) + "."
		rec.DurationSeconds = 30 + r.IntN(3600)
		rec.Education.Degrees = []profile.Concept{pick(r, degrees)}
		rec.Education.Subjects = []profile.Concept{pick(r, subjects)}
		if r.IntN(2) == 0 {
			rec.Education.Themes = []profile.Concept{pick(r, themes)}
		}
		vocab.Enrich(&rec)
		recs[i] = rec
	}
	return recs
}
