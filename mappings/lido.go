package mappings

import (
	"fmt"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

func init() { register("lido", MapLIDO) }

const nsLIDO = "http://www.lido-schema.org"

// MapLIDO maps a LIDO record (oai_lido) of an art collection: title,
// descriptions, makers in their roles, the production dates, work types
// and classifications, identifiers, rights holder and repository.
func MapLIDO(raw []byte, o Origin) (profile.Record, error) {
	root, err := parseTree(raw)
	if err != nil {
		return profile.Record{}, err
	}
	if root.Name.Space == nsLIDO && root.Name.Local == "lidoWrap" {
		if l := root.child("lido"); l != nil {
			root = l
		}
	}
	if root.Name.Space != nsLIDO || root.Name.Local != "lido" {
		return profile.Record{}, fmt.Errorf("not LIDO: root element is {%s}%s, want {%s}lido", root.Name.Space, root.Name.Local, nsLIDO)
	}
	r := profile.Record{Provenance: o.provenance("lido"), Type: "image"}
	desc := root.child("descriptiveMetadata")
	admin := root.child("administrativeMetadata")
	r.Title = preferred(desc.path("objectIdentificationWrap", "titleWrap", "titleSet", "appellationValue"))
	r.Description = strings.Join(texts(desc.path("objectIdentificationWrap", "objectDescriptionWrap", "objectDescriptionSet", "descriptiveNoteValue")), "\n\n")
	for _, id := range root.all("lidoRecID") {
		if v := clean(id.Text); v != "" && !strings.Contains(v, "(not assigned)") {
			r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: "lidoRecID", Value: v})
		}
	}
	for _, id := range desc.path("objectIdentificationWrap", "repositoryWrap", "repositorySet", "workID") {
		if v := clean(id.Text); v != "" {
			r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: firstNonEmpty(id.attr("type"), "workID"), Value: v})
		}
	}
	r.ExternalID = pickExternalID(nil, o)
	for _, ev := range desc.path("eventWrap", "eventSet", "event") {
		kind := strings.ToLower(preferred(ev.path("eventType", "term")))
		if kind != "production" && kind != "creation" && kind != "vervaardiging" && kind != "" {
			continue
		}
		for _, air := range ev.path("eventActor", "actorInRole") {
			name := preferred(air.path("actor", "nameActorSet", "appellationValue"))
			if name != "" {
				r.Creators = appendAgent(r.Creators, preferred(air.path("roleActor", "term")), name)
			}
		}
		if r.Created == "" {
			early := preferred(ev.path("eventDate", "date", "earliestDate"))
			late := preferred(ev.path("eventDate", "date", "latestDate"))
			switch {
			case early != "" && late != "" && early != late:
				r.Created = checkedDate(&r, "eventDate", early+"/"+late)
			case early != "":
				r.Created = checkedDate(&r, "eventDate", early)
			}
		}
		r.PartnerKeywords = appendUnique(r.PartnerKeywords, texts(ev.path("eventMaterialsTech", "displayMaterialsTech"))...)
	}
	cls := desc.child("objectClassificationWrap")
	r.PartnerKeywords = appendUnique(r.PartnerKeywords, texts(cls.path("objectWorkTypeWrap", "objectWorkType", "term"))...)
	r.PartnerKeywords = appendUnique(r.PartnerKeywords, texts(cls.path("classificationWrap", "classification", "term"))...)
	r.PartnerKeywords = appendUnique(r.PartnerKeywords, texts(desc.path("objectRelationWrap", "subjectWrap", "subjectSet", "subject", "subjectConcept", "term"))...)
	for _, rs := range admin.path("rightsWorkWrap", "rightsWorkSet") {
		r.Rights.RightsHolder = firstNonEmpty(r.Rights.RightsHolder, preferred(rs.path("rightsHolder", "legalBodyName", "appellationValue")))
		for _, id := range rs.path("rightsType", "conceptID") {
			if code, ok := creativeCommons(clean(id.Text)); ok {
				r.Rights.Licenses = appendUnique(r.Rights.Licenses, code)
			}
		}
	}
	r.OriginalCP = firstNonEmpty(
		preferred(admin.path("recordWrap", "recordSource", "legalBodyName", "appellationValue")),
		preferred(desc.path("objectIdentificationWrap", "repositoryWrap", "repositorySet", "repositoryName", "legalBodyName", "appellationValue")))
	for _, link := range admin.path("resourceWrap", "resourceSet", "resourceRepresentation", "linkResource") {
		if v := clean(link.Text); strings.HasPrefix(v, "http") {
			r.Thumbnail = v
			break
		}
	}
	return r, nil
}

// creativeCommons maps a Creative Commons licence or dedication URI to the
// archive's licence code for content under it.
func creativeCommons(uri string) (string, bool) {
	u := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(uri, "https://"), "http://"), "/")
	if strings.HasPrefix(u, "creativecommons.org/publicdomain/zero/") {
		return "CC0-CONTENT", true
	}
	kind, ok := strings.CutPrefix(u, "creativecommons.org/licenses/")
	if !ok {
		return "", false
	}
	kind, _, _ = strings.Cut(kind, "/")
	switch kind {
	case "by", "by-sa", "by-nc", "by-nd", "by-nc-nd":
		return "CC_" + strings.ToUpper(kind) + "-CONTENT", true
	}
	return "", false
}
