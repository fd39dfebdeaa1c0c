package layout

import (
	"bytes"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// pkg is what `go list -json` says of a package.
type pkg struct {
	ImportPath   string
	Imports      []string
	TestImports  []string
	XTestImports []string
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Imports run one way, in the code and in its tests: a lower tier never
// imports a higher one, and every package lives in a tier.
func TestImportsRunOneWay(t *testing.T) {
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = moduleRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	n := 0
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		n++
		from, ok := Tier(p.ImportPath)
		if !ok {
			t.Errorf("%s is in none of the top-level folders %v", p.ImportPath, Tiers)
			continue
		}
		for _, imp := range append(append(p.Imports, p.TestImports...), p.XTestImports...) {
			to, ok := Tier(imp)
			if ok && to < from {
				t.Errorf("%s imports %s: %s may not import %s", p.ImportPath, imp, Tiers[from], Tiers[to])
			}
		}
	}
	if n < 10 {
		t.Fatalf("go list found only %d packages", n)
	}
}

// No tracked file is larger than MaxFileBytes: builds and dumps are not
// source. Outside a git checkout every file but the ignored folders counts.
func TestNoLargeTrackedFiles(t *testing.T) {
	root := moduleRoot(t)
	for _, name := range trackedFiles(t, root) {
		fi, err := os.Stat(filepath.Join(root, name))
		if err != nil {
			continue // deleted in the work tree
		}
		if fi.Size() > MaxFileBytes {
			t.Errorf("%s is tracked and %d MB: build outputs and data dumps do not belong in git", name, fi.Size()>>20)
		}
	}
}

// trackedFiles lists what git tracks below root, or, without git, every
// file but those of .git, .cache and bin.
func trackedFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		return strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	}
	var names []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() && (rel == ".git" || rel == ".cache" || rel == "bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestTier(t *testing.T) {
	for path, want := range map[string]int{
		Module + "/deploy": 0, Module + "/cmd/avo": 1, Module + "/workflows/e2e": 2, Module + "/activities": 3,
		Module + "/mappings": 4, Module + "/internal/profile": 5, Module + "/schemas": 6,
	} {
		if got, ok := Tier(path); !ok || got != want {
			t.Errorf("Tier(%s) = %d, %v; want %d", path, got, ok, want)
		}
	}
	if _, ok := Tier("github.com/other/cmd"); ok {
		t.Error("a package of another module has no tier")
	}
}
