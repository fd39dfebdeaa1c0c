package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/archiefvooronderwijs/avo/schemas"
)

// Rules a mapped record must meet; a record that breaks one is quarantined.
const (
	RuleMissingExternalID = "missing-external-id"
	RuleBadExternalID     = "bad-external-id"
	RuleMissingTitle      = "missing-title"
	RuleBadDate           = "bad-date"
	RuleUnknownLicence    = "unknown-licence"
	RuleSchema            = "schema"
)

// Problem is one broken rule.
type Problem struct {
	Rule    string `json:"rule"`
	Message string `json:"message"`
}

func (p Problem) String() string { return p.Rule + ": " + p.Message }

// Problems is the list of what is wrong with a record.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.String()
	}
	return strings.Join(msgs, "\n")
}

// Rules returns the distinct rules broken, sorted.
func (ps Problems) Rules() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range ps {
		if !seen[p.Rule] {
			seen[p.Rule] = true
			out = append(out, p.Rule)
		}
	}
	sort.Strings(out)
	return out
}

// Check validates a mapped record against the rules and the education
// profile's JSON Schema, and returns every problem (nil when none).
func Check(r Record) Problems {
	var ps Problems
	add := func(rule, format string, args ...any) {
		ps = append(ps, Problem{Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case r.ExternalID == "":
		add(RuleMissingExternalID, "no external_id (archive PID)")
	case !ValidExternalID(r.ExternalID):
		add(RuleBadExternalID, "external_id %q does not match [A-Za-z0-9_]+", r.ExternalID)
	}
	if strings.TrimSpace(r.Title) == "" {
		add(RuleMissingTitle, "empty title")
	}
	for _, d := range []struct{ name, v string }{{"issued", r.Issued}, {"created", r.Created}} {
		if d.v != "" && !ValidDate(d.v) {
			add(RuleBadDate, "%s %q is not an ISO 8601 / EDTF date", d.name, d.v)
		}
	}
	if v, err := Vocabularies(); err == nil {
		for _, l := range r.Rights.Licenses {
			if _, ok := v.License(l); !ok {
				add(RuleUnknownLicence, "licence %q is not a known licence code", l)
			}
		}
	}
	if len(ps) == 0 {
		// The schema's errors would only repeat the rules above.
		if err := checkFields(r); err != nil {
			add(RuleSchema, "%v", err)
		}
	}
	return ps
}

// Validate returns Check's problems as an error.
func (r Record) Validate() error {
	if ps := Check(r); len(ps) > 0 {
		return ps
	}
	return nil
}

var (
	profileOnce   sync.Once
	profileSchema *jsonschema.Schema
	profileErr    error
)

// ProfileSchema returns the compiled education profile schema.
func ProfileSchema() (*jsonschema.Schema, error) {
	profileOnce.Do(func() {
		c, err := profileCompiler()
		if err != nil {
			profileErr = err
			return
		}
		profileSchema, profileErr = c.Compile(profileURL)
	})
	return profileSchema, profileErr
}

// profileCompiler is a compiler that holds the education profile schema.
func profileCompiler() (*jsonschema.Compiler, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemas.EducationProfile))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource(profileURL, doc); err != nil {
		return nil, err
	}
	return c, nil
}

func checkSchema(r Record) error {
	sch, err := ProfileSchema()
	if err != nil {
		return fmt.Errorf("education profile schema: %w", err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	var ve *jsonschema.ValidationError
	if err := sch.Validate(doc); errors.As(err, &ve) {
		return errors.New(strings.Join(strings.Fields(ve.Error()), " "))
	} else if err != nil {
		return err
	}
	return nil
}
