package mappings

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
)

// stdTree is the tree encoding/xml reads, the reference for the scanner. Entities other than the five XML ones
// are refused by the decoder (no expansion attacks); depth and element
// count are bounded.
func stdTree(raw []byte) (*node, error) {
	if len(raw) > MaxRecordBytes {
		return nil, fmt.Errorf("record is %d bytes, over the %d byte limit", len(raw), MaxRecordBytes)
	}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	dec.Strict = true
	var root *node
	var stack []*node
	var text [][]byte // character data of each open element
	count := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > maxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrMalformed, maxElements)
			}
			if len(stack) >= maxDepth {
				return nil, fmt.Errorf("%w: nested deeper than %d elements", ErrMalformed, maxDepth)
			}
			n := &node{Name: t.Name, Attr: t.Copy().Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", ErrMalformed)
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.Children = append(parent.Children, n)
			}
			stack = append(stack, n)
			text = append(text, nil)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.Text = string(bytes.TrimSpace(text[len(text)-1]))
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1] = append(text[len(text)-1], t...)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, fmt.Errorf("%w: text outside the root element", ErrMalformed)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", ErrMalformed)
	}
	return root, nil
}

func treeString(n *node) string {
	var b strings.Builder
	var walk func(*node, int)
	walk = func(n *node, depth int) {
		fmt.Fprintf(&b, "%s{%s}%s %q", strings.Repeat(" ", depth), n.Name.Space, n.Name.Local, n.Text)
		for _, a := range n.Attr {
			fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
		}
		b.WriteByte('\n')
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// The scanner reads what encoding/xml reads, and is never more lenient.
func TestScannerAgreesWithEncodingXML(t *testing.T) {
	docs := []string{
		`<a xmlns="urn:d" xmlns:p="urn:p" p:x="1" y='2'>t1<p:b>in</p:b> t2 <![CDATA[<raw>&]]><!-- c --><?pi x?>&lt;&#233;&#x41;</a>`,
		`<?xml version="1.0" encoding="UTF-8"?><!-- before --><r xml:lang="nl"><x xmlns=""><y/></x></r>`,
		"\xef\xbb\xbf<r>bom</r>",
		// Text in one piece, and text pieced from entities, CDATA and the
		// text around children and comments.
		`<r a="x&amp;y" b='&#x41;' c="">  one piece  <e>&amp;</e><f>a&lt;b</f><g><![CDATA[c]]></g><h>x<![CDATA[ y ]]>z</h><i> a <!-- c --> b </i></r>`,
		`<r><a>  </a><b>x<c/>y</b><d><![CDATA[]]>t</d></r>`,
	}
	for _, d := range docs {
		want, werr := stdTree(noBOM([]byte(d)))
		got, gerr := scanTree([]byte(d))
		if werr != nil || gerr != nil {
			t.Fatalf("%s: std %v, scanner %v", d, werr, gerr)
		}
		if treeString(got) != treeString(want) {
			t.Errorf("%s:\nscanner\n%s\nencoding/xml\n%s", d, treeString(got), treeString(want))
		}
	}
	for _, bad := range []string{`<a><b></a></b>`, `<a x="1" x="2"/>`, `<a>&nope;</a>`, `<a x=1/>`, `<a><!DOCTYPE x></a>`,
		`<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>`, `<p:a/>`, "<a>\x01</a>", `<a>]]></a>`, `<a>`, `<a/><b/>`, `<a/>text`, `<a><!-- x -- y --></a>`} {
		if _, err := scanTree([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzScanner compares the scanner with encoding/xml on any input.
func FuzzScanner(f *testing.F) {
	f.Add([]byte(`<a xmlns:p="urn:p" p:x="1">t<p:b>in</p:b><![CDATA[x]]>&amp;</a>`))
	f.Add([]byte(`<?xml version="1.0"?><r><x/><!--c--></r>`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		got, gerr := scanTree(doc)
		if gerr != nil {
			return
		}
		if enc, ok := declared(noBOM(doc), "encoding"); ok && !strings.EqualFold(enc, "utf-8") {
			return // encoding/xml reads no declared encoding but UTF-8
		}
		want, werr := stdTree(noBOM(doc))
		if werr != nil {
			t.Fatalf("the scanner accepts what encoding/xml refuses (%v):\n%q", werr, doc)
		}
		if !reflect.DeepEqual(treeString(got), treeString(want)) {
			t.Fatalf("trees differ for %q:\nscanner\n%s\nencoding/xml\n%s", doc, treeString(got), treeString(want))
		}
	})
}

// noBOM drops a byte order mark, which XML allows and encoding/xml does not skip.
func noBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }

// The declaration names the encoding; single-byte ones become UTF-8, the
// rest are refused, as is any version but 1.0.
func TestScannerReadsTheDeclaredEncoding(t *testing.T) {
	for doc, want := range map[string]string{
		"<?xml version='1.0' encoding='ISO-8859-1'?><r>caf\xe9</r>":             "café",
		"<?xml version=\"1.0\" encoding = \"windows-1252\" ?><r>\x80 5</r>":     "€ 5",
		`<?xml version="1.0"?><r encoding="latin1">café</r>`:                    "café",
		"<?xml version=\"1.0\" standalone=\"yes\" encoding=\"utf-8\"?><r>é</r>": "é",
	} {
		n, err := scanTree([]byte(doc))
		if err != nil {
			t.Errorf("%q: %v", doc, err)
		} else if n.Text != want {
			t.Errorf("%q: got %q, want %q", doc, n.Text, want)
		}
	}
	for _, bad := range []string{
		`<?xml version="1.0" encoding="UTF-16"?><r/>`,
		`<?xml version="1.1"?><r/>`,
		`<?xml version="0"?><r/>`,
		"<?xml version=\"1.0\"?><r>caf\xe9</r>", // Latin-1 bytes without saying so
	} {
		if _, err := scanTree([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
