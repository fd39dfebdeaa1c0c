package turtle

import (
	"bufio"
	"io"
	"regexp"
	"sort"
	"strings"
)

var simpleLocal = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// Write writes triples as Turtle: the prefixes first, then one block per
// subject (in sorted order), predicates and objects sorted, IRIs
// abbreviated where a prefix and a plain local name allow it.
func Write(w io.Writer, triples []Triple, prefixes map[string]string) error {
	bw := bufio.NewWriter(w)
	names := make([]string, 0, len(prefixes))
	for p := range prefixes {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		bw.WriteString("@prefix " + p + ": " + NewIRI(prefixes[p]).String() + " .\n")
	}
	short := func(t Term) string {
		if t.Kind == IRI {
			if t.Value == RDFType {
				return "a"
			}
			for _, p := range names {
				if local, ok := strings.CutPrefix(t.Value, prefixes[p]); ok && simpleLocal.MatchString(local) {
					return p + ":" + local
				}
			}
		}
		if t.Kind == Literal && (t.Datatype == XSDInteger) {
			return t.Value
		}
		return t.String()
	}
	bySubject := map[string]map[string][]string{}
	var subjects []string
	for _, t := range triples {
		s := short(t.S)
		if bySubject[s] == nil {
			bySubject[s] = map[string][]string{}
			subjects = append(subjects, s)
		}
		bySubject[s][short(t.P)] = append(bySubject[s][short(t.P)], short(t.O))
	}
	sort.Strings(subjects)
	for _, s := range subjects {
		bw.WriteString("\n" + s)
		preds := make([]string, 0, len(bySubject[s]))
		for p := range bySubject[s] {
			preds = append(preds, p)
		}
		sort.Slice(preds, func(i, j int) bool { return preds[i] == "a" || preds[j] != "a" && preds[i] < preds[j] })
		for i, p := range preds {
			objs := bySubject[s][p]
			sort.Strings(objs)
			sep := " ;\n    "
			if i == 0 {
				sep = " "
			}
			bw.WriteString(sep + p + " " + strings.Join(objs, ", "))
		}
		bw.WriteString(" .\n")
	}
	return bw.Flush()
}
