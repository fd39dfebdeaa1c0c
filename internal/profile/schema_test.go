package profile

import (
	"encoding/json"
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
