// Package turtle reads RDF 1.1 Turtle (https://www.w3.org/TR/turtle/) and
// writes N-Triples. It is held to the W3C Turtle test suite.
package turtle

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind tells the three kinds of RDF term apart.
type Kind uint8

// Kinds of term.
const (
	IRI Kind = iota + 1
	Blank
	Literal
)

// Term is an RDF term. For an IRI, Value is the absolute IRI; for a blank
// node, its label (unique within one parse); for a literal, its lexical
// form, with Datatype (absent for language-tagged strings) and Lang.
type Term struct {
	Kind     Kind
	Value    string
	Datatype string
	Lang     string
}

// Triple is one statement.
type Triple struct {
	S, P, O Term
}

// Well-known IRIs.
const (
	RDF        = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	XSD        = "http://www.w3.org/2001/XMLSchema#"
	RDFType    = RDF + "type"
	RDFFirst   = RDF + "first"
	RDFRest    = RDF + "rest"
	RDFNil     = RDF + "nil"
	LangString = RDF + "langString"
	XSDString  = XSD + "string"
	XSDInteger = XSD + "integer"
	XSDDecimal = XSD + "decimal"
	XSDDouble  = XSD + "double"
	XSDBoolean = XSD + "boolean"
)

// NewIRI, NewBlank and NewLiteral make terms.
func NewIRI(iri string) Term { return Term{Kind: IRI, Value: iri} }

// NewBlank makes a blank node term.
func NewBlank(label string) Term { return Term{Kind: Blank, Value: label} }

// NewLiteral makes a literal; an empty datatype means xsd:string, or
// rdf:langString when lang is set.
func NewLiteral(lex, datatype, lang string) Term {
	if lang != "" {
		datatype = ""
	} else if datatype == "" {
		datatype = XSDString
	}
	return Term{Kind: Literal, Value: lex, Datatype: datatype, Lang: lang}
}

// String writes the term as N-Triples does.
func (t Term) String() string {
	var b strings.Builder
	t.write(&b)
	return b.String()
}

func (t Term) write(b *strings.Builder) {
	switch t.Kind {
	case IRI:
		b.WriteByte('<')
		for _, r := range t.Value {
			switch {
			case r <= 0x20 || strings.ContainsRune(`<>"{}|^`+"`"+`\`, r):
				fmt.Fprintf(b, `\u%04X`, r)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('>')
	case Blank:
		b.WriteString("_:")
		b.WriteString(t.Value)
	case Literal:
		b.WriteByte('"')
		for _, r := range t.Value {
			switch r {
			case '"':
				b.WriteString(`\"`)
			case '\\':
				b.WriteString(`\\`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('"')
		switch {
		case t.Lang != "":
			b.WriteByte('@')
			b.WriteString(t.Lang)
		case t.Datatype != "" && t.Datatype != XSDString:
			b.WriteString("^^")
			NewIRI(t.Datatype).write(b)
		}
	}
}

// String writes the triple as an N-Triples line (without the newline).
func (t Triple) String() string {
	var b strings.Builder
	t.S.write(&b)
	b.WriteByte(' ')
	t.P.write(&b)
	b.WriteByte(' ')
	t.O.write(&b)
	b.WriteString(" .")
	return b.String()
}

// SyntaxError says where and why a document is not Turtle.
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return "turtle: line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Col) + ": " + e.Msg
}
