// Package mappings turns partner metadata into the education profile
// (internal/profile): one file per source format, each a pure function from
// raw bytes to a profile.Record.
package mappings

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Origin is what the harvester knows of a record before mapping it.
type Origin struct {
	Source     string
	Set        string
	Identifier string
	Datestamp  string
	ETag       string
	VersionID  string
	Raw        string
	Harvest    string
	Now        time.Time
	// Media is the browse copy found beside the record's object.
	Media *profile.Media
}

func (o Origin) provenance(format string) profile.Provenance {
	return profile.Provenance{
		Source: o.Source, Set: o.Set, Format: format, Identifier: o.Identifier,
		Datestamp: o.Datestamp, ETag: o.ETag, VersionID: o.VersionID, Raw: o.Raw, Harvest: o.Harvest,
		Mapping: profile.MappingVersion, MappedAt: o.Now.UTC(),
	}
}

// Mapper maps one raw record of a format to the profile.
type Mapper func(raw []byte, o Origin) (profile.Record, error)

var registry = map[string]Mapper{}

func register(format string, m Mapper) { registry[format] = m }

// Lookup returns the mapper for a format name used in the sources file.
func Lookup(format string) (Mapper, error) {
	m, ok := registry[format]
	if !ok {
		return nil, fmt.Errorf("unknown mapping %q (known: %s)", format, strings.Join(Formats(), ", "))
	}
	return m, nil
}

// Known returns an error naming the known formats when no mapping handles
// format: the check the sources file gets.
func Known(format string) error {
	_, err := Lookup(format)
	return err
}

// Formats lists the registered format names.
func Formats() []string {
	out := make([]string, 0, len(registry))
	for f := range registry {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// MaxRecordBytes bounds one raw record; larger input is refused, not parsed.
const MaxRecordBytes = 16 << 20

// clean trims and collapses internal whitespace, as partner XML is often
// pretty-printed inside text nodes.
func clean(s string) string {
	if isClean(s) {
		return s // most values are: no copy
	}
	return strings.Join(strings.Fields(s), " ")
}

// isClean reports whether s is already as clean makes it: no space at
// either end and no space but single blanks between words.
func isClean(s string) bool {
	space := true // a space at the start is not clean
	for i := 0; i < len(s); {
		var sp bool
		r := rune(s[i])
		if r < utf8.RuneSelf {
			sp = r == ' ' || r >= '\t' && r <= '\r'
			i++
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(s[i:])
			sp = unicode.IsSpace(r)
			i += size
		}
		if sp && (space || r != ' ') {
			return false
		}
		space = sp
	}
	return !space || s == ""
}

// multiline trims a text whose line breaks mean something (Markdown): line
// ends are normalised and trailing spaces dropped, the lines kept.
func multiline(s string) string {
	lines := strings.Split(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// appendUnique appends the cleaned values not yet present.
func appendUnique(list []string, values ...string) []string {
	for _, v := range values {
		v = clean(v)
		if v == "" {
			continue
		}
		dup := false
		for _, have := range list {
			if have == v {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, v)
		}
	}
	return list
}

// Map maps one raw record of a format to the profile: the format's
// mapping, then the vocabularies, then the checks. An error means the
// record could not be mapped at all; problems mean it was, but breaks rules.
func Map(format string, raw []byte, o Origin) (profile.Record, profile.Problems, error) {
	m, err := Lookup(format)
	if err != nil {
		return profile.Record{}, nil, err
	}
	r, err := m(raw, o)
	if err != nil {
		return r, nil, err
	}
	r.Media = o.Media
	v, err := profile.Vocabularies()
	if err != nil {
		return r, nil, err
	}
	v.Enrich(&r)
	return r, profile.Check(r), nil
}
