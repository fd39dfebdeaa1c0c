package profile

import (
	"math/big"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// A quick schema answers, for the plain keywords the profile uses (type,
// $ref, properties, required, additionalProperties false, anyOf,
// minLength, maxLength, pattern, format, minimum), whether a value
// certainly passes a compiled part of the schema, without the library's
// validation machinery (its error tree, its evaluated-property
// bookkeeping). It only ever says "passes": when it cannot tell, or the
// value fails, the library validates and words the error. A part that
// uses any other keyword gets no quick schema, so the library checks it
// every time. TestQuickSchemaNeverPassesWhatTheSchemaRefuses holds it to
// that.
type quickSchema struct {
	types    []string // empty: any type
	ref      *quickSchema
	anyOf    []*quickSchema
	props    map[string]*quickSchema
	required []string
	closed   bool // additionalProperties: false

	minLength, maxLength *int
	pattern              jsonschema.Regexp
	format               *jsonschema.Format
	minimum              *big.Rat

	// formatted remembers strings the format accepted: most are
	// vocabulary URIs, the same on every record, and parsing them is half
	// of a record's checks. Bounded, since the rest are not.
	formatted     sync.Map
	formattedSize atomic.Int32
}

const maxFormatted = 4096

// quick compiles s into a quick schema, or nil when s uses a keyword a
// quick schema does not know.
func quick(s *jsonschema.Schema) *quickSchema {
	if s == nil || s.Bool != nil || s.RecursiveRef != nil || s.DynamicRef != nil ||
		s.Enum != nil || s.Const != nil || s.Not != nil || len(s.AllOf) > 0 || len(s.OneOf) > 0 ||
		s.If != nil || s.Then != nil || s.Else != nil ||
		s.MaxProperties != nil || s.MinProperties != nil || s.PropertyNames != nil ||
		len(s.PatternProperties) > 0 || len(s.Dependencies) > 0 || len(s.DependentRequired) > 0 ||
		len(s.DependentSchemas) > 0 || s.UnevaluatedProperties != nil ||
		s.MinItems != nil || s.MaxItems != nil || s.UniqueItems || s.Contains != nil ||
		s.MinContains != nil || s.MaxContains != nil || s.Items != nil || s.AdditionalItems != nil ||
		len(s.PrefixItems) > 0 || s.Items2020 != nil || s.UnevaluatedItems != nil ||
		s.ContentEncoding != nil || s.ContentMediaType != nil || s.ContentSchema != nil ||
		s.Maximum != nil || s.ExclusiveMaximum != nil || s.ExclusiveMinimum != nil || s.MultipleOf != nil ||
		len(s.Extensions) > 0 {
		return nil
	}
	q := &quickSchema{
		required:  s.Required,
		minLength: s.MinLength, maxLength: s.MaxLength,
		pattern: s.Pattern, format: s.Format, minimum: s.Minimum,
	}
	if s.Types != nil {
		q.types = s.Types.ToStrings()
	}
	switch ap := s.AdditionalProperties.(type) {
	case nil:
	case bool:
		q.closed = !ap
	default:
		return nil
	}
	if s.Ref != nil {
		if q.ref = quick(s.Ref); q.ref == nil {
			return nil
		}
	}
	for _, sub := range s.AnyOf {
		qs := quick(sub)
		if qs == nil {
			return nil
		}
		q.anyOf = append(q.anyOf, qs)
	}
	if len(s.Properties) > 0 {
		q.props = make(map[string]*quickSchema, len(s.Properties))
		for name, sub := range s.Properties {
			if q.props[name] = quick(sub); q.props[name] == nil {
				return nil
			}
		}
	}
	return q
}

// passes reports whether v certainly meets the schema. The values are
// those a record's fields give: strings, ints, booleans and objects of
// them as map[string]any.
func (q *quickSchema) passes(v any) bool {
	if q.ref != nil && !q.ref.passes(v) {
		return false
	}
	if len(q.anyOf) > 0 {
		if !slices.ContainsFunc(q.anyOf, func(sub *quickSchema) bool { return sub.passes(v) }) {
			return false
		}
	}
	switch v := v.(type) {
	case string:
		return q.typed("string") && q.str(v)
	case bool:
		return q.typed("boolean")
	case int:
		return (q.typed("integer") || q.typed("number")) && q.number(int64(v))
	case map[string]any:
		return q.typed("object") && q.object(v)
	}
	return false
}

func (q *quickSchema) typed(t string) bool {
	if len(q.types) == 0 {
		return true
	}
	for _, have := range q.types {
		if have == t {
			return true
		}
	}
	return false
}

func (q *quickSchema) str(s string) bool {
	if q.minLength != nil || q.maxLength != nil {
		n := utf8.RuneCountInString(s)
		if q.minLength != nil && n < *q.minLength || q.maxLength != nil && n > *q.maxLength {
			return false
		}
	}
	if q.pattern != nil && !q.pattern.MatchString(s) {
		return false
	}
	if q.format == nil {
		return true
	}
	if _, ok := q.formatted.Load(s); ok {
		return true
	}
	if q.format.Validate(s) != nil {
		return false
	}
	if q.formattedSize.Load() < maxFormatted {
		q.formattedSize.Add(1)
		q.formatted.Store(strings.Clone(s), struct{}{}) // s may be cut from a whole record
	}
	return true
}

func (q *quickSchema) number(n int64) bool {
	if q.minimum != nil && new(big.Rat).SetInt64(n).Cmp(q.minimum) < 0 {
		return false
	}
	return q.format == nil || q.format.Validate(n) == nil
}

func (q *quickSchema) object(m map[string]any) bool {
	for _, name := range q.required {
		if _, ok := m[name]; !ok {
			return false
		}
	}
	for name, v := range m {
		sub, ok := q.props[name]
		if !ok {
			if q.closed {
				return false
			}
			continue
		}
		if !sub.passes(v) {
			return false
		}
	}
	return q.format == nil || q.format.Validate(m) == nil
}
