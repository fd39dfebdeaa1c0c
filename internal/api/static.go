package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// staticFiles serves the page's files from the binary, each with an ETag
// of its content (a browser asks again cheaply) and a short cache life;
// a path that is no file is a JSON 404 like any unknown route.
type staticFiles struct {
	files map[string]staticFile
}

type staticFile struct {
	body []byte
	etag string
}

// staticMaxAge is how long a browser may use a file without asking.
const staticMaxAge = 5 * time.Minute

func newStaticFiles() *staticFiles {
	page, _ := fs.Sub(static, "static")
	sf := &staticFiles{files: map[string]staticFile{}}
	_ = fs.WalkDir(page, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(page, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		sf.files["/"+name] = staticFile{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	return sf
}

func (sf *staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	if strings.HasSuffix(name, "/") {
		name += "index.html"
	}
	f, ok := sf.files[path.Clean(name)]
	if !ok {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such route: " + r.Method + " " + r.URL.Path})
		return
	}
	w.Header().Set("ETag", f.etag)
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(staticMaxAge.Seconds())))
	if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	// ServeContent answers If-None-Match with 304 and ranges as usual.
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// gzipped compresses answers for clients that ask (Accept-Encoding: gzip).
func gzipped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r) || r.Method == http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if enc, q, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(enc, "gzip") && !strings.Contains(q, "q=0") {
			return true
		}
	}
	return false
}

var gzipPool = sync.Pool{New: func() any { return gzip.NewWriter(io.Discard) }}

// gzipWriter compresses a body, unless the answer has none (304, 204).
type gzipWriter struct {
	http.ResponseWriter
	zw      *gzip.Writer
	decided bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.decided {
		g.decided = true
		if code != http.StatusNotModified && code != http.StatusNoContent && g.Header().Get("Content-Encoding") == "" {
			g.Header().Set("Content-Encoding", "gzip")
			g.Header().Del("Content-Length")
			g.zw = gzipPool.Get().(*gzip.Writer)
			g.zw.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.zw != nil {
		return g.zw.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) close() {
	if g.zw != nil {
		_ = g.zw.Close()
		gzipPool.Put(g.zw)
	}
}
