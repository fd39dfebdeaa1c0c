package mappings

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

func init() { register("sip-dc-schema", MapSIP) }

const (
	nsDCTerms = "http://purl.org/dc/terms/"
	nsSchema  = "https://schema.org/"
)

// MapSIP maps the descriptive metadata of a meemoo SIP 2.x package
// (dc+schema.xml: DCTERMS and schema.org, xml:lang on texts, EDTF dates,
// licence codes). It carries no education fields.
func MapSIP(raw []byte, o Origin) (profile.Record, error) {
	root, err := parseTree(raw)
	if err != nil {
		return profile.Record{}, err
	}
	if root.Name.Local != "metadata" || !strings.HasPrefix(root.Name.Space, "https://data.hetarchief.be/id/sip/") {
		return profile.Record{}, fmt.Errorf("not SIP dc+schema metadata: root element is {%s}%s, want {https://data.hetarchief.be/id/sip/VERSION/PROFILE}metadata", root.Name.Space, root.Name.Local)
	}
	r := profile.Record{Provenance: o.provenance("sip-dc-schema")}
	in := func(space, local string) []*node {
		var out []*node
		for _, c := range root.Children {
			if c.Name.Space == space && c.Name.Local == local {
				out = append(out, c)
			}
		}
		return out
	}
	r.Title = preferred(in(nsDCTerms, "title"))
	r.Description = preferred(in(nsDCTerms, "description"))
	r.Issued = checkedDate(&r, "dcterms:issued", preferred(in(nsDCTerms, "issued")))
	r.Created = checkedDate(&r, "dcterms:created", preferred(in(nsDCTerms, "created")))
	var ids []string
	for _, id := range texts(in(nsDCTerms, "identifier")) {
		ids = append(ids, id)
		r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: "dcterms:identifier", Value: id})
	}
	r.ExternalID = sipExternalID(ids, o)
	r.Rights.Licenses = appendUnique(nil, texts(in(nsDCTerms, "license"))...)
	r.Rights.RightsHolder = strings.Join(append(texts(in(nsDCTerms, "rightsHolder")), names(in(nsSchema, "copyrightHolder"))...), "; ")
	for _, p := range append(in(nsDCTerms, "publisher"), in(nsSchema, "publisher")...) {
		r.Publishers = appendSchemaAgent(r.Publishers, p)
	}
	for _, c := range append(in(nsDCTerms, "creator"), in(nsSchema, "creator")...) {
		r.Creators = appendSchemaAgent(r.Creators, c)
	}
	for _, c := range append(in(nsDCTerms, "contributor"), in(nsSchema, "contributor")...) {
		r.Contributors = appendSchemaAgent(r.Contributors, c)
	}
	r.PartnerKeywords = appendUnique(nil, texts(in(nsDCTerms, "subject"))...)
	for _, k := range texts(in(nsSchema, "keywords")) {
		r.PartnerKeywords = appendUnique(r.PartnerKeywords, strings.Split(k, ",")...)
	}
	r.PartnerKeywords = appendUnique(r.PartnerKeywords, texts(in(nsSchema, "genre"))...)
	for _, l := range append(texts(in(nsDCTerms, "language")), texts(in(nsSchema, "inLanguage"))...) {
		if code := normaliseLanguage(l); code != "" {
			r.Languages = appendUnique(r.Languages, code)
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("language %q is not a known language; left out", l))
		}
	}
	for _, d := range texts(in(nsSchema, "duration")) {
		if secs, ok := isoDurationSeconds(d); ok {
			r.DurationSeconds = secs
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("schema:duration %q is not an ISO 8601 duration; left out", d))
		}
	}
	for _, part := range in(nsSchema, "isPartOf") {
		for _, w := range part.Children {
			name := firstNonEmpty(w.text("name"), clean(w.Text))
			switch w.Name.Local {
			case "CreativeWorkSeries":
				r.Series = firstNonEmpty(r.Series, name)
			case "CreativeWorkSeason":
				r.Season = firstNonEmpty(r.Season, name)
			case "Episode":
				r.Episode = firstNonEmpty(r.Episode, name)
			case "BroadcastEvent", "ArchiveComponent":
				r.Programme = firstNonEmpty(r.Programme, name)
			}
		}
	}
	if t := preferred(in(nsDCTerms, "type")); t != "" {
		r.Type = normaliseType(t)
	}
	return r, nil
}

// sipExternalID takes an archive PID among the identifiers, else the
// package's own identifier made safe (DerivedID: uuid-… becomes uuid_2d…),
// else the source's identifier of the record.
func sipExternalID(ids []string, o Origin) string {
	for _, id := range ids {
		if profile.ValidExternalID(id) {
			return id
		}
	}
	if len(ids) > 0 {
		return DerivedID(ids[0])
	}
	return pickExternalID(nil, o)
}

// appendSchemaAgent reads an agent given as text or as a schema.org node
// (schema:name, schema:roleName).
func appendSchemaAgent(list []profile.Agent, n *node) []profile.Agent {
	name := clean(n.Text)
	if len(n.Children) > 0 {
		name = n.text("name")
		for _, c := range n.Children { // <schema:Person><schema:name>…
			name = firstNonEmpty(name, c.text("name"))
		}
	}
	if name == "" {
		return list
	}
	return appendAgent(list, firstNonEmpty(n.text("roleName"), n.attr("roleName")), name)
}

func names(ns []*node) []string {
	var out []string
	for _, n := range ns {
		if v := firstNonEmpty(n.text("name"), clean(n.Text)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

var isoDuration = regexp.MustCompile(`^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$`)

// isoDurationSeconds reads an ISO 8601 duration such as PT1H2M3.5S.
func isoDurationSeconds(d string) (int, bool) {
	m := isoDuration.FindStringSubmatch(strings.TrimSpace(d))
	if m == nil || d == "P" || d == "PT" {
		return 0, false
	}
	num := func(s string) float64 {
		v, _ := strconv.ParseFloat(s, 64)
		return v
	}
	return int(num(m[1])*86400 + num(m[2])*3600 + num(m[3])*60 + num(m[4])), true
}
