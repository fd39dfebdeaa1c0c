// Package republish is what avo offers other platforms: an OAI-PMH
// repository over the education index (what teachers may see: items,
// published curated sets, public collections, bundles and assignments),
// and those documents as Dublin Core and IEEE LOM records.
package republish

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Namespaces and schemas of the formats offered.
const (
	DCNamespace  = "http://www.openarchives.org/OAI/2.0/oai_dc/"
	DCSchema     = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
	LOMNamespace = "http://ltsc.ieee.org/xsd/LOM"
	LOMSchema    = "http://ltsc.ieee.org/xsd/lomv1.0/lom.xsd"
)

// Teachers' pieces and curated sets, as the index types them.
var aggregates = map[string]bool{"collectie": true, "bundel": true, "opdracht": true}

// dc is an oai_dc record.
type dc struct {
	XMLName     xml.Name `xml:"oai_dc:dc"`
	NS          string   `xml:"xmlns:oai_dc,attr"`
	DCNS        string   `xml:"xmlns:dc,attr"`
	XSI         string   `xml:"xmlns:xsi,attr"`
	Location    string   `xml:"xsi:schemaLocation,attr"`
	Title       []string `xml:"dc:title"`
	Creator     []string `xml:"dc:creator"`
	Subject     []string `xml:"dc:subject"`
	Description []string `xml:"dc:description"`
	Publisher   []string `xml:"dc:publisher"`
	Contributor []string `xml:"dc:contributor"`
	Date        []string `xml:"dc:date"`
	Type        []string `xml:"dc:type"`
	Identifier  []string `xml:"dc:identifier"`
	Language    []string `xml:"dc:language"`
	Rights      []string `xml:"dc:rights"`
}

// DC is a document as an oai_dc record; landing is its page.
func DC(d esindex.Doc, landing string) ([]byte, error) {
	r := dc{
		NS: DCNamespace, DCNS: "http://purl.org/dc/elements/1.1/", XSI: "http://www.w3.org/2001/XMLSchema-instance",
		Location: DCNamespace + " " + DCSchema,
		Title:    nonEmpty(d.Title), Creator: d.Creators, Description: nonEmpty(d.Abstract),
		Subject:   esindex.Union(d.Keywords, d.Classification, d.ThemeLabels),
		Publisher: esindex.Union(nonEmpty(d.OriginalCP), d.Publishers), Contributor: esindex.Union(d.Contributors, nonEmpty(d.OwnerName)),
		Date: nonEmpty(d.Issued), Type: nonEmpty(d.AdministrativeType),
		Identifier: nonEmpty(landing, d.ExternalID), Language: d.Languages, Rights: licenceTexts(d.Licenses),
	}
	return marshal(r)
}

// langString is a LOM LangString with one string.
type langString struct {
	String struct {
		Lang  string `xml:"language,attr,omitempty"`
		Value string `xml:",chardata"`
	} `xml:"string"`
}

func ls(lang, v string) *langString {
	s := &langString{}
	s.String.Lang, s.String.Value = lang, v
	return s
}

// vocab is a LOM vocabulary value (the LOMv1.0 base vocabularies only,
// as the strict schema requires).
type vocab struct {
	Source string `xml:"source"`
	Value  string `xml:"value"`
}

func lomv(v string) *vocab { return &vocab{Source: "LOMv1.0", Value: v} }

type lom struct {
	XMLName        xml.Name         `xml:"lom"`
	NS             string           `xml:"xmlns,attr"`
	XSI            string           `xml:"xmlns:xsi,attr"`
	Location       string           `xml:"xsi:schemaLocation,attr"`
	General        lomGeneral       `xml:"general"`
	LifeCycle      *lomLifeCycle    `xml:"lifeCycle,omitempty"`
	Technical      lomTechnical     `xml:"technical"`
	Educational    lomEducational   `xml:"educational"`
	Rights         lomRights        `xml:"rights"`
	Classification []lomClassifying `xml:"classification"`
}

type lomGeneral struct {
	Identifier  []lomIdentifier `xml:"identifier"`
	Title       *langString     `xml:"title,omitempty"`
	Language    []string        `xml:"language"`
	Description *langString     `xml:"description,omitempty"`
	Keyword     []*langString   `xml:"keyword"`
	Aggregation *vocab          `xml:"aggregationLevel"`
}

type lomIdentifier struct {
	Catalog string `xml:"catalog"`
	Entry   string `xml:"entry"`
}

type lomLifeCycle struct {
	Contribute []lomContribute `xml:"contribute"`
}

type lomContribute struct {
	Role   *vocab   `xml:"role"`
	Entity []string `xml:"entity"`
	Date   *struct {
		DateTime string `xml:"dateTime"`
	} `xml:"date,omitempty"`
}

type lomTechnical struct {
	Format   []string `xml:"format"`
	Location []string `xml:"location"`
	Duration *struct {
		Duration string `xml:"duration"`
	} `xml:"duration,omitempty"`
}

type lomEducational struct {
	ResourceType []*vocab `xml:"learningResourceType"`
	EndUserRole  []*vocab `xml:"intendedEndUserRole"`
	Context      []*vocab `xml:"context"`
}

type lomRights struct {
	Cost        *vocab      `xml:"cost"`
	Copyright   *vocab      `xml:"copyrightAndOtherRestrictions"`
	Description *langString `xml:"description,omitempty"`
}

type lomClassifying struct {
	Purpose   *vocab     `xml:"purpose"`
	TaxonPath []lomTaxon `xml:"taxonPath"`
}

type lomTaxon struct {
	Source *langString `xml:"source"`
	Taxon  struct {
		ID    string      `xml:"id"`
		Entry *langString `xml:"entry"`
	} `xml:"taxon"`
}

// LOM is a document as an IEEE LOM record: identifier and landing page,
// title, description, keywords, languages, aggregation level (1 an item,
// 2 a collection, curated set or assignment, 3 a bundle), format,
// location and duration, learning-resource type, end-user roles and
// context (LOMv1.0 terms, as the strict schema wants), rights (no cost,
// restricted, the licences in words), the partner as publisher, and the
// Flemish education structure and subjects as classifications whose
// taxon paths name the scheme, the concept URI and its Dutch label.
func LOM(d esindex.Doc, landing, catalog string, vocabulary *profile.Vocabulary) ([]byte, error) {
	r := lom{NS: LOMNamespace, XSI: "http://www.w3.org/2001/XMLSchema-instance", Location: LOMNamespace + " " + LOMSchema}
	g := &r.General
	g.Identifier = []lomIdentifier{{Catalog: catalog, Entry: d.ExternalID}}
	if landing != "" {
		g.Identifier = append(g.Identifier, lomIdentifier{Catalog: "URI", Entry: landing})
	}
	if d.Title != "" {
		g.Title = ls("nl", d.Title)
	}
	g.Language = d.Languages
	if d.Abstract != "" {
		g.Description = ls("nl", d.Abstract)
	}
	for _, k := range d.Keywords {
		g.Keyword = append(g.Keyword, ls("nl", k))
	}
	level := "1"
	switch {
	case d.AdministrativeType == "bundel":
		level = "3"
	case aggregates[d.AdministrativeType]:
		level = "2"
	}
	g.Aggregation = lomv(level)

	var contribute []lomContribute
	if d.OriginalCP != "" {
		c := lomContribute{Role: lomv("publisher"), Entity: []string{vcard(d.OriginalCP)}}
		if d.Issued != "" {
			c.Date = &struct {
				DateTime string `xml:"dateTime"`
			}{d.Issued}
		}
		contribute = append(contribute, c)
	}
	for _, n := range esindex.Union(d.Creators, nonEmpty(d.OwnerName)) {
		contribute = append(contribute, lomContribute{Role: lomv("author"), Entity: []string{vcard(n)}})
	}
	if len(contribute) > 0 {
		r.LifeCycle = &lomLifeCycle{Contribute: contribute}
	}

	t := &r.Technical
	switch d.AdministrativeType {
	case "video":
		t.Format = []string{"video/mp4"}
	case "audio":
		t.Format = []string{"audio/mpeg"}
	default:
		t.Format = []string{"text/html"}
	}
	if landing != "" {
		t.Location = []string{landing}
	}
	if d.DurationSeconds > 0 {
		t.Duration = &struct {
			Duration string `xml:"duration"`
		}{fmt.Sprintf("PT%dS", d.DurationSeconds)}
	}

	e := &r.Educational
	// LOMv1.0 has no "video": an assignment is an exercise, anything else
	// a lecture (a presentation to watch or hear).
	if d.AdministrativeType == "opdracht" {
		e.ResourceType = []*vocab{lomv("exercise")}
	} else {
		e.ResourceType = []*vocab{lomv("lecture")}
	}
	e.EndUserRole = []*vocab{lomv("teacher")}
	if !aggregates[d.AdministrativeType] {
		e.EndUserRole = append(e.EndUserRole, lomv("learner"))
	}
	if len(d.LevelIDs) > 0 || len(d.DegreeIDs) > 0 {
		e.Context = []*vocab{lomv("school")}
	}

	r.Rights = lomRights{Cost: lomv("no"), Copyright: lomv("yes")}
	if texts := licenceTexts(d.Licenses); len(texts) > 0 {
		r.Rights.Description = ls("nl", strings.Join(texts, " "))
	}

	taxa := func(purpose, scheme string, uris []string) {
		var paths []lomTaxon
		for _, u := range uris {
			c, ok := vocabulary.Concept(u)
			if !ok {
				continue
			}
			var p lomTaxon
			p.Source = ls("x-none", scheme)
			p.Taxon.ID, p.Taxon.Entry = u, ls("nl", c.Label)
			paths = append(paths, p)
		}
		if len(paths) > 0 {
			r.Classification = append(r.Classification, lomClassifying{Purpose: lomv(purpose), TaxonPath: paths})
		}
	}
	taxa("educational level", profile.StructureScheme, esindex.Union(d.LevelIDs, d.DegreeIDs))
	taxa("discipline", profile.SubjectScheme, d.SubjectIDs)
	return marshal(r)
}

// vcard names a person or organisation as LOM's entity wants it.
func vcard(name string) string {
	esc := strings.NewReplacer(`\`, `\\`, ",", `\,`, ";", `\;`, "\n", `\n`).Replace(name)
	return "BEGIN:VCARD\nVERSION:3.0\nFN:" + esc + "\nEND:VCARD"
}

// licenceTexts says in words what a document's licences allow.
func licenceTexts(licences []string) []string {
	var out []string
	for _, l := range licences {
		switch l {
		case profile.EducationLicence:
			out = append(out, "Te gebruiken in het onderwijs door aangemelde leerkrachten en leerlingen ("+l+").")
		case profile.FragmentLicence:
			out = append(out, "Fragmenten te gebruiken in het onderwijs door aangemelde leerkrachten en leerlingen ("+l+").")
		}
	}
	return out
}

func marshal(v any) ([]byte, error) { return xml.Marshal(v) }

func nonEmpty(vs ...string) []string {
	var out []string
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}
