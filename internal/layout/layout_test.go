package layout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
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
// source.
func TestNoLargeTrackedFiles(t *testing.T) {
	root := moduleRoot(t)
	cmd := exec.Command("git", "ls-files", "-z")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, 0); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		fi, err := os.Stat(filepath.Join(root, sc.Text()))
		if err != nil {
			continue // deleted in the work tree
		}
		if fi.Size() > MaxFileBytes {
			t.Errorf("%s is tracked and %d MB: build outputs and data dumps do not belong in git", sc.Text(), fi.Size()>>20)
		}
	}
}

func TestTier(t *testing.T) {
	for path, want := range map[string]int{
		Module + "/cmd/avo": 0, Module + "/workflows/e2e": 1, Module + "/activities": 2,
		Module + "/mappings": 3, Module + "/internal/profile": 4, Module + "/schemas": 5,
	} {
		if got, ok := Tier(path); !ok || got != want {
			t.Errorf("Tier(%s) = %d, %v; want %d", path, got, ok, want)
		}
	}
	if _, ok := Tier("github.com/other/cmd"); ok {
		t.Error("a package of another module has no tier")
	}
}
