package mappings

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is a parsed XML element: small, read-only, enough for mapping.
type node struct {
	Name     xml.Name
	Attr     []xml.Attr
	Text     string
	Children []*node
}

// Limits that keep hostile or broken input from exhausting the worker.
const (
	maxDepth    = 64
	maxElements = 200_000
)

// ErrMalformed marks input that is not well-formed XML.
var ErrMalformed = errors.New("malformed XML")

// parseTree parses raw into a tree. Entities other than the five XML ones
// are refused by the decoder (no expansion attacks); depth and element
// count are bounded.
func parseTree(raw []byte) (*node, error) {
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

// child returns the first child with the local name.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, c := range n.Children {
		if c.Name.Local == local {
			return c
		}
	}
	return nil
}

// all returns the children with the local name (any namespace).
func (n *node) all(local string) []*node {
	if n == nil {
		return nil
	}
	var out []*node
	for _, c := range n.Children {
		if c.Name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// text returns the text of the first child with the local name.
func (n *node) text(local string) string {
	if c := n.child(local); c != nil {
		return clean(c.Text)
	}
	return ""
}

// leaves returns the texts of all elements under n that have no children:
// the values of MediaHaven's list fields (<dc_creators><Maker>..</Maker>).
func (n *node) leaves() []string {
	if n == nil {
		return nil
	}
	var out []string
	for _, c := range n.Children {
		if len(c.Children) == 0 {
			if v := clean(c.Text); v != "" {
				out = append(out, v)
			}
			continue
		}
		out = append(out, c.leaves()...)
	}
	if len(n.Children) == 0 {
		if v := clean(n.Text); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// attr returns the value of the attribute with the local name.
func (n *node) attr(local string) string {
	if n == nil {
		return ""
	}
	for _, a := range n.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// path returns the elements reached from n through children of the given
// local names, in document order.
func (n *node) path(names ...string) []*node {
	cur := []*node{n}
	for _, name := range names {
		var next []*node
		for _, c := range cur {
			next = append(next, c.all(name)...)
		}
		cur = next
	}
	if len(names) == 0 {
		return nil
	}
	return cur
}

// texts returns the cleaned, non-empty texts of nodes.
func texts(ns []*node) []string {
	var out []string
	for _, n := range ns {
		if v := clean(n.Text); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// preferred picks, among alternatives, the one marked pref="preferred",
// else one in Dutch, else the first with text.
func preferred(ns []*node) string {
	pick := func(ok func(*node) bool) string {
		for _, n := range ns {
			if v := clean(n.Text); v != "" && ok(n) {
				return v
			}
		}
		return ""
	}
	return firstNonEmpty(
		pick(func(n *node) bool { return n.attr("pref") == "preferred" }),
		pick(func(n *node) bool { return strings.HasPrefix(strings.ToLower(n.attr("lang")), "nl") }),
		pick(func(*node) bool { return true }),
	)
}
