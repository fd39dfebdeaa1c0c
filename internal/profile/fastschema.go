package profile

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The education profile's JSON Schema, checked field by field: a mapped
// record is a Go value whose types, required objects and absent extra
// properties the schema cannot fault, so only the values it constrains
// (patterns, lengths, formats, minimum, anyOf) are checked, each against
// its own part of the same schema, by the same library. Writing the whole
// record to JSON and validating that costs twice the mapping itself;
// TestFieldSchemaAgreesWithSchema proves that both say the same of any
// record.

const profileURL = "https://archiefvooronderwijs.be/schemas/education-profile.schema.json"

// fieldSchemas are the parts of the profile schema that can fault a
// record, compiled once.
type fieldSchemas struct {
	externalID, localID, originalCPID, title, date, duration, language,
	agent, concept, licence, source, format, identifier fieldSchema
}

// fieldSchema is a part of the schema and, where its keywords allow, its
// quick form that proves most values good without the library.
type fieldSchema struct {
	s *jsonschema.Schema
	q *quickSchema
}

var (
	fieldsOnce sync.Once
	fields     *fieldSchemas
	fieldsErr  error
)

func compiledFields() (*fieldSchemas, error) {
	fieldsOnce.Do(func() {
		c, err := profileCompiler()
		if err != nil {
			fieldsErr = err
			return
		}
		var errs []error
		part := func(ptr string) fieldSchema {
			s, err := c.Compile(profileURL + "#" + ptr)
			errs = append(errs, err)
			return fieldSchema{s: s, q: quick(s)}
		}
		f := &fieldSchemas{
			externalID:   part("/properties/external_id"),
			localID:      part("/properties/local_ids/items"),
			originalCPID: part("/properties/original_cp_id"),
			title:        part("/properties/title"),
			date:         part("/$defs/edtf"),
			duration:     part("/properties/duration_seconds"),
			language:     part("/properties/languages/items"),
			agent:        part("/$defs/agents/items"),
			concept:      part("/$defs/concepts/items"),
			licence:      part("/properties/rights/properties/licenses/items"),
			source:       part("/properties/provenance/properties/source"),
			format:       part("/properties/provenance/properties/format"),
			identifier:   part("/properties/provenance/properties/identifier"),
		}
		fields, fieldsErr = f, errors.Join(errs...)
	})
	return fields, fieldsErr
}

// checkFields is checkSchema without writing the record as JSON: the
// first value the profile schema refuses, as an error.
func checkFields(r Record) error {
	f, err := compiledFields()
	if err != nil {
		return fmt.Errorf("education profile schema: %w", err)
	}
	var first error
	// check validates v against a part; the path is only written for an
	// error (i < 0: the field is not a list element).
	check := func(name string, i int, part fieldSchema, v any) {
		if first != nil || part.q != nil && part.q.passes(v) {
			return
		}
		err := part.s.Validate(v)
		if err == nil {
			return
		}
		where := name
		if i >= 0 {
			where = name + "/" + strconv.Itoa(i)
		}
		first = fmt.Errorf("%s: %w", where, err)
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			first = errors.New(located(where, ve))
		}
	}
	check("external_id", -1, f.externalID, r.ExternalID)
	for i, l := range r.LocalIDs {
		check("local_ids", i, f.localID, map[string]any{"type": l.Type, "value": l.Value})
	}
	if r.OriginalCPID != "" {
		check("original_cp_id", -1, f.originalCPID, r.OriginalCPID)
	}
	check("title", -1, f.title, r.Title)
	if r.Issued != "" {
		check("issued", -1, f.date, r.Issued)
	}
	if r.Created != "" {
		check("created", -1, f.date, r.Created)
	}
	if r.DurationSeconds != 0 {
		check("duration_seconds", -1, f.duration, r.DurationSeconds)
	}
	for i, l := range r.Languages {
		check("languages", i, f.language, l)
	}
	for _, list := range []struct {
		name   string
		agents []Agent
	}{{"creators", r.Creators}, {"contributors", r.Contributors}, {"publishers", r.Publishers}} {
		for i, a := range list.agents {
			m := map[string]any{"name": a.Name}
			if a.Role != "" {
				m["role"] = a.Role
			}
			check(list.name, i, f.agent, m)
		}
	}
	for _, list := range []struct {
		name     string
		concepts []Concept
	}{{"education/levels", r.Education.Levels}, {"education/degrees", r.Education.Degrees},
		{"education/subjects", r.Education.Subjects}, {"education/themes", r.Education.Themes}} {
		for i, c := range list.concepts {
			m := make(map[string]any, 3)
			if c.URI != "" {
				m["uri"] = c.URI
			}
			if c.Label != "" {
				m["label"] = c.Label
			}
			if c.Inferred {
				m["inferred"] = true
			}
			check(list.name, i, f.concept, m)
		}
	}
	for i, l := range r.Rights.Licenses {
		check("rights/licenses", i, f.licence, l)
	}
	check("provenance/source", -1, f.source, r.Provenance.Source)
	check("provenance/format", -1, f.format, r.Provenance.Format)
	check("provenance/identifier", -1, f.identifier, r.Provenance.Identifier)
	if first != nil {
		return first
	}
	// A time JSON cannot write makes the record unwritable.
	for _, t := range []*time.Time{r.Rights.PublishAt, r.Rights.DepublishAt, r.Rights.ExpiryDate, r.Rights.EditorialAt, &r.Provenance.MappedAt} {
		if t != nil && (t.Year() < 0 || t.Year() > 9999) {
			return fmt.Errorf("time %s is outside the years 0 to 9999", t)
		}
	}
	return nil
}

// located words a part's validation error as the whole record's would
// read: "at '/languages/0': 'nld' does not match pattern '^[a-z]{2}$'".
func located(where string, ve *jsonschema.ValidationError) string {
	msg := strings.Join(strings.Fields(ve.Error()), " ")
	if _, rest, ok := strings.Cut(msg, " - at '"); ok {
		if sub, detail, ok := strings.Cut(rest, "': "); ok {
			return "at '/" + where + sub + "': " + detail
		}
	}
	return "at '/" + where + "': " + msg
}
