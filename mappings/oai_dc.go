package mappings

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Namespaces of OAI-PMH Dublin Core.
const (
	nsOAIDC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
	nsDC    = "http://purl.org/dc/elements/1.1/"
)

func init() { register("oai_dc", MapOAIDC) }

// MapOAIDC maps an unqualified Dublin Core record (<oai_dc:dc>).
func MapOAIDC(raw []byte, o Origin) (profile.Record, error) {
	root, err := parseTree(raw)
	if err != nil {
		return profile.Record{}, err
	}
	if root.Name.Space != nsOAIDC || root.Name.Local != "dc" {
		return profile.Record{}, fmt.Errorf("not an oai_dc record: root element is {%s}%s, want {%s}dc", root.Name.Space, root.Name.Local, nsOAIDC)
	}
	r := profile.Record{Provenance: o.provenance("oai_dc")}
	var identifiers, descriptions, dates []string
	for _, c := range root.Children {
		if c.Name.Space != nsDC {
			continue
		}
		v := clean(c.Text)
		if v == "" {
			continue
		}
		switch c.Name.Local {
		case "title":
			if r.Title == "" {
				r.Title = v
			}
		case "identifier":
			identifiers = append(identifiers, v)
		case "description":
			descriptions = append(descriptions, v)
		case "creator":
			r.Creators = appendAgent(r.Creators, "", v)
		case "contributor":
			r.Contributors = appendAgent(r.Contributors, "", v)
		case "publisher":
			r.Publishers = appendAgent(r.Publishers, "", v)
		case "subject":
			r.PartnerKeywords = appendUnique(r.PartnerKeywords, v)
		case "date":
			if profile.ValidDate(v) {
				dates = append(dates, v)
			} else {
				r.Warnings = append(r.Warnings, fmt.Sprintf("dc:date %q is not an ISO 8601 / EDTF date; left out", v))
			}
		case "type":
			if t := normaliseType(v); t != "" && r.Type == "" {
				r.Type = t
			}
		case "language":
			if l := normaliseLanguage(v); l != "" {
				r.Languages = appendUnique(r.Languages, l)
			} else {
				r.Warnings = append(r.Warnings, fmt.Sprintf("dc:language %q is not a known language; left out", v))
			}
		case "rights":
			if licenceCode.MatchString(v) {
				r.Rights.Licenses = appendUnique(r.Rights.Licenses, v)
			} else if r.Rights.RightsHolder == "" {
				r.Rights.RightsHolder = v
			}
		}
	}
	r.Description = strings.Join(descriptions, "\n\n")
	r.Issued = issuedDate(dates)
	r.ExternalID = pickExternalID(identifiers, o)
	for _, id := range identifiers {
		if id != r.ExternalID {
			r.LocalIDs = append(r.LocalIDs, profile.LocalID{Type: "dc:identifier", Value: id})
		}
	}
	return r, nil
}

// issuedDate chooses, among a record's dc:date values, the date the work
// is from. Repositories list several: DSpace gives its accession and
// availability time stamps (date and time of day) before the issue date
// ("2022-03-01T10:15:30Z", "2022-03-01T10:15:30Z", "1979"). The rule: a
// date without a time of day beats a time stamp, and of those left the
// earliest wins (a work is older than its entry in a repository).
func issuedDate(dates []string) string {
	best := ""
	for _, d := range dates {
		if best == "" || betterIssued(d, best) {
			best = d
		}
	}
	return best
}

func betterIssued(d, than string) bool {
	if stampD, stampThan := hasTimeOfDay(d), hasTimeOfDay(than); stampD != stampThan {
		return !stampD
	}
	return dateKey(d) < dateKey(than)
}

func hasTimeOfDay(d string) bool { return strings.ContainsAny(d, "T ") && !strings.Contains(d, "/") }

// dateKey orders EDTF dates by their earliest moment: the start of an
// interval, unspecified digits as zeros, without qualifiers.
func dateKey(d string) string {
	if a, b, ok := strings.Cut(d, "/"); ok {
		d = a
		if a == "" || a == ".." {
			d = b
		}
	}
	return strings.ReplaceAll(strings.TrimRight(d, "?~%"), "X", "0")
}

// licenceCode matches archive licence codes such as VIAA-ONDERWIJS.
var licenceCode = regexp.MustCompile(`^[A-Z][A-Z0-9_]*(-[A-Z0-9_]+)+$`)

// pickExternalID takes the first dc:identifier that is an archive PID; a
// record without one is identified by its source and OAI identifier
// (DerivedID), so it is still unique and stable across harvests.
func pickExternalID(identifiers []string, o Origin) string {
	for _, id := range identifiers {
		if profile.ValidExternalID(id) {
			return id
		}
	}
	if o.Identifier == "" {
		return ""
	}
	return DerivedID(o.Source + ":" + o.Identifier)
}

// maxIDBytes bounds a document id (Elasticsearch refuses more than 512).
const maxIDBytes = 512

// DerivedID turns any identifier into a document id of [A-Za-z0-9_], one
// to one: letters and digits stay, "_" becomes "__" and every other byte
// "_" and its two lower-case hex digits, so "odd/1", "odd-1" and "odd.1"
// stay three ids ("odd_2f1", "odd_2d1", "odd_2e1"). An id that would
// exceed 512 bytes keeps its first part and ends in "_g" and the SHA-256
// of the whole identifier ("g" is no hex digit: it cannot be an escape).
func DerivedID(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b.WriteByte(c)
		case c == '_':
			b.WriteString("__")
		default:
			b.WriteByte('_')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	if b.Len() <= maxIDBytes {
		return b.String()
	}
	sum := sha256.Sum256([]byte(s))
	tail := "_g" + fmt.Sprintf("%x", sum)
	head := b.String()[:maxIDBytes-len(tail)]
	// Do not cut an escape in two.
	if i := strings.LastIndexByte(head, '_'); i >= len(head)-2 {
		head = head[:i]
	}
	return head + tail
}

func appendAgent(list []profile.Agent, role, name string) []profile.Agent {
	name = clean(name)
	for _, a := range list {
		if a.Name == name && a.Role == role {
			return list
		}
	}
	return append(list, profile.Agent{Role: role, Name: name})
}

// normaliseType maps DCMI and archive type words to the profile's types.
func normaliseType(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	switch {
	case strings.Contains(l, "video"), strings.Contains(l, "movingimage"), strings.Contains(l, "moving image"), l == "film":
		return "video"
	case strings.Contains(l, "audio"), strings.Contains(l, "sound"):
		return "audio"
	case l == "":
		return ""
	}
	return l
}

// iso6391 maps the three-letter codes partners use to ISO 639-1.
var iso6391 = map[string]string{
	"nld": "nl", "dut": "nl", "eng": "en", "fra": "fr", "fre": "fr", "deu": "de", "ger": "de",
	"spa": "es", "ita": "it", "ara": "ar", "tur": "tr", "pol": "pl", "rus": "ru", "por": "pt",
}

func normaliseLanguage(v string) string {
	l := strings.ToLower(strings.TrimSpace(v))
	if i := strings.IndexAny(l, "-_"); i > 0 {
		l = l[:i] // nl-BE → nl
	}
	if len(l) == 2 {
		return l
	}
	if m, ok := iso6391[l]; ok {
		return m
	}
	switch l {
	case "nederlands", "dutch", "vlaams":
		return "nl"
	case "english", "engels":
		return "en"
	case "frans", "french", "français":
		return "fr"
	}
	return ""
}
