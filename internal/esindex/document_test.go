package esindex

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/schemas"
)

// fields are the Field constants and the sub-fields queries use with them.
var fields = map[string][]string{
	FieldExternalID: nil, FieldType: nil, FieldTitle: {Exact}, FieldSeries: {Filter}, FieldAbstract: {Exact},
	FieldIssued: nil, FieldIssuedEDTF: nil, FieldCreated: nil, FieldDuration: nil, FieldThumbnail: nil,
	FieldProvider: {Filter}, FieldLanguages: nil, FieldKeywords: {Filter}, FieldLevelLabels: {Filter},
	FieldDegreeLabels: {Filter}, FieldSubjectLabels: {Filter}, FieldThemeLabels: {Filter}, FieldLevelIDs: nil,
	FieldDegreeIDs: nil, FieldSubjectIDs: nil, FieldThemeIDs: nil, FieldPublishAt: nil, FieldDepublishAt: nil,
	FieldExpiryDate: nil, FieldSource: nil, FieldRecord: nil, FieldIdentifier: nil, FieldUpdatedAt: nil,
}

// docPaths lists the JSON paths of a Go type: "a", "a.b".
func docPaths(t reflect.Type, prefix string, out map[string]bool) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
		return
	}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out[prefix+name] = true
		docPaths(t.Field(i).Type, prefix+name+".", out)
	}
}

// mappingHas reports whether the index mapping defines path (with
// sub-fields as "a.filter").
func mappingHas(props map[string]any, path string) bool {
	head, rest, nested := strings.Cut(path, ".")
	f, ok := props[head].(map[string]any)
	if !ok {
		return false
	}
	if !nested || f["enabled"] == false {
		// An object kept but not indexed holds whatever it holds.
		return true
	}
	if sub, ok := f["properties"].(map[string]any); ok && mappingHas(sub, rest) {
		return true
	}
	sub, _ := f["fields"].(map[string]any)
	return mappingHas(sub, rest)
}

// Every field a query names is a field of the document the pipeline writes
// and of the index mapping, with the sub-fields the query uses: the writer
// and the reader cannot drift apart.
func TestFieldsAreDocFields(t *testing.T) {
	paths := map[string]bool{}
	docPaths(reflect.TypeOf(Doc{}), "", paths)
	var body struct {
		Mappings struct {
			Properties map[string]any `json:"properties"`
		} `json:"mappings"`
	}
	raw, err := schemas.Elasticsearch.ReadFile("elasticsearch/items.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	for f, subs := range fields {
		if !paths[f] {
			t.Errorf("field %s is not a field of Doc", f)
		}
		if !mappingHas(body.Mappings.Properties, f) {
			t.Errorf("field %s is not in the index mapping", f)
		}
		for _, s := range subs {
			if !mappingHas(body.Mappings.Properties, f+s) {
				t.Errorf("field %s%s is not in the index mapping", f, s)
			}
		}
	}
	// And every field of Doc is in the mapping: nothing is written that
	// the index would map by guessing.
	for p := range paths {
		if !mappingHas(body.Mappings.Properties, p) {
			t.Errorf("Doc field %s is not in the index mapping", p)
		}
	}
}
