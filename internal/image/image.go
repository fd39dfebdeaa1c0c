// Package image builds avo's container image without a container engine:
// a static avo binary on an empty base with CA certificates, run by a
// non-root user, as an OCI image (go-containerregistry).
package image

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's user: not root, and the same on every node (OpenShift may
// still run it as an arbitrary uid of group 0, which the home allows).
const (
	UID  = 65532
	Home = "/home/avo"
	Bin  = "/usr/local/bin/avo"
	// CACerts is where the image keeps the CA certificates avo trusts.
	CACerts = "/etc/ssl/certs/ca-certificates.crt"
)

// Options describe the image.
type Options struct {
	// Binary is a static linux/amd64 avo executable.
	Binary string
	// CACerts is the CA bundle to trust (the build machine's).
	CACerts string
	Version string
	// Created stamps the image; zero keeps it reproducible (the epoch).
	Created time.Time
}

// Build returns the image.
func Build(o Options) (v1.Image, error) {
	bin, err := os.ReadFile(o.Binary)
	if err != nil {
		return nil, fmt.Errorf("avo binary: %w", err)
	}
	if len(bin) < 4 || string(bin[1:4]) != "ELF" {
		return nil, fmt.Errorf("%s is not a linux executable", o.Binary)
	}
	certs, err := os.ReadFile(o.CACerts)
	if err != nil {
		return nil, fmt.Errorf("CA certificates (the image trusts them for providers, S3 and Elasticsearch): %w", err)
	}
	base, err := layer([]entry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/passwd", mode: 0o644, body: []byte(fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\navo:x:%d:0:avo:%s:/sbin/nologin\n", UID, Home))},
		{name: "etc/group", mode: 0o644, body: []byte("root:x:0:\n")},
		{name: "etc/ssl/", mode: 0o755, dir: true},
		{name: "etc/ssl/certs/", mode: 0o755, dir: true},
		{name: CACerts[1:], mode: 0o644, body: certs},
		{name: "home/", mode: 0o755, dir: true},
		// Group 0 may write: OpenShift runs containers as an arbitrary uid in group 0.
		{name: Home[1:] + "/", mode: 0o775, dir: true, uid: UID},
		{name: "tmp/", mode: 0o1777, dir: true},
	})
	if err != nil {
		return nil, err
	}
	app, err := layer([]entry{
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/local/", mode: 0o755, dir: true},
		{name: "usr/local/bin/", mode: 0o755, dir: true},
		{name: Bin[1:], mode: 0o755, body: bin},
	})
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	if img, err = mutate.AppendLayers(img, base, app); err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Created = v1.Time{Time: o.Created}
	cf.Config = v1.Config{
		User:       fmt.Sprintf("%d:0", UID),
		WorkingDir: Home,
		Entrypoint: []string{Bin},
		Cmd:        []string{"worker"},
		Env: []string{
			"HOME=" + Home,
			"SSL_CERT_FILE=" + CACerts,
			// In a pod the processes answer on every interface.
			"AVO_SERVE_LISTEN=0.0.0.0:8080",
			"AVO_WORKER_LISTEN=0.0.0.0:9464",
			"AVO_LOG_FORMAT=json",
		},
		ExposedPorts: map[string]struct{}{"8080/tcp": {}, "9464/tcp": {}},
		Labels: map[string]string{
			"org.opencontainers.image.title":       "avo",
			"org.opencontainers.image.description": "Metadata pipeline of the Archive for Education: worker, API and CLI",
			"org.opencontainers.image.version":     o.Version,
		},
	}
	return mutate.ConfigFile(img, cf)
}

type entry struct {
	name string
	mode int64
	dir  bool
	uid  int
	body []byte
}

// layer makes a layer of entries, owned by root unless they say.
func layer(entries []entry) (v1.Layer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: 0, Format: tar.FormatPAX}
		if e.dir {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.body); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil },
		tarball.WithMediaType(types.OCILayer))
}
