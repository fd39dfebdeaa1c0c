package image

import (
	"archive/tar"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/archiefvooronderwijs/avo/internal/devstack"
)

// TestImageRunsAvoAsANonRootUser builds the image from a static avo and
// reads it back from an OCI layout: its user is not root, its entry point
// is avo, it trusts CA certificates, and the avo it holds runs.
func TestImageRunsAvoAsANonRootUser(t *testing.T) {
	root, err := devstack.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "avo")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=image-test", "-o", bin, "./cmd/avo")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	certs := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(certs, []byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := Build(Options{Binary: bin, CACerts: certs, Version: "image-test"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := layout.Write(filepath.Join(dir, "oci"), empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil || len(m.Manifests) != 1 {
		t.Fatalf("the layout's index: %+v %v", m, err)
	}
	back, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := back.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if c.User == "" || strings.HasPrefix(c.User, "0") || strings.HasPrefix(c.User, "root") {
		t.Errorf("the image runs as %q", c.User)
	}
	if len(c.Entrypoint) != 1 || c.Entrypoint[0] != Bin || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("entry point %v on %s/%s", c.Entrypoint, cf.OS, cf.Architecture)
	}

	files := map[string]*tar.Header{}
	rc := mutate.Extract(back)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var avo []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files["/"+strings.TrimSuffix(h.Name, "/")] = h
		if "/"+h.Name == Bin {
			if avo, err = io.ReadAll(tr); err != nil {
				t.Fatal(err)
			}
		}
	}
	for path, mode := range map[string]int64{Bin: 0o755, CACerts: 0o644, "/etc/passwd": 0o644, Home: 0o775, "/tmp": 0o1777} {
		if h, ok := files[path]; !ok || h.Mode&0o7777 != mode {
			t.Errorf("%s in the image: %+v, want mode %o", path, h, mode)
		}
	}
	if h := files[Home]; h == nil || h.Uid != UID {
		t.Errorf("the home is not the user's: %+v", h)
	}
	run := filepath.Join(dir, "avo-from-image")
	if err := os.WriteFile(run, avo, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(run, "--version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "image-test") {
		t.Errorf("the avo in the image: %v %s", err, out)
	}
}
