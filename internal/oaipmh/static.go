package oaipmh

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// StaticRepository serves a fixed list of records in one format.
type StaticRepository struct {
	Identity Identity
	Format   MetadataFormat
	SetList  []Set
	Records  []Record
}

// Identify implements Repository.
func (s *StaticRepository) Identify() Identity { return s.Identity }

// Formats implements Repository.
func (s *StaticRepository) Formats() []MetadataFormat { return []MetadataFormat{s.Format} }

// Sets implements Repository.
func (s *StaticRepository) Sets() []Set { return s.SetList }

// Items implements Repository.
func (s *StaticRepository) Items(prefix, set, from, until string) ([]Record, error) {
	if prefix != s.Format.Prefix {
		return nil, nil
	}
	var out []Record
	for _, r := range s.Records {
		if set != "" && !inSet(r.Header.SetSpecs, set) {
			continue
		}
		if InWindow(r.Header.Datestamp, from, until) {
			out = append(out, r)
		}
	}
	return out, nil
}

// inSet reports membership, including membership of a sub-set (a:b is in a).
func inSet(specs []string, set string) bool {
	for _, s := range specs {
		if s == set || (len(s) > len(set) && s[:len(set)] == set && s[len(set)] == ':') {
			return true
		}
	}
	return false
}

// ReadRecords reads every *.xml file of dir in fsys as one OAI-PMH
// <record> (header and metadata), in file-name order.
func ReadRecords(fsys fs.FS, dir string) ([]Record, error) {
	files, err := fs.Glob(fsys, path.Join(dir, "*.xml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Record
	for _, f := range files {
		b, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, err
		}
		r, err := ParseRecord(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseRecord parses one <record> element standing alone (in the OAI-PMH
// namespace or none).
func ParseRecord(b []byte) (Record, error) {
	b = bytes.TrimSpace(b)
	if bytes.HasPrefix(b, []byte("<?xml")) {
		if i := bytes.Index(b, []byte("?>")); i > 0 {
			b = b[i+2:]
		}
	}
	// Wrapped in a response, the record goes through the one parser.
	doc := append([]byte(`<OAI-PMH xmlns="`+Namespace+`"><ListRecords>`), b...)
	doc = append(doc, []byte(`</ListRecords></OAI-PMH>`)...)
	page, err := ParseList(doc)
	if err != nil {
		return Record{}, err
	}
	if len(page.Records) != 1 {
		return Record{}, fmt.Errorf("want one <record>, found %d", len(page.Records))
	}
	return page.Records[0], nil
}
