package mappings

import (
	"fmt"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

func init() { register("ebucore-2012", MapEBUCore) }

const nsEBUCore = "urn:ebu:metadata-schema:ebuCore_2012"

// MapEBUCore maps EBUCore 2012 as broadcasters deliver it: titles and the
// series, season, episode and programme in alternative titles, dates,
// duration, roles with names, identifiers with their type labels.
func MapEBUCore(raw []byte, o Origin) (profile.Record, error) {
	root, err := parseTree(raw)
	if err != nil {
		return profile.Record{}, err
	}
	if root.Name.Space != nsEBUCore || root.Name.Local != "ebuCoreMain" {
		return profile.Record{}, fmt.Errorf("not EBUCore 2012: root element is {%s}%s, want {%s}ebuCoreMain", root.Name.Space, root.Name.Local, nsEBUCore)
	}
	core := root.child("coreMetadata")
	if core == nil {
		return profile.Record{}, fmt.Errorf("EBUCore without coreMetadata")
	}
	r := profile.Record{Provenance: o.provenance("ebucore-2012")}
	r.Title = preferred(core.path("title", "title"))
	for _, alt := range core.all("alternativeTitle") {
		v := preferred(alt.all("title"))
		switch strings.ToLower(alt.attr("typeLabel")) {
		case "series", "serie", "reeks":
			r.Series = firstNonEmpty(r.Series, v)
		case "season", "seizoen":
			r.Season = firstNonEmpty(r.Season, v)
		case "episode", "aflevering":
			r.Episode = firstNonEmpty(r.Episode, v)
		case "programme", "program", "programma":
			r.Programme = firstNonEmpty(r.Programme, v)
		}
	}
	var descs []*node
	for _, d := range core.all("description") {
		descs = append(descs, d.all("description")...)
	}
	r.Description = preferred(descs)
	r.PartnerKeywords = appendUnique(nil, texts(core.path("subject", "subject"))...)
	for _, d := range core.all("date") {
		if c := d.child("created"); c != nil {
			r.Created = checkedDate(&r, "date/created", firstNonEmpty(c.attr("startDate"), c.attr("startYear")))
		}
		if i := d.child("issued"); i != nil {
			r.Issued = checkedDate(&r, "date/issued", firstNonEmpty(i.attr("startDate"), i.attr("startYear")))
		}
	}
	if r.Issued == "" {
		for _, pe := range core.path("publicationHistory", "publicationEvent") {
			if d := pe.text("publicationDate"); d != "" {
				r.Issued = checkedDate(&r, "publicationDate", d)
				break
			}
		}
	}
	for _, l := range core.path("language", "language") {
		if code := normaliseLanguage(clean(l.Text)); code != "" {
			r.Languages = appendUnique(r.Languages, code)
		} else if v := clean(l.Text); v != "" {
			r.Warnings = append(r.Warnings, fmt.Sprintf("language %q is not a known language; left out", v))
		}
	}
	for _, dur := range core.path("format", "duration") {
		if secs, ok := isoDurationSeconds(dur.text("normalPlayTime")); ok {
			r.DurationSeconds = secs
		} else if secs, ok := timecodeSeconds(trimFrames(dur.text("timecode"))); ok {
			r.DurationSeconds = secs
		}
	}
	r.Creators = ebuAgents(core.all("creator"))
	r.Contributors = ebuAgents(core.all("contributor"))
	r.Publishers = ebuAgents(core.all("publisher"))
	for _, id := range core.all("identifier") {
		v := preferred(id.all("identifier"))
		label := id.attr("typeLabel")
		switch {
		case v == "":
		case strings.EqualFold(label, "PID") && profile.ValidExternalID(v):
			r.ExternalID = v
		default:
			r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: firstNonEmpty(label, "identifier"), Value: v})
		}
	}
	if r.ExternalID == "" {
		r.ExternalID = pickExternalID(nil, o)
	}
	for _, rt := range core.all("rights") {
		if h := rt.child("rightsHolder"); h != nil {
			r.Rights.RightsHolder = firstNonEmpty(r.Rights.RightsHolder, agentName(h))
		}
		for _, v := range rt.all("rights") {
			if code := clean(v.Text); licenceCode.MatchString(code) {
				r.Rights.Licenses = appendUnique(r.Rights.Licenses, code)
			}
		}
	}
	for _, t := range core.all("type") {
		if ot := t.child("objectType"); ot != nil {
			r.Type = firstNonEmpty(r.Type, normaliseType(ot.attr("typeLabel")))
		}
		for _, g := range t.all("genre") {
			r.PartnerKeywords = appendUnique(r.PartnerKeywords, g.attr("typeLabel"))
		}
	}
	return r, nil
}

// ebuAgents reads creators, contributors or publishers: a person's or an
// organisation's name, and the role's type label.
func ebuAgents(ns []*node) []profile.Agent {
	var out []profile.Agent
	for _, n := range ns {
		if name := agentName(n); name != "" {
			role := ""
			if r := n.child("role"); r != nil {
				role = r.attr("typeLabel")
			}
			out = appendAgent(out, role, name)
		}
	}
	return out
}

func agentName(n *node) string {
	if cd := n.child("contactDetails"); cd != nil {
		if name := cd.text("name"); name != "" {
			return name
		}
		return strings.TrimSpace(cd.text("givenName") + " " + cd.text("familyName"))
	}
	if od := n.child("organisationDetails"); od != nil {
		return od.text("organisationName")
	}
	return clean(n.Text)
}

// trimFrames turns an HH:MM:SS:FF time code into HH:MM:SS.
func trimFrames(tc string) string {
	if parts := strings.Split(tc, ":"); len(parts) == 4 {
		return strings.Join(parts[:3], ":")
	}
	return tc
}
