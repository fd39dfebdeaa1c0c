package profile

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/schemas"
)

// goPaths lists the JSON paths of a Go type: "a.b", "a[].c".
func goPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(time.Time{}) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			p := prefix + name
			out[p] = true
			goPaths(f.Type, p+".", out)
		}
	case reflect.Slice:
		goPaths(t.Elem(), strings.TrimSuffix(prefix, ".")+"[].", out)
	}
}

// schemaPaths lists the JSON paths a schema defines.
func schemaPaths(node map[string]any, defs map[string]any, prefix string, out map[string]bool) {
	if ref, ok := node["$ref"].(string); ok {
		schemaPaths(defs[strings.TrimPrefix(ref, "#/$defs/")].(map[string]any), defs, prefix, out)
	}
	if items, ok := node["items"].(map[string]any); ok {
		schemaPaths(items, defs, strings.TrimSuffix(prefix, ".")+"[].", out)
	}
	props, _ := node["properties"].(map[string]any)
	for name, sub := range props {
		p := prefix + name
		out[p] = true
		schemaPaths(sub.(map[string]any), defs, p+".", out)
	}
}

// The Go type of a record and the JSON Schema describe the same fields.
func TestSchemaMatchesRecordType(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schemas.EducationProfile, &doc); err != nil {
		t.Fatal(err)
	}
	fromSchema, fromGo := map[string]bool{}, map[string]bool{}
	schemaPaths(doc, doc["$defs"].(map[string]any), "", fromSchema)
	goPaths(reflect.TypeOf(Record{}), "", fromGo)
	var onlyGo, onlySchema []string
	for p := range fromGo {
		if !fromSchema[p] {
			onlyGo = append(onlyGo, p)
		}
	}
	for p := range fromSchema {
		if !fromGo[p] {
			onlySchema = append(onlySchema, p)
		}
	}
	slices.Sort(onlyGo)
	slices.Sort(onlySchema)
	if len(onlyGo)+len(onlySchema) > 0 {
		t.Errorf("schema and Go type differ:\n  only in Go: %v\n  only in the schema: %v", onlyGo, onlySchema)
	}
	if len(fromGo) < 60 {
		t.Errorf("only %d paths found in the Go type", len(fromGo))
	}
}

// sampleRecord is a record the profile accepts, with every list filled.
func sampleRecord() Record {
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	return Record{
		ExternalID: "q52f7gk46t", LocalIDs: []LocalID{{Type: "partner", Value: "AB-1"}},
		OriginalCP: "VRT", OriginalCPID: "OR-rf5kf25", Title: "Het journaal",
		Issued: "2020-04-01", Created: "2019", DurationSeconds: 90, Languages: []string{"nl"},
		Creators: []Agent{{Name: "VRT", Role: "maker"}}, Contributors: []Agent{{Name: "X"}}, Publishers: []Agent{{Name: "Y"}},
		Keywords: []string{"nieuws"}, PartnerKeywords: []string{"actua"},
		Education: Education{
			Levels:   []Concept{{URI: "https://data.hetarchief.be/id/onderwijsniveau/secundair-onderwijs", Label: "secundair"}},
			Degrees:  []Concept{{Label: "eerste graad", Inferred: true}},
			Subjects: []Concept{{URI: "https://data.hetarchief.be/id/vak/geschiedenis"}},
			Themes:   []Concept{{Label: "media"}},
		},
		Rights: Rights{Licenses: []string{"VIAA-ONDERWIJS"}, Published: true, PublishAt: &at, EditorialAt: &at},
		Provenance: Provenance{Source: "vrt", Format: "oai_dc", Identifier: "oai:vrt:1", Raw: "s3://b/k",
			Harvest: "h1", Mapping: "1", MappedAt: at},
	}
}

// mutate sets one randomly chosen leaf of v (a string, number, flag, time
// or list element) to a value picked to sit on either side of the
// schema's constraints.
func mutate(rng *rand.Rand, v reflect.Value) {
	var leaves []reflect.Value
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch {
		case v.Type() == reflect.TypeOf(time.Time{}) || v.Type() == reflect.TypeOf(&time.Time{}):
			leaves = append(leaves, v)
		case v.Kind() == reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					walk(v.Field(i))
				}
			}
		case v.Kind() == reflect.Slice:
			leaves = append(leaves, v) // grow it
			for i := range v.Len() {
				walk(v.Index(i))
			}
		default:
			leaves = append(leaves, v)
		}
	}
	walk(v)
	strs := []string{"", " ", "\t", "a", "A_1", "a-b", "a b", "é", "\xff", "OR-", "OR-abc1", "or-abc", "OR-a-b",
		"2020", "2020-01-01", "2020-13-45", "20XX", "2020-01-01T10:00Z", "1990/..", "../2000", "2020?", "x2020",
		"nl", "NL", "nld", "e", "http://x.org/a", "urn:a:b", "not a uri", "//x", ":",
		"VIAA-ONDERWIJS", "VIAA", "viaa-onderwijs", "A-B-C", "-A", "BY_NC-SA"}
	leaf := leaves[rng.IntN(len(leaves))]
	switch {
	case leaf.Type() == reflect.TypeOf(&time.Time{}):
		t := time.Date([]int{-1, 0, 1, 2024, 9999, 10000}[rng.IntN(6)], 1, 2, 3, 4, 5, 0, time.UTC)
		leaf.Set(reflect.ValueOf(&t))
	case leaf.Type() == reflect.TypeOf(time.Time{}):
		leaf.Set(reflect.ValueOf(time.Date([]int{-1, 2024, 10000}[rng.IntN(3)], 1, 2, 3, 4, 5, 0, time.UTC)))
	case leaf.Kind() == reflect.String:
		leaf.SetString(strs[rng.IntN(len(strs))])
	case leaf.Kind() == reflect.Int:
		leaf.SetInt([]int64{-5, -1, 0, 1, 3600}[rng.IntN(5)])
	case leaf.Kind() == reflect.Bool:
		leaf.SetBool(rng.IntN(2) == 0)
	case leaf.Kind() == reflect.Slice:
		if rng.IntN(4) == 0 {
			leaf.Set(reflect.Zero(leaf.Type()))
			return
		}
		e := reflect.New(leaf.Type().Elem()).Elem()
		if e.Kind() == reflect.String {
			e.SetString(strs[rng.IntN(len(strs))])
		}
		leaf.Set(reflect.Append(leaf, e))
	}
}

// Check validates values field by field against parts of the profile
// schema; on any record, that says exactly what validating the whole
// record as JSON says.
func TestFieldSchemaAgreesWithSchema(t *testing.T) {
	if err := checkSchema(sampleRecord()); err != nil {
		t.Fatalf("the sample record is refused: %v", err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	refused := 0
	for i := range 20000 {
		r := sampleRecord()
		for range 1 + rng.IntN(3) {
			mutate(rng, reflect.ValueOf(&r).Elem())
		}
		whole, fields := checkSchema(r), checkFields(r)
		if (whole == nil) != (fields == nil) {
			b, _ := json.Marshal(r)
			t.Fatalf("case %d: whole-record schema says %v, field schemas say %v, of\n%s", i, whole, fields, b)
		}
		if whole != nil {
			refused++
		}
	}
	// Both outcomes must be common, or the mutations prove little.
	if refused < 2000 || refused > 18000 {
		t.Errorf("%d of 20000 mutated records refused", refused)
	}
}
