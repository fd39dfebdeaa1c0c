package mappings

import (
	"encoding/xml"
	"errors"
	"fmt"
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

// parseTree parses one record into a tree (see scanner): strict, bounded
// in size, depth and element count, refusing DTDs and so every entity
// trick.
func parseTree(raw []byte) (*node, error) {
	if len(raw) > MaxRecordBytes {
		return nil, fmt.Errorf("record is %d bytes, over the %d byte limit", len(raw), MaxRecordBytes)
	}
	return scanTree(raw)
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
