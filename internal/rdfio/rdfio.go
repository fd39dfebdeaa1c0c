// Package rdfio reads RDF documents in the syntaxes partners send (Turtle,
// N-Triples, N-Quads, JSON-LD) into one form: turtle.Triple.
package rdfio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/piprate/json-gold/ld"
	"gonum.org/v1/gonum/graph/formats/rdf"

	"github.com/archiefvooronderwijs/avo/internal/turtle"
)

// Syntaxes Read knows.
const (
	Turtle   = "turtle"
	NTriples = "ntriples"
	NQuads   = "nquads"
	JSONLD   = "jsonld"
)

// Read reads a document; base resolves relative IRIs. N-Quads yields the
// triples of every graph.
func Read(data []byte, syntax, base string) ([]turtle.Triple, error) {
	switch syntax {
	case Turtle:
		return turtle.ParseAll(data, base)
	case NTriples, NQuads:
		return readNQuads(data)
	case JSONLD:
		return readJSONLD(data, base)
	}
	return nil, fmt.Errorf("unknown RDF syntax %q (known: turtle, ntriples, nquads, jsonld)", syntax)
}

func readNQuads(data []byte) ([]turtle.Triple, error) {
	dec := rdf.NewDecoder(bytes.NewReader(data))
	var out []turtle.Triple
	for {
		s, err := dec.Unmarshal()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("n-triples: %w", err)
		}
		var t [3]turtle.Term
		for i, term := range []rdf.Term{s.Subject, s.Predicate, s.Object} {
			if t[i], err = fromGonum(term); err != nil {
				return nil, fmt.Errorf("n-triples: %w", err)
			}
		}
		out = append(out, turtle.Triple{S: t[0], P: t[1], O: t[2]})
	}
}

func fromGonum(t rdf.Term) (turtle.Term, error) {
	text, qual, kind, err := t.Parts()
	if err != nil {
		return turtle.Term{}, err
	}
	switch kind {
	case rdf.IRI:
		return turtle.NewIRI(text), nil
	case rdf.Blank:
		// gonum lets characters through that the grammar forbids (':').
		if !turtle.ValidBlankLabel(text) {
			return turtle.Term{}, fmt.Errorf("bad blank node label %q", text)
		}
		return turtle.NewBlank(text), nil
	case rdf.Literal:
		if strings.HasPrefix(qual, "@") {
			return turtle.NewLiteral(text, "", qual[1:]), nil
		}
		return turtle.NewLiteral(text, qual, ""), nil
	}
	return turtle.Term{}, fmt.Errorf("term %s of unknown kind", t.Value)
}

// ErrRemoteContext is returned for a JSON-LD document that needs a context
// from the network: mapping never fetches anything.
var ErrRemoteContext = errors.New("remote JSON-LD contexts are not loaded; the context must be inline")

type noRemoteContexts struct{}

func (noRemoteContexts) LoadDocument(u string) (*ld.RemoteDocument, error) {
	return nil, fmt.Errorf("%w: %s", ErrRemoteContext, u)
}

func readJSONLD(data []byte, base string) (out []turtle.Triple, err error) {
	// json-gold panics on some malformed documents; input never crashes
	// the worker, so a panic is this document's error.
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, fmt.Errorf("json-ld: unreadable document: %v", p)
		}
	}()
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("json-ld: %w", err)
	}
	opts := ld.NewJsonLdOptions(base)
	opts.DocumentLoader = noRemoteContexts{}
	res, err := ld.NewJsonLdProcessor().ToRDF(doc, opts)
	if err != nil {
		return nil, fmt.Errorf("json-ld: %w", err)
	}
	ds, ok := res.(*ld.RDFDataset)
	if !ok {
		return nil, fmt.Errorf("json-ld: unexpected result %T", res)
	}
	names := make([]string, 0, len(ds.Graphs))
	for name := range ds.Graphs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, q := range ds.GetQuads(name) {
			out = append(out, turtle.Triple{S: fromLD(q.Subject), P: fromLD(q.Predicate), O: fromLD(q.Object)})
		}
	}
	return out, nil
}

func fromLD(n ld.Node) turtle.Term {
	switch v := n.(type) {
	case ld.IRI:
		return turtle.NewIRI(v.Value)
	case ld.BlankNode:
		return turtle.NewBlank(strings.TrimPrefix(v.Attribute, "_:"))
	case ld.Literal:
		return turtle.NewLiteral(v.Value, v.Datatype, v.Language)
	}
	return turtle.Term{}
}
