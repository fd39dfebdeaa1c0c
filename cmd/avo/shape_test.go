package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/workflows"
)

var (
	updateShapes = flag.Bool("update-shapes", false, "rewrite testdata/json/*.shape from the commands' output")
	// shapesDir is found before a test changes the working directory.
	shapesDir, _ = filepath.Abs(filepath.Join("testdata", "json"))
)

// shape lists the paths and JSON types of a document, one a line, sorted:
// "[].counts.indexed number". The elements of a list share one shape (the
// union of theirs); values do not matter, names and types do.
func shape(doc any, path string, out map[string]bool) {
	switch v := doc.(type) {
	case map[string]any:
		out[path+" object"] = true
		for k, e := range v {
			shape(e, path+"."+k, out)
		}
	case []any:
		out[path+" array"] = true
		for _, e := range v {
			shape(e, path+"[]", out)
		}
	case string:
		out[path+" string"] = true
	case float64:
		out[path+" number"] = true
	case bool:
		out[path+" boolean"] = true
	case nil:
		out[path+" null"] = true
	}
}

// checkShape holds a command's JSON output to its documented shape in
// testdata/json/NAME.shape (go test ./cmd/avo -update-shapes rewrites it).
func checkShape(t *testing.T, name, output string) {
	t.Helper()
	var doc any
	if err := json.Unmarshal([]byte(output), &doc); err != nil {
		t.Errorf("%s: not JSON: %v\n%s", name, err, output)
		return
	}
	lines := map[string]bool{}
	shape(doc, "", lines)
	got := make([]string, 0, len(lines))
	for l := range lines {
		if strings.HasSuffix(l, " null") {
			t.Errorf("%s: %s: JSON output holds a null (an empty list must be [])", name, strings.TrimSuffix(l, " null"))
		}
		got = append(got, strings.TrimPrefix(l, "."))
	}
	slices.Sort(got)
	file := filepath.Join(shapesDir, name+".shape")
	if *updateShapes {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Errorf("%s: %v (go test ./cmd/avo -update-shapes writes it)", name, err)
		return
	}
	if g := strings.Join(got, "\n") + "\n"; g != string(want) {
		t.Errorf("%s: the JSON output changed shape:\n%s", name, diffLines(string(want), g))
	}
}

func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	return b.String()
}

// The progress line says how far along and how long still when the
// provider gives its list's size, and what is being tried again.
func TestProgressLine(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	next := now.Add(8 * time.Second)
	st := &workflows.HarvestState{
		Progress: &workflows.Status{Source: "vrt", Set: "kunst", Page: 3, ListSize: 400, StartedAt: now.Add(-10 * time.Second),
			Counts: bucket.Counts{Records: 100, Indexed: 98, Quarantined: 2}},
		Retry: &workflows.Retry{Activity: "FetchPages", Attempt: 3, LastError: "source vrt page 4: HTTP 503 (2 attempts over 5 s)", NextAttempt: &next},
	}
	got := progressLine(st, now)
	want := "vrt set kunst: page 3, 100/400 records, 98 indexed, 0 deleted, 2 quarantined, 0 repaired, 10 records/s, 10s, 25%, about 30s to go" +
		" — retrying FetchPages (attempt 3, next try in 8s): source vrt page 4: HTTP 503 (2 attempts over 5 s)"
	if got != want {
		t.Errorf("progress line\n got %s\nwant %s", got, want)
	}
	st.Progress.ListSize, st.Retry = 0, nil
	if got := progressLine(st, now); strings.Contains(got, "%") || strings.Contains(got, "to go") || strings.Contains(got, "retrying") {
		t.Errorf("without a list size or retry: %s", got)
	}
}
