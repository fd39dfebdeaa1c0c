package mappings

import (
	"fmt"
	"sort"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/profile"

	"github.com/archiefvooronderwijs/avo/internal/rdfio"
	"github.com/archiefvooronderwijs/avo/internal/turtle"
)

func init() {
	register("rdf-turtle", rdfMapper(rdfio.Turtle))
	register("rdf-ntriples", rdfMapper(rdfio.NTriples))
	register("rdf-jsonld", rdfMapper(rdfio.JSONLD))
}

// rdfMapper maps an RDF description of an item (DC terms and schema.org)
// in one syntax.
func rdfMapper(syntax string) Mapper {
	return func(raw []byte, o Origin) (profile.Record, error) {
		if len(raw) > MaxRecordBytes {
			return profile.Record{}, fmt.Errorf("record is %d bytes, over the %d byte limit", len(raw), MaxRecordBytes)
		}
		triples, err := rdfio.Read(raw, syntax, "")
		if err != nil {
			return profile.Record{}, err
		}
		return mapRDF(triples, o, "rdf-"+syntax)
	}
}

const (
	rdfDC     = "http://purl.org/dc/terms/"
	rdfDC11   = "http://purl.org/dc/elements/1.1/"
	rdfSchema = "https://schema.org/"
	// Some publish schema.org under http.
	rdfSchemaHTTP = "http://schema.org/"
)

// graph indexes triples by subject and predicate.
type graph map[turtle.Term]map[string][]turtle.Term

// values returns the objects of s for any of the predicates, where the
// schema.org ones also count under http://schema.org/.
func (g graph) values(s turtle.Term, preds ...string) []turtle.Term {
	var out []turtle.Term
	for _, p := range preds {
		out = append(out, g[s][p]...)
		if rest, ok := strings.CutPrefix(p, rdfSchema); ok {
			out = append(out, g[s][rdfSchemaHTTP+rest]...)
		}
	}
	return out
}

// texts returns literal values (preferring Dutch first) and the names of
// resources that have one.
func (g graph) texts(s turtle.Term, preds ...string) []string {
	var nl, other []string
	for _, v := range g.values(s, preds...) {
		text := v.Value
		if v.Kind != turtle.Literal {
			names := g.values(v, rdfSchema+"name", rdfDC+"title")
			if len(names) == 0 {
				if v.Kind == turtle.Blank {
					continue
				}
			} else {
				text = names[0].Value
			}
		}
		if text = clean(text); text == "" {
			continue
		}
		if strings.HasPrefix(strings.ToLower(v.Lang), "nl") {
			nl = append(nl, text)
		} else {
			other = append(other, text)
		}
	}
	return append(nl, other...)
}

func (g graph) first(s turtle.Term, preds ...string) string {
	if ts := g.texts(s, preds...); len(ts) > 0 {
		return ts[0]
	}
	return ""
}

// mainSubject picks the item the document describes: a subject typed as a
// schema.org creative work, else one with a title, else the one with the
// most statements.
func (g graph) mainSubject() (turtle.Term, bool) {
	var subjects []turtle.Term
	for s := range g {
		subjects = append(subjects, s)
	}
	sort.Slice(subjects, func(i, j int) bool { return subjects[i].Value < subjects[j].Value })
	score := func(s turtle.Term) int {
		n := 0
		for _, t := range g.values(s, turtle.RDFType) {
			switch strings.TrimPrefix(strings.TrimPrefix(t.Value, rdfSchema), rdfSchemaHTTP) {
			case "VideoObject", "AudioObject", "CreativeWork", "Episode", "Clip", "MediaObject", "Movie", "ImageObject":
				n += 100
			}
		}
		if len(g.values(s, rdfDC+"title", rdfSchema+"name", rdfDC11+"title")) > 0 {
			n += 10
		}
		if s.Kind == turtle.IRI {
			n++
		}
		return n
	}
	var best turtle.Term
	bestScore := -1
	for _, s := range subjects {
		if sc := score(s); sc > bestScore {
			best, bestScore = s, sc
		}
	}
	return best, bestScore >= 10
}

func mapRDF(triples []turtle.Triple, o Origin, format string) (profile.Record, error) {
	g := graph{}
	for _, t := range triples {
		if g[t.S] == nil {
			g[t.S] = map[string][]turtle.Term{}
		}
		g[t.S][t.P.Value] = append(g[t.S][t.P.Value], t.O)
	}
	s, ok := g.mainSubject()
	if !ok {
		return profile.Record{}, fmt.Errorf("no item described: no subject has a title (dcterms:title, schema:name) or a creative-work type")
	}
	r := profile.Record{Provenance: o.provenance(format)}
	r.Title = g.first(s, rdfDC+"title", rdfSchema+"name", rdfDC11+"title")
	r.Description = g.first(s, rdfDC+"description", rdfSchema+"description", rdfDC+"abstract", rdfSchema+"abstract")
	ids := g.texts(s, rdfDC+"identifier", rdfSchema+"identifier")
	if s.Kind == turtle.IRI {
		if i := strings.LastIndexAny(s.Value, "/#"); i >= 0 && i < len(s.Value)-1 {
			ids = append(ids, s.Value[i+1:])
		}
	}
	r.ExternalID = pickExternalID(ids, o)
	for _, id := range g.texts(s, rdfDC+"identifier", rdfSchema+"identifier") {
		if id != r.ExternalID {
			r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: "identifier", Value: id})
		}
	}
	r.Issued = checkedDate(&r, "issued", g.first(s, rdfDC+"issued", rdfSchema+"datePublished", rdfSchema+"uploadDate"))
	r.Created = checkedDate(&r, "created", g.first(s, rdfDC+"created", rdfSchema+"dateCreated"))
	for _, p := range []struct {
		list  *[]profile.Agent
		preds []string
	}{
		{&r.Creators, []string{rdfDC + "creator", rdfSchema + "creator", rdfSchema + "director", rdfSchema + "author"}},
		{&r.Contributors, []string{rdfDC + "contributor", rdfSchema + "contributor", rdfSchema + "actor"}},
		{&r.Publishers, []string{rdfDC + "publisher", rdfSchema + "publisher"}},
	} {
		for _, name := range g.texts(s, p.preds...) {
			*p.list = appendAgent(*p.list, "", name)
		}
	}
	r.PartnerKeywords = appendUnique(nil, g.texts(s, rdfSchema+"keywords", rdfSchema+"genre")...)
	for _, v := range g.values(s, rdfDC+"subject", rdfSchema+"about") {
		switch {
		case strings.HasPrefix(v.Value, profile.SubjectScheme+"/"):
			r.Education.Subjects = profile.AppendConcept(r.Education.Subjects, profile.Concept{URI: v.Value})
		case strings.HasPrefix(v.Value, profile.ThemeScheme+"/"):
			r.Education.Themes = profile.AppendConcept(r.Education.Themes, profile.Concept{URI: v.Value})
		case v.Kind == turtle.Literal:
			r.PartnerKeywords = appendUnique(r.PartnerKeywords, v.Value)
		}
	}
	for _, v := range g.values(s, rdfSchema+"educationalLevel", rdfDC+"educationLevel") {
		c := profile.Concept{URI: v.Value}
		if v.Kind == turtle.Literal {
			c = profile.Concept{Label: v.Value}
		}
		if vc, ok := structureConcept(v.Value); ok && vc.In(profile.DegreeCollection) {
			r.Education.Degrees = profile.AppendConcept(r.Education.Degrees, c)
		} else {
			r.Education.Levels = profile.AppendConcept(r.Education.Levels, c)
		}
	}
	r.Education.EndUserRoles = appendUnique(nil, g.texts(s, rdfSchema+"audience", rdfDC+"audience")...)
	r.Education.ResourceTypes = appendUnique(nil, g.texts(s, rdfSchema+"learningResourceType")...)
	for _, l := range g.texts(s, rdfDC+"language", rdfSchema+"inLanguage") {
		if code := normaliseLanguage(l); code != "" {
			r.Languages = appendUnique(r.Languages, code)
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("language %q is not a known language; left out", l))
		}
	}
	for _, d := range g.texts(s, rdfSchema+"duration", rdfDC+"extent") {
		if secs, ok := isoDurationSeconds(d); ok {
			r.DurationSeconds = secs
		}
	}
	for _, v := range g.values(s, rdfDC+"license", rdfSchema+"license") {
		code := v.Value
		if v.Kind == turtle.IRI {
			code = code[strings.LastIndex(code, "/")+1:]
		}
		r.Rights.Licenses = appendUnique(r.Rights.Licenses, code)
	}
	r.Rights.RightsHolder = strings.Join(g.texts(s, rdfDC+"rightsHolder", rdfSchema+"copyrightHolder"), "; ")
	r.Thumbnail = g.first(s, rdfSchema+"thumbnailUrl")
	for _, part := range g.values(s, rdfSchema+"partOfSeries", rdfSchema+"isPartOf", rdfDC+"isPartOf") {
		name := g.first(part, rdfSchema+"name", rdfDC+"title")
		types := g.values(part, turtle.RDFType)
		switch {
		case hasType(types, "CreativeWorkSeason"):
			r.Season = firstNonEmpty(r.Season, name)
		case hasType(types, "CreativeWorkSeries"), hasType(types, "TVSeries"), hasType(types, "RadioSeries"), len(types) == 0:
			r.Series = firstNonEmpty(r.Series, name)
		}
	}
	for _, t := range g.values(s, turtle.RDFType) {
		switch {
		case strings.HasSuffix(t.Value, "/VideoObject"), strings.HasSuffix(t.Value, "/Movie"), strings.HasSuffix(t.Value, "/Clip"):
			r.Type = firstNonEmpty(r.Type, "video")
		case strings.HasSuffix(t.Value, "/AudioObject"):
			r.Type = firstNonEmpty(r.Type, "audio")
		}
	}
	r.OriginalCP = g.first(s, rdfSchema+"provider", rdfSchema+"sourceOrganization")
	return r, nil
}

func hasType(types []turtle.Term, name string) bool {
	for _, t := range types {
		if strings.HasSuffix(t.Value, "/"+name) {
			return true
		}
	}
	return false
}

// structureConcept looks a URI up in the education structure, to tell a
// degree from a level.
func structureConcept(uri string) (*profile.VocabConcept, bool) {
	v, err := profile.Vocabularies()
	if err != nil {
		return nil, false
	}
	return v.Concept(uri)
}
