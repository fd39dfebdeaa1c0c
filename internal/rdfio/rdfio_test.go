package rdfio

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/fixtures"
	"github.com/archiefvooronderwijs/avo/internal/turtle"
)

// TestW3CNTriplesSuite runs the RDF 1.1 N-Triples test suite through the
// reader (gonum's N-Triples decoder): positive tests must read, negative
// ones must be refused.
func TestW3CNTriplesSuite(t *testing.T) {
	dir := fixtures.Dir(t, "w3c-ntriples")
	src, err := os.ReadFile(filepath.Join(dir, "manifest.ttl"))
	if err != nil {
		t.Fatal(err)
	}
	const base = "https://w3c.github.io/rdf-tests/rdf/rdf11/rdf-n-triples/"
	manifest, err := turtle.ParseAll(src, base+"manifest.ttl")
	if err != nil {
		t.Fatal(err)
	}
	kind, action := map[turtle.Term]string{}, map[turtle.Term]string{}
	for _, tr := range manifest {
		switch tr.P.Value {
		case turtle.RDFType:
			kind[tr.S] = strings.TrimPrefix(tr.O.Value, "http://www.w3.org/ns/rdftest#")
		case "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#action":
			action[tr.S] = path.Base(tr.O.Value)
		}
	}
	passed, total := 0, 0
	for test, file := range action {
		total++
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		_, rerr := Read(data, NTriples, "")
		switch kind[test] {
		case "TestNTriplesPositiveSyntax":
			if rerr != nil {
				t.Errorf("%s: valid N-Triples refused: %v", file, rerr)
				continue
			}
		case "TestNTriplesNegativeSyntax":
			if rerr == nil {
				t.Errorf("%s: invalid N-Triples accepted", file)
				continue
			}
		default:
			t.Errorf("%s: unknown test type %q", file, kind[test])
			continue
		}
		passed++
	}
	if total < 70 {
		t.Errorf("the manifest lists %d tests; expected the whole suite (70)", total)
	}
	fmt.Printf("W3C RDF 1.1 N-Triples suite: %d of %d tests pass\n", passed, total)
}

func TestReadSyntaxesAlike(t *testing.T) {
	ttl := `@prefix dct: <http://purl.org/dc/terms/> .
<http://ex.org/r1> dct:title "Fietsen"@nl ; dct:extent 54 .`
	nt := `<http://ex.org/r1> <http://purl.org/dc/terms/title> "Fietsen"@nl .
<http://ex.org/r1> <http://purl.org/dc/terms/extent> "54"^^<http://www.w3.org/2001/XMLSchema#integer> .`
	jsonld := `{"@context": {"dct": "http://purl.org/dc/terms/"}, "@id": "http://ex.org/r1",
	  "dct:title": {"@value": "Fietsen", "@language": "nl"}, "dct:extent": 54}`
	want := map[string]bool{}
	for i, doc := range []struct{ syntax, text string }{{Turtle, ttl}, {NTriples, nt}, {JSONLD, jsonld}} {
		got, err := Read([]byte(doc.text), doc.syntax, "http://ex.org/")
		if err != nil {
			t.Fatalf("%s: %v", doc.syntax, err)
		}
		set := map[string]bool{}
		for _, tr := range got {
			set[tr.String()] = true
		}
		if i == 0 {
			want = set
			continue
		}
		if fmt.Sprint(set) != fmt.Sprint(want) {
			t.Errorf("%s gives %v, want %v", doc.syntax, set, want)
		}
	}
}

func TestJSONLDNeverFetches(t *testing.T) {
	_, err := Read([]byte(`{"@context": "https://schema.org/", "@id": "http://ex.org/r", "name": "x"}`), JSONLD, "")
	if !errors.Is(err, ErrRemoteContext) {
		t.Errorf("a remote context: %v", err)
	}
}

// FuzzRead: no N-Triples or JSON-LD input makes the readers panic.
func FuzzRead(f *testing.F) {
	f.Add(true, []byte(`<http://a/s> <http://a/p> "o"@en .`))
	f.Add(false, []byte(`{"@context": {"a": "http://a/"}, "@id": "http://a/s", "a:p": [{"@value": "x"}, {"@list": [1, 2]}]}`))
	f.Fuzz(func(t *testing.T, nt bool, data []byte) {
		syntax := JSONLD
		if nt {
			syntax = NTriples
		}
		_, _ = Read(data, syntax, "http://example.org/")
	})
}
