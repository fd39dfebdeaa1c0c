package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// VersityGWVersion is the versitygw release `make tools` installs into bin/.
const VersityGWVersion = "v1.8.0"

// Local S3 credentials: the gateway's root account. They only ever guard a
// server bound to 127.0.0.1.
const (
	S3AccessKey = "avo-local"
	S3SecretKey = "avo-local-secret"
	S3Region    = "us-east-1"
)

// S3Options configure a local versitygw S3 gateway.
type S3Options struct {
	// Binary is the versitygw executable; empty searches bin/ next to the
	// avo binary, the module's bin/ and PATH.
	Binary string
	// CacheDir holds the served folder (one sub-folder per bucket).
	CacheDir string
	Name     string
	Port     int
	Detached bool
	Fresh    bool
	Logger   *slog.Logger
}

// StartS3 starts versitygw serving CACHE/s3/NAME on 127.0.0.1.
func StartS3(ctx context.Context, o S3Options) (*Process, error) {
	if o.Name == "" {
		o.Name = "dev"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	runDir := filepath.Join(o.CacheDir, "run")
	name := "versitygw-" + o.Name
	if p, err := adopt(ctx, runDir, name, s3Healthy, o.Logger); p != nil || err != nil {
		return p, err
	}
	bin, err := FindVersityGW(o.Binary)
	if err != nil {
		return nil, err
	}
	port, err := pickPort(o.Port, "versitygw (S3)")
	if err != nil {
		return nil, err
	}
	root := filepath.Join(o.CacheDir, "s3", o.Name)
	if o.Fresh {
		_ = os.RemoveAll(root)
	}
	data, versions, meta := filepath.Join(root, "buckets"), filepath.Join(root, "versions"), filepath.Join(root, "meta")
	for _, d := range []string{data, versions, meta} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	o.Logger.Info("starting versitygw", "url", url, "folder", data)
	p, err := start(startOptions{
		name: name,
		path: bin,
		args: []string{
			"--access", S3AccessKey, "--secret", S3SecretKey, "--region", S3Region,
			"--port", fmt.Sprintf("127.0.0.1:%d", port), "--health", "/health", "--quiet",
			// Connections kept open between requests, as S3 keeps them:
			// without it the gateway closes every connection after one
			// answer, and clients dial anew for each request.
			"--keep-alive",
			// Object metadata in a side folder rather than extended
			// attributes, which some filesystems (overlay, tmpfs) lack.
			"posix", "--sidecar", meta, "--versioning-dir", versions, data,
		},
		dir:      root,
		log:      filepath.Join(root, "versitygw.log"),
		marker:   "versitygw",
		detached: o.Detached,
	})
	if err != nil {
		return nil, err
	}
	p.URL = url
	return ready(ctx, p, runDir, o.Detached, 30*time.Second, s3Healthy)
}

func s3Healthy(ctx context.Context, url string) error { return httpOK(ctx, url+"/health") }

// FindVersityGW looks for the gateway where `make tools` puts it.
func FindVersityGW(explicit string) (string, error) {
	return findTool("versitygw", explicit,
		fmt.Sprintf("run `make tools` (go install github.com/versity/versitygw/cmd/versitygw@%s into bin/)", VersityGWVersion))
}

// ModuleRoot returns the folder of avo's go.mod, searching up from the
// working directory; tests and `go run` use it to find bin/ and .cache/.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && len(b) > 0 && containsModule(b) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the avo module")
		}
		dir = parent
	}
}

func containsModule(gomod []byte) bool {
	const want = "module github.com/archiefvooronderwijs/avo\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}
