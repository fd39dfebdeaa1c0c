package mappings

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

func init() { register("mediahaven-sidecar", MapSidecar) }

// MapSidecar maps a MediaHaven sidecar (<mhs:Sidecar>, versions 19.2 to
// 20.3 and later: the version is part of the namespace URI).
func MapSidecar(raw []byte, o Origin) (profile.Record, error) {
	root, err := parseTree(raw)
	if err != nil {
		return profile.Record{}, err
	}
	if root.Name.Local != "Sidecar" || !isMediaHavenNS(root.Name.Space, "mhs") {
		return profile.Record{}, fmt.Errorf("not a MediaHaven sidecar: root element is {%s}%s, want {https://zeticon.mediahaven.com/metadata/VERSION/mhs/}Sidecar", root.Name.Space, root.Name.Local)
	}
	r := profile.Record{Provenance: o.provenance("mediahaven-sidecar")}
	desc := root.child("Descriptive")
	r.Title = desc.text("Title")
	r.Description = desc.text("Description")
	if dyn := root.child("Dynamic"); dyn != nil {
		mapDynamic(&r, dyn)
	}
	return r, nil
}

var dataHubSubject = regexp.MustCompile(`^[A-Z]{2} \| [^|]+ \| (.+)$`)

func isMediaHavenNS(space, kind string) bool {
	return strings.HasPrefix(space, "https://zeticon.mediahaven.com/metadata/") && strings.HasSuffix(space, "/"+kind+"/")
}

// mapDynamic maps MediaHaven's Dynamic fields, shared by every MediaHaven
// format: the sidecar, the external metadata XML and the record JSON.
func mapDynamic(r *profile.Record, dyn *node) {
	r.ExternalID = dyn.text("PID")
	if v := dyn.text("dc_title"); v != "" {
		r.Title = v
	}
	r.OriginalCP = firstNonEmpty(dyn.text("Original_CP"), dyn.text("CP"))
	r.OriginalCPID = firstNonEmpty(dyn.text("Original_CP_ID"), dyn.text("CP_id"))
	if titles := dyn.child("dc_titles"); titles != nil {
		r.Series = titles.text("serie")
		r.Season = titles.text("seizoen")
		r.Episode = titles.text("episode")
		r.Programme = titles.text("programma")
	}
	if a := dyn.child("dcterms_abstract"); a != nil && strings.TrimSpace(a.Text) != "" {
		r.Description = multiline(a.Text) // Markdown
	}
	r.Issued = checkedDate(r, "dcterms_issued", dyn.text("dcterms_issued"))
	r.Created = checkedDate(r, "dcterms_created", dyn.text("dcterms_created"))
	r.Creators = roleAgents(dyn.child("dc_creators"))
	r.Contributors = roleAgents(dyn.child("dc_contributors"))
	r.Publishers = roleAgents(dyn.child("dc_publishers"))
	for _, k := range dyn.child("dc_subjects").leaves() {
		// DataHub writes "NL | Keywords | schilderij": language, kind, value.
		if strings.Contains(k, " | ") { // the regular expression only where it may match
			if m := dataHubSubject.FindStringSubmatch(k); m != nil {
				k = m[1]
			}
		}
		r.PartnerKeywords = appendUnique(r.PartnerKeywords, k)
	}
	r.Keywords = appendUnique(nil, dyn.child("lom_keywords").leaves()...)
	for _, l := range dyn.child("lom_languages").leaves() {
		if code := normaliseLanguage(l); code != "" {
			r.Languages = appendUnique(r.Languages, code)
		} else {
			r.Warnings = append(r.Warnings, fmt.Sprintf("lom_languages %q is not a known language; left out", l))
		}
	}
	if t := normaliseType(dyn.text("type_viaa")); t != "" {
		r.Type = t
	}
	e := &r.Education
	e.Levels = concepts(dyn.child("lom_onderwijsniveau").leaves())
	e.Degrees = concepts(dyn.child("lom_onderwijsgraad").leaves())
	e.Subjects = concepts(dyn.child("lom_vak").leaves())
	e.Themes = concepts(dyn.child("lom_thema").leaves())
	e.Context = appendUnique(nil, dyn.child("lom_context").leaves()...)
	e.TypicalAgeRange = appendUnique(nil, dyn.child("lom_typicalagerange").leaves()...)
	e.Classification = appendUnique(nil, dyn.child("lom_classification").leaves()...)
	e.EndUserRoles = appendUnique(nil, dyn.child("lom_intendedenduserrole").leaves()...)
	e.ResourceTypes = appendUnique(nil, dyn.child("lom_learningresourcetype").leaves()...)
	r.Rights.Licenses = appendUnique(nil, dyn.child("dc_rights_licenses").leaves()...)
	r.Rights.RightsHolder = firstNonEmpty(dyn.text("dc_rights_rightsOwner"), dyn.text("dc_rights_rightsHolder"),
		strings.Join(dyn.child("dc_rights_rightsHolders").leaves(), "; "))
	r.LocalIDs = localIDs(dyn.child("dc_identifier_localids"))
	if id := dyn.text("dc_identifier_localid"); id != "" && !hasLocalID(r.LocalIDs, id) {
		r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: "localid", Value: id})
	}
	r.Rights.PublishAt = checkedTime(r, "publish_at", dyn.text("publish_at"))
	r.Rights.DepublishAt = checkedTime(r, "depublish_at", dyn.text("depublish_at"))
	r.Rights.ExpiryDate = checkedTime(r, "expiry_date", dyn.text("expiry_date"))
}

// roleAgents reads <dc_creators><Regisseur>Name</Regisseur>..: the element
// name is the role.
func roleAgents(n *node) []profile.Agent {
	var out []profile.Agent
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if v := clean(c.Text); v != "" {
			out = appendAgent(out, c.Name.Local, v)
		}
	}
	return out
}

// concepts keeps URIs as concepts and anything else as a label-only concept,
// to be matched against the vocabularies.
func concepts(values []string) []profile.Concept {
	var out []profile.Concept
	seen := make([]string, 0, len(values)) // a few a record: a scan beats a map
	for _, v := range values {
		if slices.Contains(seen, v) {
			continue
		}
		seen = append(seen, v)
		if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
			out = append(out, profile.Concept{URI: v})
		} else {
			out = append(out, profile.Concept{Label: v})
		}
	}
	return out
}

func checkedDate(r *profile.Record, field, v string) string {
	if v == "" {
		return ""
	}
	// MediaHaven writes dates as 2019-10-23 or 2019-10-22T22:00:00Z.
	if profile.ValidDate(v) {
		return v
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("%s %q is not an ISO 8601 / EDTF date; left out", field, v))
	return ""
}

func checkedTime(r *profile.Record, field, v string) *time.Time {
	if v == "" {
		return nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t
		}
	}
	r.Warnings = append(r.Warnings, fmt.Sprintf("%s %q is not a date-time; left out", field, v))
	return nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
