package mappings

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

func init() {
	register("mediahaven-json", MapMediaHavenJSON)
	register("mediahaven-external-metadata", MapExternalMetadata)
}

// MapExternalMetadata maps the older MediaHaven export
// <MediaHAVEN_external_metadata><MDProperties>: the same Dynamic fields as
// a sidecar, under another root.
func MapExternalMetadata(raw []byte, o Origin) (profile.Record, error) {
	root, err := parseTree(raw)
	if err != nil {
		return profile.Record{}, err
	}
	if root.Name.Local != "MediaHAVEN_external_metadata" {
		return profile.Record{}, fmt.Errorf("not MediaHaven external metadata: root element is {%s}%s", root.Name.Space, root.Name.Local)
	}
	md := root.child("MDProperties")
	if md == nil {
		return profile.Record{}, fmt.Errorf("MediaHaven external metadata without <MDProperties>")
	}
	r := profile.Record{Provenance: o.provenance("mediahaven-external-metadata")}
	mapDynamic(&r, md)
	return r, nil
}

// mhRecord is the part of a MediaHaven v2 record JSON that is mapped.
type mhRecord struct {
	Technical struct {
		DurationTimeCode string `json:"DurationTimeCode"`
	} `json:"Technical"`
	Descriptive struct {
		Title       string `json:"Title"`
		Description string `json:"Description"`
		RightsOwner string `json:"RightsOwner"`
	} `json:"Descriptive"`
	Administrative struct {
		Type                   string `json:"Type"`
		ExternalID             string `json:"ExternalId"`
		OrganisationExternalID string `json:"OrganisationExternalId"`
		OrganisationName       string `json:"OrganisationName"`
		DeleteStatus           string `json:"DeleteStatus"`
	} `json:"Administrative"`
	Internal struct {
		PathToKeyframe      string `json:"PathToKeyframe"`
		PathToKeyframeThumb string `json:"PathToKeyframeThumb"`
	} `json:"Internal"`
	Dynamic map[string]json.RawMessage `json:"Dynamic"`
}

// MapMediaHavenJSON maps a MediaHaven record in the v2 REST shape. Its
// Dynamic fields are those of a sidecar, as JSON: a value, or an object
// whose one key (the list's item name, "multiselect", a role) holds values.
func MapMediaHavenJSON(raw []byte, o Origin) (profile.Record, error) {
	if len(raw) > MaxRecordBytes {
		return profile.Record{}, fmt.Errorf("record is %d bytes, over the %d byte limit", len(raw), MaxRecordBytes)
	}
	var m mhRecord
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&m); err != nil {
		return profile.Record{}, fmt.Errorf("not a MediaHaven record: %w", err)
	}
	if m.Dynamic == nil {
		return profile.Record{}, fmt.Errorf("not a MediaHaven record: no Dynamic section")
	}
	dyn, err := dynamicTree(m.Dynamic)
	if err != nil {
		return profile.Record{}, err
	}
	r := profile.Record{Provenance: o.provenance("mediahaven-json")}
	r.Title, r.Description = clean(m.Descriptive.Title), multiline(m.Descriptive.Description)
	mapDynamic(&r, dyn)
	r.ExternalID = firstNonEmpty(r.ExternalID, m.Administrative.ExternalID)
	r.OriginalCPID = firstNonEmpty(r.OriginalCPID, m.Administrative.OrganisationExternalID)
	r.OriginalCP = firstNonEmpty(r.OriginalCP, m.Administrative.OrganisationName)
	if r.Type == "" {
		r.Type = normaliseType(m.Administrative.Type)
	}
	r.Rights.RightsHolder = firstNonEmpty(r.Rights.RightsHolder, clean(m.Descriptive.RightsOwner))
	r.Rights.Deleted = m.Administrative.DeleteStatus != "" && m.Administrative.DeleteStatus != "NotDeleted"
	r.Thumbnail = firstNonEmpty(m.Internal.PathToKeyframeThumb, m.Internal.PathToKeyframe)
	if d, ok := timecodeSeconds(m.Technical.DurationTimeCode); ok {
		r.DurationSeconds = d
	} else if m.Technical.DurationTimeCode != "" {
		r.Warnings = append(r.Warnings, fmt.Sprintf("DurationTimeCode %q is not a time code; left out", m.Technical.DurationTimeCode))
	}
	return r, nil
}

// dynamicTree turns Dynamic JSON into the element tree the XML formats
// give, so both go through mapDynamic.
func dynamicTree(fields map[string]json.RawMessage) (*node, error) {
	root := &node{Name: xml.Name{Local: "Dynamic"}}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		n, err := jsonNode(k, fields[k], 0)
		if err != nil {
			return nil, fmt.Errorf("Dynamic.%s: %w", k, err)
		}
		if n != nil && n.Name.Local == "list" {
			n.Name.Local = k // a field that is a bare list of values
		}
		if n != nil {
			root.Children = append(root.Children, n)
		}
	}
	return root, nil
}

func jsonNode(name string, raw json.RawMessage, depth int) (*node, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	n := &node{Name: xml.Name{Local: name}}
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || bytes.Equal(raw, []byte("null")):
		return nil, nil
	case raw[0] == '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return nil, err
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c, err := jsonNode(k, obj[k], depth+1)
			if err != nil {
				return nil, err
			}
			if c != nil {
				n.Children = append(n.Children, c)
			}
		}
	case raw[0] == '[':
		// A list: each value becomes an element named like the list.
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, err
		}
		wrapper := &node{Name: xml.Name{Local: "list"}}
		for _, it := range items {
			c, err := jsonNode(name, it, depth+1)
			if err != nil {
				return nil, err
			}
			if c != nil {
				wrapper.Children = append(wrapper.Children, c)
			}
		}
		return wrapper, nil
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &n.Text); err != nil {
			return nil, err
		}
	default:
		n.Text = string(raw) // numbers and booleans, as written
	}
	return flatten(n), nil
}

// flatten lifts the elements of list wrappers into their parent:
// {"Kunstenaar": ["a", "b"]} becomes <Kunstenaar>a</Kunstenaar><Kunstenaar>b</Kunstenaar>.
func flatten(n *node) *node {
	var kids []*node
	for _, c := range n.Children {
		if c.Name.Local == "list" {
			kids = append(kids, c.Children...)
		} else {
			kids = append(kids, c)
		}
	}
	n.Children = kids
	return n
}

// localIDs reads <dc_identifier_localids><Type>value</Type>..., skipping
// values the archive writes for "none".
func localIDs(n *node) []profile.LocalID {
	var out []profile.LocalID
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		v := clean(c.Text)
		if v == "" || v == "(not assigned)" {
			continue
		}
		out = append(out, profile.LocalID{Type: c.Name.Local, Value: v})
	}
	return out
}

func hasLocalID(ids []profile.LocalID, v string) bool {
	for _, id := range ids {
		if id.Value == v {
			return true
		}
	}
	return false
}

// timecodeSeconds reads HH:MM:SS(.fff) as whole seconds.
func timecodeSeconds(tc string) (int, bool) {
	parts := strings.Split(strings.TrimSpace(tc), ":")
	if len(parts) != 3 {
		return 0, false
	}
	h, err1 := strconv.Atoi(parts[0])
	m, err2 := strconv.Atoi(parts[1])
	s, err3 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil || err3 != nil || h < 0 || m < 0 || m > 59 || s < 0 || s >= 60 {
		return 0, false
	}
	return h*3600 + m*60 + int(s), true
}
