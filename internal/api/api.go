// Package api serves the search API (JSON over HTTP) and a page to try
// it. Every request is validated by the search package: a client chooses
// among known filters, sorts and scopes, and never sends Elasticsearch a
// query of its own.
package api

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/search"
)

//go:embed static
var static embed.FS

// Server answers the search API on one index.
type Server struct {
	Search *search.Searcher
	Logger *slog.Logger
	// Timeout bounds the Elasticsearch work of one request.
	Timeout time.Duration
}

// Handler routes the API and the page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/search", s.search)
	mux.HandleFunc("GET /api/facets/{name}", s.facet)
	mux.HandleFunc("GET /api/suggest", s.suggest)
	mux.HandleFunc("GET /api/items/{id}", s.item)
	mux.HandleFunc("GET /api/items/{id}/related", s.related)
	mux.HandleFunc("GET /api/filters", s.filters)
	mux.HandleFunc("GET /healthz", s.health)
	page, _ := fs.Sub(static, "static")
	mux.Handle("GET /", http.FileServerFS(page))
	return s.logged(mux)
}

func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		// A public, read-only API: frontends on other origins may call it.
		w.Header().Set("Access-Control-Allow-Origin", "*")
		next.ServeHTTP(sw, r)
		s.log().Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", time.Since(start).Milliseconds())
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	t := s.Timeout
	if t == 0 {
		t = 10 * time.Second
	}
	return context.WithTimeout(r.Context(), t)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	req, err := search.ParseQuery(r.URL.Query())
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.Search.Search(ctx, req)
	s.reply(w, r, res, err)
}

func (s *Server) facet(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	text := q.Get("facet_q")
	q.Del("facet_q")
	req, err := search.ParseQuery(q)
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.Search.Facet(ctx, req, r.PathValue("name"), text)
	s.reply(w, r, map[string]any{"facet": r.PathValue("name"), "buckets": res}, err)
}

func (s *Server) suggest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "prefix" && k != "size" {
			s.fail(w, r, &search.RequestError{Err: errors.New("unknown parameter " + strconv.Quote(k) + ": want prefix, size")})
			return
		}
	}
	size := 10
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 20 {
			s.fail(w, r, &search.RequestError{Err: errors.New("size: want 1 to 20")})
			return
		}
		size = n
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.Search.Suggest(ctx, q.Get("prefix"), size)
	s.reply(w, r, map[string]any{"prefix": q.Get("prefix"), "keywords": res}, err)
}

// scopeOnly reads the parameters of the item endpoints: the scope (and
// for related items, primary and size); nothing else.
func scopeOnly(r *http.Request, allowed ...string) (search.Request, error) {
	q := r.URL.Query()
	for k := range q {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return search.Request{}, errors.New("unknown parameter " + strconv.Quote(k))
		}
	}
	return search.ParseQuery(q)
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) {
	req, err := scopeOnly(r, "scope")
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.Search.Item(ctx, r.PathValue("id"), req.Scope)
	s.reply(w, r, res, err)
}

func (s *Server) related(w http.ResponseWriter, r *http.Request) {
	req, err := scopeOnly(r, "scope", "primary", "size")
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	if r.URL.Query().Get("size") == "" {
		req.Size = 6
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := s.Search.Related(ctx, r.PathValue("id"), req)
	s.reply(w, r, map[string]any{"id": r.PathValue("id"), "related": res}, err)
}

// filters describes what a request may hold, for clients to discover.
func (s *Server) filters(w http.ResponseWriter, r *http.Request) {
	s.reply(w, r, map[string]any{
		"filters":        search.Filters,
		"ranges":         []string{"broadcast_from", "broadcast_until"},
		"sorts":          search.Sorts,
		"orders":         []string{"desc", "asc"},
		"scopes":         []string{search.Teacher, search.Pupil},
		"max_window":     search.MaxWindow,
		"max_size":       search.MaxSize,
		"facet_buckets":  search.FacetBuckets,
		"pupil_types":    search.PupilTypes,
		"primary_levels": search.PrimaryLevels,
	}, nil)
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := s.ctx(r)
	defer cancel()
	_, err := s.Search.Search(ctx, search.Request{Size: 1})
	if err != nil {
		s.log().Warn("health check failed", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "index": s.Search.Index})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "index": s.Search.Index})
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

// fail answers an error: 400 for a request to change, 404 for an item
// not there, 504 when Elasticsearch took too long, 502 otherwise (the
// index failed; the reason is logged, not shown).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *search.RequestError
	switch {
	case errors.As(err, &re):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": re.Error()})
	case errors.Is(err, search.ErrNotFound):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
	case errors.Is(err, context.DeadlineExceeded):
		s.log().Error("search timed out", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusGatewayTimeout, map[string]string{"error": "the search took too long"})
	default:
		s.log().Error("search failed", "path", r.URL.Path, "query", r.URL.RawQuery, "err", err)
		writeJSON(w, http.StatusBadGateway, map[string]string{"error": "the search index failed to answer"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func (s *Server) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}
