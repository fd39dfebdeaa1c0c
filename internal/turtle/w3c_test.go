package turtle

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/formats/rdf"

	"github.com/archiefvooronderwijs/avo/internal/fixtures"
)

const (
	mf        = "http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#"
	rdft      = "http://www.w3.org/ns/rdftest#"
	suiteBase = "https://w3c.github.io/rdf-tests/rdf/rdf11/rdf-turtle/"
)

type suiteTest struct {
	name, kind, action, result string
}

// readManifest reads a W3C test manifest (Turtle, read by this package).
func readManifest(t *testing.T, dir, base string) []suiteTest {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "manifest.ttl"))
	if err != nil {
		t.Fatal(err)
	}
	triples, err := ParseAll(src, base+"manifest.ttl")
	if err != nil {
		t.Fatalf("manifest: %v", err)
	}
	props := map[Term]map[string][]Term{}
	for _, tr := range triples {
		if props[tr.S] == nil {
			props[tr.S] = map[string][]Term{}
		}
		props[tr.S][tr.P.Value] = append(props[tr.S][tr.P.Value], tr.O)
	}
	one := func(s Term, p string) Term {
		if v := props[s][p]; len(v) > 0 {
			return v[0]
		}
		return Term{}
	}
	var tests []suiteTest
	for node := one(NewIRI(base+"manifest.ttl"), mf+"entries"); node.Kind != 0 && node.Value != RDFNil; node = one(node, RDFRest) {
		e := one(node, RDFFirst)
		tests = append(tests, suiteTest{
			name:   one(e, mf+"name").Value,
			kind:   strings.TrimPrefix(one(e, RDFType).Value, rdft),
			action: path.Base(one(e, mf+"action").Value),
			result: path.Base(one(e, mf+"result").Value),
		})
	}
	return tests
}

// ntriples decodes N-Triples with gonum's reader and writes each term
// canonically (gonum keeps a term's text as written, escapes and all, so
// "\u00C0" and "À" would differ).
func ntriples(r io.Reader) ([]*rdf.Statement, error) {
	dec := rdf.NewDecoder(r)
	var out []*rdf.Statement
	for {
		s, err := dec.Unmarshal()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		for _, t := range []*rdf.Term{&s.Subject, &s.Predicate, &s.Object} {
			c, err := canonical(*t)
			if err != nil {
				return nil, err
			}
			t.Value = c
		}
		out = append(out, s)
	}
}

func canonical(t rdf.Term) (string, error) {
	text, qual, kind, err := t.Parts()
	if err != nil {
		return "", err
	}
	switch kind {
	case rdf.IRI:
		return NewIRI(text).String(), nil
	case rdf.Blank:
		return NewBlank(text).String(), nil
	case rdf.Literal:
		if strings.HasPrefix(qual, "@") {
			return NewLiteral(text, "", qual[1:]).String(), nil
		}
		return NewLiteral(text, qual, "").String(), nil
	}
	return "", fmt.Errorf("term %s of unknown kind", t.Value)
}

func toNTriples(triples []Triple) string {
	var b strings.Builder
	for _, tr := range triples {
		b.WriteString(tr.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// TestW3CTurtleSuite runs the RDF 1.1 Turtle test suite from its manifest:
// positive and negative syntax tests, and evaluation tests whose result is
// compared with the expected N-Triples up to blank node renaming.
func TestW3CTurtleSuite(t *testing.T) {
	dir := fixtures.Dir(t, "w3c-turtle")
	tests := readManifest(t, dir, suiteBase)
	if len(tests) < 300 {
		t.Fatalf("the manifest lists %d tests; expected the whole suite (313)", len(tests))
	}
	passed := 0
	for _, tc := range tests {
		ok := t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(filepath.Join(dir, tc.action))
			if err != nil {
				t.Fatal(err)
			}
			got, perr := ParseAll(src, suiteBase+tc.action)
			switch tc.kind {
			case "TestTurtlePositiveSyntax":
				if perr != nil {
					t.Fatalf("valid Turtle refused: %v", perr)
				}
			case "TestTurtleNegativeSyntax":
				if perr == nil {
					t.Fatalf("invalid Turtle accepted:\n%s", src)
				}
			case "TestTurtleEval":
				if perr != nil {
					t.Fatalf("valid Turtle refused: %v", perr)
				}
				want, err := os.ReadFile(filepath.Join(dir, tc.result))
				if err != nil {
					t.Fatal(err)
				}
				wantSt, err := ntriples(bytes.NewReader(want))
				if err != nil {
					t.Fatalf("expected result: %v", err)
				}
				gotNT := toNTriples(got)
				gotSt, err := ntriples(strings.NewReader(gotNT))
				if err != nil {
					t.Fatalf("our N-Triples do not read back: %v\n%s", err, gotNT)
				}
				if !rdf.Isomorphic(gotSt, wantSt, false, sha256.New()) {
					t.Fatalf("graph differs\ngot:\n%s\nwant:\n%s", gotNT, want)
				}
			default:
				t.Fatalf("unknown test type %q", tc.kind)
			}
		})
		if ok {
			passed++
		}
	}
	fmt.Printf("W3C RDF 1.1 Turtle suite: %d of %d tests pass\n", passed, len(tests))
	t.Logf("W3C RDF 1.1 Turtle suite: %d of %d tests pass", passed, len(tests))
}

// FuzzParse: no input makes the reader panic or hang, and what it reads,
// written as N-Triples (a subset of Turtle), reads back the same.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`@prefix : <http://a/> . :s :p ( 1 2.0 3e4 "x"@en [ :q true ] ) .`))
	f.Add([]byte(`@base <http://a/b/c> . <../d> <#e> """long "" string""" .`))
	f.Add([]byte(`PREFIX p: <http://a/> p:s\-x p:p _:b1 . _:b1 p:q 'y'^^p:t .`))
	f.Fuzz(func(t *testing.T, src []byte) {
		triples, err := ParseAll(src, "http://example.org/base/doc.ttl")
		if err != nil {
			return
		}
		nt := toNTriples(triples)
		again, err := ParseAll([]byte(nt), "")
		if err != nil {
			t.Fatalf("the N-Triples written do not read back: %v\n%s", err, nt)
		}
		if got := toNTriples(again); relabel(got) != relabel(nt) {
			t.Fatalf("round trip changed the graph:\n%s\nbecame\n%s", nt, got)
		}
	})
}

var blankLabel = regexp.MustCompile(`_:[A-Za-z0-9]+`)

// relabel names blank nodes in order of first appearance.
func relabel(nt string) string {
	names := map[string]string{}
	return blankLabel.ReplaceAllStringFunc(nt, func(l string) string {
		if n, ok := names[l]; ok {
			return n
		}
		names[l] = fmt.Sprintf("_:n%d", len(names))
		return names[l]
	})
}

// BenchmarkParseSubjects reads the subjects vocabulary (the vak files).
func BenchmarkParseSubjects(b *testing.B) {
	dir := fixtures.Dir(b, "meemoo/vocabularies")
	var src []byte
	for _, f := range []string{"vak-norelated.skos.ttl", "vak-related.skos.ttl", "vak-position.skos.ttl"} {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			b.Fatal(err)
		}
		src = append(append(src, data...), '\n')
	}
	n := 0
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for range b.N {
		triples, err := ParseAll(src, "")
		if err != nil {
			b.Fatal(err)
		}
		n = len(triples)
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "triples/s")
	b.ReportMetric(float64(n), "triples")
}
