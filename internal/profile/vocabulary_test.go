package profile

import (
	"slices"
	"strings"
	"testing"
)

func vocabulary(t testing.TB) *Vocabulary {
	t.Helper()
	v, err := Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestShippedVocabulary(t *testing.T) {
	v := vocabulary(t)
	count := map[string]int{}
	for _, c := range v.concepts {
		count[c.Scheme]++
	}
	// The sources hold 66 structure concepts, 190 subjects, 62 themes
	// (52 themes and 10 categories) and 23 licences.
	want := map[string]int{StructureScheme: 66, SubjectScheme: 190, ThemeScheme: 62, LicenseScheme: 23}
	for scheme, n := range want {
		if count[scheme] != n {
			t.Errorf("%s: %d concepts, want %d", scheme, count[scheme], n)
		}
	}
	deg, ok := v.Concept(StructureScheme + "/lager-3e-graad")
	if !ok || deg.Label != "lager 3e graad" || !deg.In(DegreeCollection) || deg.Position != 2 {
		t.Errorf("lager-3e-graad: %+v", deg)
	}
	var anc []string
	for _, a := range v.Ancestors(deg.URI) {
		anc = append(anc, a.URI)
	}
	if !slices.Contains(anc, StructureScheme+"/lager-onderwijs") {
		t.Errorf("ancestors of lager-3e-graad: %v", anc)
	}
	if l, ok := v.License("VIAA-ONDERWIJS"); !ok || l.Label != "Onderwijslicentie" {
		t.Errorf("licence VIAA-ONDERWIJS: %+v", l)
	}
	if sport, ok := v.Concept(SubjectScheme + "/sport"); !ok || len(sport.RelatedMatch) == 0 {
		t.Errorf("vak sport has no related themes: %+v", sport)
	}
}

func TestEnrich(t *testing.T) {
	v := vocabulary(t)
	r := Record{Education: Education{
		Degrees:         []Concept{{URI: StructureScheme + "/lager-3e-graad"}},
		Subjects:        []Concept{{URI: SubjectScheme + "/aardrijkskunde"}, {URI: SubjectScheme + "/bestaat-niet"}},
		Themes:          []Concept{{URI: ThemeScheme + "/verkeer-en-mobiliteit"}, {Label: "Geschiedenis"}, {Label: "zeilen op de maan"}},
		Context:         []string{"Secundair onderwijs"},
		TypicalAgeRange: []string{"secundair 2e graad"},
		Classification:  []string{"sport", "breiwerk"},
	}}
	v.Enrich(&r)
	e := r.Education
	has := func(cs []Concept, uri string, inferred bool) bool {
		return slices.ContainsFunc(cs, func(c Concept) bool { return c.URI == uri && c.Inferred == inferred && c.Label != "" })
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"degree label resolved", has(e.Degrees, StructureScheme+"/lager-3e-graad", false)},
		{"level of the degree inferred", has(e.Levels, StructureScheme+"/lager-onderwijs", true)},
		{"legacy context became a level", has(e.Levels, StructureScheme+"/secundair-onderwijs", false)},
		{"legacy age range became a degree", has(e.Degrees, StructureScheme+"/secundair-2e-graad", false)},
		{"subject label resolved", has(e.Subjects, SubjectScheme+"/aardrijkskunde", false)},
		{"legacy classification became a subject", has(e.Subjects, SubjectScheme+"/sport", false)},
		{"theme label became a concept", has(e.Themes, ThemeScheme+"/geschiedenis", false)},
		{"theme category inferred", has(e.Themes, ThemeScheme+"/aardrijkskunde", true)},
		{"an unknown label stays a label", slices.ContainsFunc(e.Themes, func(c Concept) bool { return c.URI == "" && c.Label == "zeilen op de maan" })},
		{"legacy labels stay for the frontend", slices.Equal(e.Context, []string{"Secundair onderwijs"})},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: %+v", c.what, e)
		}
	}
	// A sub-level alone brings its level: a filter on basisonderwijs
	// finds what is tagged kleuteronderwijs.
	sub := Record{Education: Education{Levels: []Concept{{URI: StructureScheme + "/kleuteronderwijs"}}}}
	v.Enrich(&sub)
	if !has(sub.Education.Levels, StructureScheme+"/basisonderwijs", true) {
		t.Errorf("level of a sub-level not inferred: %+v", sub.Education.Levels)
	}
	joined := strings.Join(r.Warnings, "\n")
	if !strings.Contains(joined, "bestaat-niet is not in the vocabulary") || !strings.Contains(joined, `"zeilen op de maan" is not a label`) {
		t.Errorf("warnings %q", r.Warnings)
	}
}
