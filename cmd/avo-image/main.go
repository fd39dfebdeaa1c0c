// Command avo-image builds avo's container image without a container
// engine (`make image`): the static avo binary given on an empty base with
// CA certificates, run by a non-root user. It writes an OCI image layout
// (copy it to a registry with skopeo, crane or oras) and a tarball that
// podman or docker load.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/archiefvooronderwijs/avo/internal/image"
)

func main() {
	o := image.Options{}
	flag.StringVar(&o.Binary, "binary", "", "a static linux/amd64 avo (CGO_ENABLED=0)")
	flag.StringVar(&o.CACerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "CA bundle the image trusts")
	flag.StringVar(&o.Version, "version", "dev", "the image's version label")
	out := flag.String("oci", "", "directory of the OCI image layout to write")
	tar := flag.String("tar", "", "tarball to write (podman load, docker load)")
	tag := flag.String("tag", "avo:dev", "the image's name and tag")
	flag.Parse()
	if err := run(o, *out, *tar, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "avo-image:", err)
		os.Exit(1)
	}
}

func run(o image.Options, out, tar, tag string) error {
	if o.Binary == "" || out == "" && tar == "" {
		return fmt.Errorf("want -binary and -oci or -tar")
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		return err
	}
	img, err := image.Build(o)
	if err != nil {
		return err
	}
	if out != "" {
		if err := os.RemoveAll(out); err != nil {
			return err
		}
		p, err := layout.Write(out, empty.Index)
		if err != nil {
			return err
		}
		if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref.String()})); err != nil {
			return err
		}
	}
	if tar != "" {
		if err := tarball.WriteToFile(tar, ref, img); err != nil {
			return err
		}
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s %s (oci: %s, tar: %s)\n", ref, d, out, tar)
	return nil
}
