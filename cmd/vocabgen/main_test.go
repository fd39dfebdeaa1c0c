package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/fixtures"
)

// The shipped vocabulary file is what the generator makes of the sources:
// regenerate it (go run ./cmd/vocabgen) when they change.
func TestShippedFileIsCurrent(t *testing.T) {
	src := fixtures.Dir(t, "meemoo")
	want, err := Generate(src)
	if err != nil {
		t.Fatal(err)
	}
	root, err := devstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(root, "internal", "profile", "vocabularies", "education.ttl"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("internal/profile/vocabularies/education.ttl is out of date: run go run ./cmd/vocabgen -src ../shared/data/meemoo")
	}
	if bytes.Contains(got, []byte("definition")) {
		t.Error("the shipped vocabulary holds definition texts")
	}
}
