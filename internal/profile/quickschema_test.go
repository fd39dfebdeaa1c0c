package profile

import (
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// A quick schema never says a value passes that the library refuses, and
// it does prove the common good values, or it would save nothing.
func TestQuickSchemaNeverPassesWhatTheSchemaRefuses(t *testing.T) {
	f, err := compiledFields()
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]fieldSchema{
		"external_id": f.externalID, "local_id": f.localID, "original_cp_id": f.originalCPID, "title": f.title,
		"date": f.date, "duration": f.duration, "language": f.language, "agent": f.agent, "concept": f.concept,
		"licence": f.licence, "source": f.source, "format": f.format, "identifier": f.identifier,
	}
	strs := []string{"", " ", "\t", "a", "A_1", "a-b", "a b", "é", "\xff", "OR-", "OR-abc1", "or-abc", "OR-a-b",
		"2020", "2020-01-01", "2020-13-45", "20XX", "2020-01-01T10:00Z", "1990/..", "../2000", "2020?", "x2020",
		"nl", "NL", "nld", "e", "http://x.org/a", "urn:a:b", "not a uri", "//x", ":", "http://[::1", "%zz",
		"VIAA-ONDERWIJS", "VIAA", "viaa-onderwijs", "A-B-C", "-A", "BY_NC-SA"}
	var values []any
	for _, s := range strs {
		values = append(values, s,
			map[string]any{"name": s}, map[string]any{"name": s, "role": s}, map[string]any{"role": s},
			map[string]any{"type": "t", "value": s}, map[string]any{"value": s},
			map[string]any{"uri": s}, map[string]any{"label": s}, map[string]any{"uri": s, "label": "x", "inferred": true},
			map[string]any{"label": s, "other": 1}, map[string]any{"inferred": true})
	}
	values = append(values, -5, -1, 0, 1, 3600, true, false, map[string]any{}, 1.5, nil, []any{"a"})
	for name, part := range parts {
		if part.q == nil {
			t.Errorf("%s: no quick schema; the library checks every value", name)
			continue
		}
		passed := 0
		for _, v := range values {
			if !part.q.passes(v) {
				continue
			}
			passed++
			if err := part.s.Validate(v); err != nil {
				t.Errorf("%s: quick passes %#v, the schema says %v", name, v, err)
			}
		}
		if passed == 0 {
			t.Errorf("%s: quick passes nothing", name)
		}
	}
	// The sample record's every value is proven by the quick schemas.
	r := sampleRecord()
	for _, c := range []struct {
		part fieldSchema
		v    any
	}{{f.externalID, r.ExternalID}, {f.title, r.Title}, {f.date, r.Issued}, {f.duration, r.DurationSeconds},
		{f.language, r.Languages[0]}, {f.licence, r.Rights.Licenses[0]}, {f.originalCPID, r.OriginalCPID},
		{f.agent, map[string]any{"name": "VRT", "role": "maker"}},
		{f.concept, map[string]any{"uri": r.Education.Levels[0].URI, "label": "secundair"}}} {
		if !c.part.q.passes(c.v) {
			t.Errorf("quick does not prove %#v", c.v)
		}
	}
}

// A part that uses a keyword the quick schemas do not know gets none.
func TestQuickSchemaLeavesUnknownKeywordsToTheLibrary(t *testing.T) {
	c := jsonschema.NewCompiler()
	for i, doc := range []string{
		`{"type": "string", "enum": ["a"]}`,
		`{"type": "string", "maxLength": 3, "not": {"const": "x"}}`,
		`{"type": "object", "properties": {"a": {"type": "string", "oneOf": [{"minLength": 1}]}}}`,
		`{"type": "object", "additionalProperties": {"type": "string"}}`,
	} {
		s, err := jsonschema.UnmarshalJSON(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		url := "mem://s" + string(rune('a'+i)) + ".json"
		if err := c.AddResource(url, s); err != nil {
			t.Fatal(err)
		}
		sch, err := c.Compile(url)
		if err != nil {
			t.Fatal(err)
		}
		if quick(sch) != nil {
			t.Errorf("%s: got a quick schema", doc)
		}
	}
}
