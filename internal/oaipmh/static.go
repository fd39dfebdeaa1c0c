package oaipmh

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
)

// StaticRepository serves a fixed list of records in one format.
type StaticRepository struct {
	Identity Identity
	Format   MetadataFormat
	SetList  []Set
	Records  []Record
}

// Identify implements Repository.
func (s *StaticRepository) Identify(context.Context) (Identity, error) { return s.Identity, nil }

// Formats implements Repository.
func (s *StaticRepository) Formats(context.Context) ([]MetadataFormat, error) {
	return []MetadataFormat{s.Format}, nil
}

// Sets implements Repository.
func (s *StaticRepository) Sets(context.Context) ([]Set, error) { return s.SetList, nil }

// List implements Repository; positions are offsets into Records.
func (s *StaticRepository) List(_ context.Context, q ListQuery) (ListPage, error) {
	if q.Prefix != s.Format.Prefix {
		return ListPage{}, nil
	}
	start := 0
	if q.After != "" {
		n, err := strconv.Atoi(q.After)
		if err != nil || n < 0 {
			return ListPage{}, fmt.Errorf("%w: %q", ErrBadPosition, q.After)
		}
		start = n
	}
	all := s.Records
	if q.Set != "" || q.From != "" || q.Until != "" {
		// Only a selection needs a list of its own; without one, a page
		// is a slice of the records, however many (a test provider of a
		// million records pages in constant time).
		all = nil
		for _, r := range s.Records {
			if q.Set != "" && !inSet(r.Header.SetSpecs, q.Set) {
				continue
			}
			if InWindow(r.Header.Datestamp, q.From, q.Until) {
				all = append(all, r)
			}
		}
	}
	if start >= len(all) {
		return ListPage{Total: len(all)}, nil
	}
	end := len(all)
	if q.Limit > 0 {
		end = min(start+q.Limit, len(all))
	}
	page := ListPage{Records: all[start:end], Total: len(all)}
	if end < len(all) {
		page.Next = strconv.Itoa(end)
	}
	return page, nil
}

// Get implements Repository.
func (s *StaticRepository) Get(_ context.Context, prefix, identifier string) (Record, bool, error) {
	if prefix != s.Format.Prefix {
		return Record{}, false, nil
	}
	for _, r := range s.Records {
		if r.Header.Identifier == identifier {
			return r, true, nil
		}
	}
	return Record{}, false, nil
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
