package devstack

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ElasticsearchVersion is the release the local node runs. It matches the
// go-elasticsearch v8.19.x client in go.mod.
const ElasticsearchVersion = "8.19.7"

// esUser is the account the node runs as when avo runs as root:
// Elasticsearch refuses to start as root.
const esUser = "avo-es"

// The analysis plugin's sources ship inside the binary, so `avo dev` can
// build it on any machine with Maven, wherever the binary is run from.
//
//go:embed esplugin/pom.xml esplugin/src
var pluginSources embed.FS

// ElasticsearchOptions configure a local Elasticsearch node.
type ElasticsearchOptions struct {
	Version string
	// CacheDir holds the download and the installation; it survives runs.
	CacheDir string
	// Name tells nodes apart ("dev", "test"): each has its own data folder.
	Name string
	// Port is the HTTP port; 0 picks a free one.
	Port   int
	HeapMB int
	// Detached nodes outlive this process and are found again by later runs.
	Detached bool
	// Fresh wipes the node's data before it starts.
	Fresh  bool
	Logger *slog.Logger
}

func (o *ElasticsearchOptions) defaults() {
	if o.Version == "" {
		o.Version = ElasticsearchVersion
	}
	if o.Name == "" {
		o.Name = "dev"
	}
	if o.HeapMB == 0 {
		o.HeapMB = 1024
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// StartElasticsearch installs (once) and starts a single-node Elasticsearch
// on 127.0.0.1, or returns the node a previous detached start left running.
func StartElasticsearch(ctx context.Context, o ElasticsearchOptions) (*Process, error) {
	o.defaults()
	if o.CacheDir == "" {
		return nil, errors.New("elasticsearch: no cache folder given")
	}
	runDir := filepath.Join(o.CacheDir, "run")
	name := "elasticsearch-" + o.Name
	if p, err := adopt(ctx, runDir, name, esHealthy, o.Logger); p != nil || err != nil {
		return p, err
	}

	javaHome, err := findJava()
	if err != nil {
		return nil, err
	}
	cred, uid, gid, err := elasticsearchAccount()
	if err != nil {
		return nil, err
	}
	root, err := elasticsearchRoot(o.CacheDir, uid, gid, o.Logger)
	if err != nil {
		return nil, err
	}
	home, err := installElasticsearch(ctx, o, root, javaHome, uid, gid)
	if err != nil {
		return nil, err
	}

	port, err := pickPort(o.Port, "elasticsearch http")
	if err != nil {
		return nil, err
	}
	transport, err := FreePort()
	if err != nil {
		return nil, err
	}
	node := filepath.Join(root, "nodes", o.Name)
	if o.Fresh {
		_ = os.RemoveAll(filepath.Join(node, "data"))
	}
	conf := filepath.Join(node, "config")
	for _, d := range []string{filepath.Join(node, "data"), filepath.Join(node, "logs"), conf} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	// Each node gets its own copy of the configuration, so the keystore
	// Elasticsearch writes there never collides between nodes.
	if err := copyDir(filepath.Join(home, "config"), conf); err != nil {
		return nil, fmt.Errorf("elasticsearch: copy config: %w", err)
	}
	if err := chownTree(node, uid, gid); err != nil {
		return nil, err
	}

	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	args := []string{
		"-E", "cluster.name=avo-" + o.Name,
		"-E", "node.name=avo-" + o.Name,
		"-E", "discovery.type=single-node",
		"-E", "network.host=127.0.0.1",
		"-E", "http.port=" + strconv.Itoa(port),
		"-E", "transport.port=" + strconv.Itoa(transport),
		"-E", "xpack.security.enabled=false",
		"-E", "path.data=" + filepath.Join(node, "data"),
		"-E", "path.logs=" + filepath.Join(node, "logs"),
		// A developer disk that is 95% full must not turn indices read-only.
		"-E", "cluster.routing.allocation.disk.threshold_enabled=false",
		"-p", filepath.Join(node, "elasticsearch.pid"),
	}
	o.Logger.Info("starting elasticsearch", "version", o.Version, "url", url, "data", filepath.Join(node, "data"))
	p, err := start(startOptions{
		name: name,
		path: filepath.Join(home, "bin", "elasticsearch"),
		args: args,
		env: []string{
			"ES_JAVA_HOME=" + javaHome,
			"ES_PATH_CONF=" + conf,
			fmt.Sprintf("ES_JAVA_OPTS=-Xms%dm -Xmx%dm", o.HeapMB, o.HeapMB),
		},
		dir:      node,
		log:      filepath.Join(node, "logs", "console.log"),
		marker:   "elasticsearch",
		detached: o.Detached,
		cred:     cred,
	})
	if err != nil {
		return nil, err
	}
	p.URL = url
	return ready(ctx, p, runDir, o.Detached, 3*time.Minute, esHealthy)
}

// StopDetached stops the node a detached start left running, if any.
func StopDetached(cacheDir, service string) (bool, error) {
	runDir := filepath.Join(cacheDir, "run")
	p, ok := loadState(runDir, service)
	if !ok {
		return false, nil
	}
	err := p.Stop(60 * time.Second)
	removeState(runDir, service)
	return true, err
}

// esHealthy checks readiness through cluster health: the test distribution
// has no handler for GET /.
func esHealthy(ctx context.Context, url string) error {
	return httpOK(ctx, url+"/_cluster/health?wait_for_status=yellow&timeout=2s")
}

var javaVersion = regexp.MustCompile(`version "(\d+)`)

// findJava returns a JDK home for Elasticsearch: ES_JAVA_HOME, JAVA_HOME,
// or the java on PATH.
func findJava() (string, error) {
	home := os.Getenv("ES_JAVA_HOME")
	if home == "" {
		home = os.Getenv("JAVA_HOME")
	}
	if home == "" {
		bin, err := exec.LookPath("java")
		if err != nil {
			return "", errors.New("java not found: Elasticsearch needs Java 17 or later (install a JDK, or set ES_JAVA_HOME or JAVA_HOME)")
		}
		if real, err := filepath.EvalSymlinks(bin); err == nil {
			bin = real
		}
		home = filepath.Dir(filepath.Dir(bin))
	}
	java := filepath.Join(home, "bin", "java")
	out, err := exec.Command(java, "-version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("java not found at %s: %v", java, err)
	}
	m := javaVersion.FindSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("java at %s: cannot read its version from %q", java, out)
	}
	if v, _ := strconv.Atoi(string(m[1])); v < 17 {
		return "", fmt.Errorf("java at %s is version %d; Elasticsearch %s needs 17 or later", java, v, ElasticsearchVersion)
	}
	return home, nil
}

// elasticsearchAccount returns the credential to run the node with: none
// when avo itself is not root, else the avo-es system account, created on
// first use.
func elasticsearchAccount() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, os.Geteuid(), os.Getegid(), nil
	}
	u, err := user.Lookup(esUser)
	if err != nil {
		out, aerr := exec.Command("useradd", "--system", "--no-create-home", "--user-group", "--shell", "/usr/sbin/nologin", esUser).CombinedOutput()
		if aerr != nil {
			return nil, 0, 0, fmt.Errorf("elasticsearch refuses to run as root, and the account %s could not be created: %v: %s", esUser, aerr, bytes.TrimSpace(out))
		}
		if u, err = user.Lookup(esUser); err != nil {
			return nil, 0, 0, fmt.Errorf("account %s: %w", esUser, err)
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, uid, gid, nil
}

// elasticsearchRoot returns the folder for the installation and node data:
// CACHE/elasticsearch, unless the node's account cannot reach it (a checkout
// inside a private folder), in which case a folder under the system temp
// directory is used and the reason logged.
func elasticsearchRoot(cacheDir string, uid, gid int, log *slog.Logger) (string, error) {
	root := filepath.Join(cacheDir, "elasticsearch")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return "", err
	}
	blocked := unreachable(filepath.Dir(abs), uid, gid)
	if blocked == "" {
		return abs, nil
	}
	sum := sha256.Sum256([]byte(abs))
	alt := filepath.Join(os.TempDir(), "avo-elasticsearch-"+hex.EncodeToString(sum[:4]))
	log.Warn("elasticsearch runs as another account that cannot enter the cache folder; using a folder under the temp directory",
		"account", esUser, "blocked_at", blocked, "using", alt)
	if err := os.MkdirAll(alt, 0o755); err != nil {
		return "", err
	}
	return alt, os.Chmod(alt, 0o755)
}

// unreachable returns the first folder on the way to dir that uid/gid may
// not enter, or "" when every one can be entered.
func unreachable(dir string, uid, gid int) string {
	if uid == os.Geteuid() {
		return ""
	}
	for p := dir; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return p
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		m := fi.Mode().Perm()
		enter := m&0o001 != 0 || (ok && int(st.Gid) == gid && m&0o010 != 0) || (ok && int(st.Uid) == uid && m&0o100 != 0)
		if !enter {
			return p
		}
		if p == "/" || p == "." {
			return ""
		}
	}
}

// installElasticsearch makes ROOT/VERSION a ready Elasticsearch home with the
// analysis plugin installed, downloading and building only what is missing.
func installElasticsearch(ctx context.Context, o ElasticsearchOptions, root, javaHome string, uid, gid int) (string, error) {
	unlock, err := lockFile(filepath.Join(root, ".install.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	home := filepath.Join(root, o.Version)
	stamp := filepath.Join(home, ".avo-installed-"+pluginDigest(o.Version))
	if _, err := os.Stat(stamp); err == nil {
		return home, nil
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		return "", fmt.Errorf("mvn not found: Maven is needed to download Elasticsearch %s from Maven Central and to build its analysis plugin", o.Version)
	}
	zipPath, err := downloadElasticsearch(ctx, mvn, o)
	if err != nil {
		return "", err
	}
	plugin, err := buildPlugin(ctx, mvn, o, root, javaHome)
	if err != nil {
		return "", err
	}

	o.Logger.Info("unpacking elasticsearch", "zip", zipPath, "home", home)
	if err := unpack(zipPath, "elasticsearch-"+o.Version, home); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "elasticsearch-plugin"), "install", "--batch", "file://"+plugin)
	cmd.Env = append(os.Environ(), "ES_JAVA_HOME="+javaHome)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("install the avo-analysis plugin into elasticsearch: %v\n%s", err, out)
	}
	if err := chownTree(home, uid, gid); err != nil {
		return "", err
	}
	if err := os.WriteFile(stamp, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644); err != nil {
		return "", err
	}
	return home, nil
}

// downloadElasticsearch fetches the integ-test-zip distribution through
// Maven into CACHE/downloads, once.
func downloadElasticsearch(ctx context.Context, mvn string, o ElasticsearchOptions) (string, error) {
	return mavenCopy(ctx, mvn, o.CacheDir, "org.elasticsearch.distribution.integ-test-zip:elasticsearch:"+o.Version+":zip",
		"elasticsearch-"+o.Version+".zip", "Elasticsearch "+o.Version, o.Logger)
}

// buildPlugin builds the avo-analysis plugin zip for this version with Maven.
func buildPlugin(ctx context.Context, mvn string, o ElasticsearchOptions, root, javaHome string) (string, error) {
	src := filepath.Join(root, "plugin-src")
	_ = os.RemoveAll(src)
	if err := extractFS(pluginSources, "esplugin", src); err != nil {
		return "", fmt.Errorf("write analysis plugin sources: %w", err)
	}
	build := filepath.Join(root, "plugin-build")
	_ = os.RemoveAll(build)
	o.Logger.Info("building the avo-analysis elasticsearch plugin with maven")
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-f", filepath.Join(src, "pom.xml"), "package",
		"-Des.version="+o.Version, "-Davo.build.dir="+build)
	cmd.Env = append(os.Environ(), "JAVA_HOME="+javaHome)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("could not build the avo-analysis plugin for Elasticsearch %s (Maven needs org.elasticsearch:elasticsearch:%s from Maven Central): %v\n%s", o.Version, o.Version, err, lastLines(out, 20))
	}
	zipPath := filepath.Join(build, "avo-analysis-1.0.0.zip")
	if _, err := os.Stat(zipPath); err != nil {
		return "", fmt.Errorf("analysis plugin build produced no %s", zipPath)
	}
	return zipPath, nil
}

// pluginDigest names an installation by the Elasticsearch version and the
// plugin sources, so a change to either reinstalls.
func pluginDigest(version string) string {
	h := sha256.New()
	h.Write([]byte(version))
	_ = fs.WalkDir(pluginSources, "esplugin", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := pluginSources.ReadFile(path)
		h.Write([]byte(path))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func extractFS(fsys embed.FS, dir, dst string) error {
	return fs.WalkDir(fsys, dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := fsys.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

// unpack unzips the folder top of zipPath into home, replacing it; a
// half-unpacked folder never takes home's name.
func unpack(zipPath, top, home string) error {
	_ = os.RemoveAll(home)
	tmp, err := os.MkdirTemp(filepath.Dir(home), "unpack-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if err := unzip(zipPath, tmp); err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	if err := os.Rename(filepath.Join(tmp, top), home); err != nil {
		return fmt.Errorf("unpack %s: %w", zipPath, err)
	}
	return nil
}

func unzip(src, dst string) error {
	r, err := zip.OpenReader(src)
	if err != nil {
		return err
	}
	defer r.Close()
	for _, f := range r.File {
		target := filepath.Join(dst, f.Name)
		if !strings.HasPrefix(target, filepath.Clean(dst)+string(os.PathSeparator)) {
			return fmt.Errorf("zip entry %q escapes the target folder", f.Name)
		}
		if f.FileInfo().IsDir() {
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := writeZipEntry(f, target); err != nil {
			return err
		}
	}
	return nil
}

func writeZipEntry(f *zip.File, target string) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	mode := f.Mode().Perm() | 0o644
	out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func copyDir(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if _, err := os.Stat(target); err == nil {
			return nil // keep what the node wrote (its keystore)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}

func chownTree(dir string, uid, gid int) error {
	if os.Geteuid() != 0 {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// lockFile takes an exclusive lock, so two processes never install at once.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
