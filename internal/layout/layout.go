// Package layout states the shape of the repository that the design
// requires, so that a test can hold the code to it: imports run one way,
// cmd → workflows → activities → mappings → internal → schemas, and no
// large file is tracked.
package layout

import "strings"

// Module is the module path.
const Module = "github.com/archiefvooronderwijs/avo"

// Tiers are the top-level folders from the highest to the lowest: a
// package may import its own tier and those below it, never one above.
// deploy holds the cluster's manifests and the test that checks them
// against avo's own config and sources readers.
var Tiers = []string{"deploy", "cmd", "workflows", "activities", "mappings", "internal", "schemas"}

// MaxFileBytes bounds a tracked file: builds and data dumps stay out.
const MaxFileBytes = 5 << 20

// Tier returns the rank of a package of the module (0 for cmd) and
// whether it belongs to a tier at all.
func Tier(importPath string) (int, bool) {
	rel, ok := strings.CutPrefix(importPath, Module+"/")
	if !ok {
		return 0, false
	}
	top, _, _ := strings.Cut(rel, "/")
	for i, t := range Tiers {
		if t == top {
			return i, true
		}
	}
	return 0, false
}
