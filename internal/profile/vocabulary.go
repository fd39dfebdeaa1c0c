package profile

import (
	"embed"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/archiefvooronderwijs/avo/internal/turtle"
)

// Concept schemes of the education vocabularies and the licences.
const (
	StructureScheme = "https://w3id.org/onderwijs-vlaanderen/id/structuur"
	SubjectScheme   = "https://w3id.org/onderwijs-vlaanderen/id/vak"
	ThemeScheme     = "https://data.hetarchief.be/id/onderwijs/thema"
	LicenseScheme   = "https://data.hetarchief.be/id/license"
)

// Collections that sort the education structure into levels and degrees.
const (
	LevelCollection    = "https://w3id.org/onderwijs-vlaanderen/id/collectie/niveau"
	SubLevelCollection = "https://w3id.org/onderwijs-vlaanderen/id/collectie/subniveau"
	DegreeCollection   = "https://w3id.org/onderwijs-vlaanderen/id/collectie/graad"
)

// Vocabulary terms used in the shipped file.
const (
	skosNS       = "http://www.w3.org/2004/02/skos/core#"
	skosConcept  = skosNS + "Concept"
	skosColl     = skosNS + "Collection"
	skosInScheme = skosNS + "inScheme"
	skosPref     = skosNS + "prefLabel"
	skosAlt      = skosNS + "altLabel"
	skosBroader  = skosNS + "broader"
	skosMember   = skosNS + "member"
	skosRelated  = skosNS + "relatedMatch"
	skosNotation = skosNS + "notation"
	skosTop      = skosNS + "topConceptOf"
	position     = "https://schema.org/position"
)

// VocabConcept is one concept of a shipped vocabulary.
type VocabConcept struct {
	URI          string
	Label        string
	AltLabels    []string
	Scheme       string
	Broader      []string
	Position     int // -1 when the vocabulary gives none
	Collections  []string
	RelatedMatch []string
	Notation     string
}

// In reports whether the concept is a member of a collection.
func (c *VocabConcept) In(collection string) bool { return slices.Contains(c.Collections, collection) }

// Vocabulary holds the education structure, subjects, themes and licences.
type Vocabulary struct {
	concepts map[string]*VocabConcept
	// byLabel maps scheme and lower-cased label to concepts.
	byLabel    map[string]map[string][]*VocabConcept
	byNotation map[string]*VocabConcept
}

//go:embed vocabularies/*.ttl
var vocabFiles embed.FS

var (
	vocabOnce sync.Once
	vocab     *Vocabulary
	vocabErr  error
)

// Vocabularies returns the vocabularies shipped with avo, read once with the
// project's Turtle reader.
func Vocabularies() (*Vocabulary, error) {
	vocabOnce.Do(func() {
		var data []byte
		if data, vocabErr = vocabFiles.ReadFile("vocabularies/education.ttl"); vocabErr == nil {
			vocab, vocabErr = LoadVocabulary(data)
		}
	})
	return vocab, vocabErr
}

// LoadVocabulary reads a SKOS vocabulary from Turtle.
func LoadVocabulary(ttl []byte) (*Vocabulary, error) {
	triples, err := turtle.ParseAll(ttl, "")
	if err != nil {
		return nil, fmt.Errorf("vocabulary: %w", err)
	}
	v := &Vocabulary{concepts: map[string]*VocabConcept{}, byLabel: map[string]map[string][]*VocabConcept{}, byNotation: map[string]*VocabConcept{}}
	get := func(uri string) *VocabConcept {
		c, ok := v.concepts[uri]
		if !ok {
			c = &VocabConcept{URI: uri, Position: -1}
			v.concepts[uri] = c
		}
		return c
	}
	var members [][2]string
	for _, t := range triples {
		s, o := t.S.Value, t.O.Value
		switch t.P.Value {
		case turtle.RDFType:
			if o == skosConcept {
				get(s)
			}
		case skosInScheme:
			get(s).Scheme = o
		case skosTop:
			if get(s).Scheme == "" {
				get(s).Scheme = o
			}
		case skosPref:
			get(s).Label = o
		case skosAlt:
			c := get(s)
			c.AltLabels = append(c.AltLabels, o)
		case skosBroader:
			c := get(s)
			c.Broader = append(c.Broader, o)
		case skosRelated:
			c := get(s)
			c.RelatedMatch = append(c.RelatedMatch, o)
		case skosNotation:
			get(s).Notation = o
		case position:
			if n, err := strconv.Atoi(o); err == nil {
				get(s).Position = n
			}
		case skosMember:
			members = append(members, [2]string{s, o})
		}
	}
	for _, m := range members {
		if c, ok := v.concepts[m[1]]; ok {
			c.Collections = append(c.Collections, m[0])
		}
	}
	for uri, c := range v.concepts {
		if c.Label == "" {
			delete(v.concepts, uri) // referenced but not described
			continue
		}
		if v.byLabel[c.Scheme] == nil {
			v.byLabel[c.Scheme] = map[string][]*VocabConcept{}
		}
		for _, l := range append([]string{c.Label}, c.AltLabels...) {
			k := labelKey(l)
			v.byLabel[c.Scheme][k] = append(v.byLabel[c.Scheme][k], c)
		}
		if c.Notation != "" {
			v.byNotation[c.Notation] = c
		}
	}
	return v, nil
}

// ordinal matches Dutch ordinals written out ("1ste", "2de"), which the
// vocabulary writes short ("1e", "2e").
var ordinal = regexp.MustCompile(`\b(\d+)(?:ste|de|e)\b`)

// labelKey is how labels are compared: case, spacing and the spelling of
// ordinals do not matter.
func labelKey(l string) string {
	return ordinal.ReplaceAllString(strings.ToLower(strings.Join(strings.Fields(l), " ")), "${1}e")
}

// Concept returns the concept with the URI.
func (v *Vocabulary) Concept(uri string) (*VocabConcept, bool) {
	c, ok := v.concepts[uri]
	return c, ok
}

// ByLabel finds the concepts of a scheme with the label (preferred or
// alternative, ignoring case).
func (v *Vocabulary) ByLabel(scheme, label string) []*VocabConcept {
	return v.byLabel[scheme][labelKey(label)]
}

// Search returns the concepts of a scheme whose preferred or alternative
// label contains text, ignoring case, ordered by label.
func (v *Vocabulary) Search(scheme, text string) []*VocabConcept {
	text = strings.ToLower(strings.TrimSpace(text))
	var out []*VocabConcept
	for _, c := range v.concepts {
		if c.Scheme != scheme {
			continue
		}
		for _, l := range append([]string{c.Label}, c.AltLabels...) {
			if strings.Contains(strings.ToLower(l), text) {
				out = append(out, c)
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b *VocabConcept) int { return strings.Compare(a.Label+a.URI, b.Label+b.URI) })
	return out
}

// License returns the licence with a code such as VIAA-ONDERWIJS.
func (v *Vocabulary) License(code string) (*VocabConcept, bool) {
	c, ok := v.byNotation[code]
	return c, ok && c.Scheme == LicenseScheme
}

// Ancestors returns every broader concept of uri, nearest first.
func (v *Vocabulary) Ancestors(uri string) []*VocabConcept {
	var out []*VocabConcept
	seen := map[string]bool{uri: true}
	queue := []string{uri}
	for len(queue) > 0 {
		c, ok := v.concepts[queue[0]]
		queue = queue[1:]
		if !ok {
			continue
		}
		for _, b := range c.Broader {
			if seen[b] {
				continue
			}
			seen[b] = true
			if bc, ok := v.concepts[b]; ok {
				out = append(out, bc)
				queue = append(queue, b)
			}
		}
	}
	return out
}

// Size is the number of concepts.
func (v *Vocabulary) Size() int { return len(v.concepts) }

// Enrich resolves the education fields of a record against the
// vocabulary: URIs get their labels, labels of older records become
// concepts where the vocabulary knows them (and stay labels otherwise),
// degrees bring their levels and themes their categories (marked
// inferred). What cannot be resolved is a warning on the record.
func (v *Vocabulary) Enrich(r *Record) {
	e := &r.Education
	e.Levels = v.resolve(r, "education level", StructureScheme, e.Levels)
	e.Degrees = v.resolve(r, "education degree", StructureScheme, e.Degrees)
	e.Subjects = v.resolve(r, "subject", SubjectScheme, e.Subjects)
	e.Themes = v.resolve(r, "theme", ThemeScheme, e.Themes)
	// Legacy free labels: context names levels, the typical age range
	// degrees, the classification subjects.
	for _, l := range e.Context {
		v.adoptLabel(r, StructureScheme, l)
	}
	for _, l := range e.TypicalAgeRange {
		v.adoptLabel(r, StructureScheme, l)
	}
	for _, l := range e.Classification {
		if cs := v.ByLabel(SubjectScheme, l); len(cs) == 1 {
			e.Subjects = AppendConcept(e.Subjects, Concept{URI: cs[0].URI, Label: cs[0].Label})
		}
	}
	// Degrees bring their levels, and sub-levels (lager onderwijs) theirs
	// (basisonderwijs), so a filter on a level finds everything under it.
	for _, d := range append(slices.Clone(e.Degrees), e.Levels...) {
		for _, a := range v.Ancestors(d.URI) {
			if a.In(LevelCollection) || a.In(SubLevelCollection) {
				e.Levels = AppendConcept(e.Levels, Concept{URI: a.URI, Label: a.Label, Inferred: true})
			}
		}
	}
	for _, t := range slices.Clone(e.Themes) {
		for _, a := range v.Ancestors(t.URI) {
			e.Themes = AppendConcept(e.Themes, Concept{URI: a.URI, Label: a.Label, Inferred: true})
		}
	}
}

// resolve gives URIs their labels and labels their URIs, within a scheme.
func (v *Vocabulary) resolve(r *Record, what, scheme string, cs []Concept) []Concept {
	var out []Concept
	for _, c := range cs {
		switch {
		case c.URI != "":
			vc, ok := v.Concept(c.URI)
			switch {
			case !ok:
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s is not in the vocabulary", what, c.URI))
			case vc.Scheme != scheme:
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s %s belongs to another vocabulary (%s)", what, c.URI, vc.Scheme))
			default:
				c.Label = vc.Label
			}
			out = AppendConcept(out, c)
		case c.Label != "":
			if found := v.ByLabel(scheme, c.Label); len(found) == 1 {
				out = AppendConcept(out, Concept{URI: found[0].URI, Label: found[0].Label})
			} else {
				r.Warnings = append(r.Warnings, fmt.Sprintf("%s %q is not a label of the vocabulary; kept as a label", what, c.Label))
				out = AppendConcept(out, c)
			}
		}
	}
	return out
}

// adoptLabel turns a legacy structure label into a level or a degree.
func (v *Vocabulary) adoptLabel(r *Record, scheme, label string) {
	cs := v.ByLabel(scheme, label)
	if len(cs) != 1 {
		return
	}
	c := Concept{URI: cs[0].URI, Label: cs[0].Label}
	switch {
	case cs[0].In(DegreeCollection):
		r.Education.Degrees = AppendConcept(r.Education.Degrees, c)
	case cs[0].In(LevelCollection) || cs[0].In(SubLevelCollection):
		r.Education.Levels = AppendConcept(r.Education.Levels, c)
	}
}

// AppendConcept adds c unless a concept with its URI (or, without one, its
// label) is there; an explicit concept replaces an inferred one.
func AppendConcept(list []Concept, c Concept) []Concept {
	for i, have := range list {
		if c.URI != "" && have.URI == c.URI || c.URI == "" && have.URI == "" && have.Label == c.Label {
			if have.Inferred && !c.Inferred {
				list[i] = c
			}
			return list
		}
	}
	return append(list, c)
}
