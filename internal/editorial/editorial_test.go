package editorial

import (
	"slices"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

const (
	vak    = "https://w3id.org/onderwijs-vlaanderen/id/vak/"
	ostr   = "https://w3id.org/onderwijs-vlaanderen/id/structuur/"
	lager3 = ostr + "lager-3e-graad"
)

func uris(cs []profile.Concept) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.URI)
	}
	return out
}

// TestOverlayReplacesWhatSetsOverride: the indices show the sets'
// education fields instead of the partner's (joined across sets, labels
// and ancestors resolved again); the record itself is left as it was.
func TestOverlayReplacesWhatSetsOverride(t *testing.T) {
	v, err := profile.Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	rec := profile.Record{ExternalID: "x", Description: "partner", Keywords: []string{"partner"},
		Education: profile.Education{
			Subjects: []profile.Concept{{URI: vak + "wiskunde", Label: "wiskunde"}},
			Levels:   []profile.Concept{{URI: ostr + "secundair-onderwijs"}},
		}}
	var none *Editorial
	if got := none.Overlay(rec, v); got.Description != "partner" || !slices.Equal(uris(got.Education.Subjects), []string{vak + "wiskunde"}) {
		t.Errorf("no decisions changed the record: %+v", got)
	}
	ed := &Editorial{Sets: map[string]Hold{
		"set-b": {Since: time.Now(), Overrides: &Overrides{Subjects: []string{vak + "aardrijkskunde"}, Description: "tweede"}},
		"set-a": {Since: time.Now(), Overrides: &Overrides{Subjects: []string{vak + "geschiedenis"}, Degrees: []string{lager3}, Description: "eerste"}},
		"set-c": {Since: time.Now()},
	}}
	got := ed.Overlay(rec, v)
	if want := []string{vak + "geschiedenis", vak + "aardrijkskunde"}; !slices.Equal(uris(got.Education.Subjects), want) {
		t.Errorf("subjects %v, want %v", uris(got.Education.Subjects), want)
	}
	if got.Education.Subjects[0].Label != "geschiedenis" {
		t.Errorf("an override's label is not resolved: %+v", got.Education.Subjects[0])
	}
	// The degree brings its levels; the partner's level is replaced with it.
	if levels := uris(got.Education.Levels); slices.Contains(levels, ostr+"secundair-onderwijs") || !slices.Contains(levels, ostr+"lager-onderwijs") {
		t.Errorf("levels %v", levels)
	}
	if got.Description != "eerste" || !slices.Equal(got.Keywords, []string{"partner"}) {
		t.Errorf("description %q keywords %v", got.Description, got.Keywords)
	}
	if rec.Description != "partner" || len(rec.Education.Subjects) != 1 {
		t.Errorf("Overlay changed the record it was given: %+v", rec)
	}

	var r profile.Record
	ed.Apply(&r)
	if !r.Rights.Published || !slices.Equal(r.Rights.Sets, []string{"set-a", "set-b", "set-c"}) {
		t.Errorf("an item held by sets: %+v", r.Rights)
	}
}

// TestOverridesNameWhatIsNotInTheVocabulary: an override from another
// scheme, or none, is refused by name.
func TestOverridesNameWhatIsNotInTheVocabulary(t *testing.T) {
	v, err := profile.Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		o    Overrides
		want string
	}{
		{Overrides{Subjects: []string{vak + "wiskunde"}, Degrees: []string{lager3}}, ""},
		{Overrides{Subjects: []string{lager3}}, "subject " + lager3 + " is not in the vocabulary https://w3id.org/onderwijs-vlaanderen/id/vak"},
		{Overrides{Themes: []string{"https://example.org/x"}}, "theme https://example.org/x is not in the vocabulary https://data.hetarchief.be/id/onderwijs/thema"},
	} {
		err := c.o.Check(v)
		if (err == nil) != (c.want == "") || err != nil && err.Error() != c.want {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
