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
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

//go:embed static
var static embed.FS

// Server answers the search API on the education index, and on the
// catalog for editors.
type Server struct {
	Search *search.Searcher
	// Catalog, when set, answers editors' requests with index=catalog.
	Catalog *search.Searcher
	// Auth checks bearer tokens; nil accepts none.
	Auth *auth.Authenticator
	// Anonymous is what callers without a token get: pupil (the default),
	// teacher or none (see AnonymousNone).
	Anonymous string
	// Operator, when set, answers OperatorRoutes for callers with the
	// operator role (built where the Temporal client lives).
	Operator http.Handler
	// Editorial, when set, takes editors' publish and depublish decisions.
	Editorial Decider
	// Sets, when set, keeps editors' curated sets; ItemHistory reads the
	// change log of an item's decisions.
	Sets        Curator
	ItemHistory ItemHistoryFunc
	// Content, when set, keeps teachers' collections, bundles and
	// assignments.
	Content Library
	// Browse, when set, hands out short-lived addresses of browse copies
	// (GET /api/items/{id}/play), each valid for PlayTTL (0: DefaultPlayTTL).
	Browse  Presigner
	PlayTTL time.Duration
	// OAI, when set, is the OAI-PMH provider partner platforms harvest.
	OAI http.Handler
	// PublicURL, when set, is where partners reach this server: the
	// address record pages and oEmbed answers name (behind a proxy, not
	// the request's host).
	PublicURL string
	// Ready are the dependencies /readyz checks beside the search index;
	// Metrics serves /metrics (nil: 404).
	Ready   []telemetry.Check
	Metrics http.Handler
	// SignOn is where the search page signs people in (nil: it does not).
	SignOn *SignOn
	// Limits bound each caller's request rate and body size.
	Limits Limits
	Logger *slog.Logger
	// Timeout bounds the Elasticsearch work of one request.
	Timeout time.Duration
	// Origins may call the API from a browser; "*" for any (a public,
	// read-only API). Empty: none but the page itself.
	Origins []string

	// downUntil: Elasticsearch could not be reached; until then requests
	// answer 503 at once instead of trying again (unix nanoseconds).
	downUntil atomic.Int64
	limits    limiters
}

// maxFacetText bounds the text a facet's values are filtered by: every
// character becomes part of a pattern Elasticsearch compiles.
const maxFacetText = 50

// downFor is how long an unreachable Elasticsearch is not asked again.
const downFor = 5 * time.Second

//go:embed openapi/openapi.json
var openAPI []byte

// Route is one operation of the API, as the OpenAPI document names it.
type Route struct{ Method, Path string }

// routes are the API's operations and their handlers; the OpenAPI
// document describes exactly these (a test holds them together).
func (s *Server) routes() map[Route]http.HandlerFunc {
	return map[Route]http.HandlerFunc{
		{"GET", "/api/search"}:                               s.search,
		{"GET", "/api/facets/{name}"}:                        s.facet,
		{"GET", "/api/suggest"}:                              s.suggest,
		{"GET", "/api/items/{id}"}:                           s.item,
		{"GET", "/api/items/{id}/related"}:                   s.related,
		{"GET", "/api/items/{id}/play"}:                      s.play,
		{"GET", "/api/filters"}:                              s.filters,
		{"GET", "/api/me"}:                                   s.me,
		{"GET", "/api/signon"}:                               s.signOn,
		{"POST", "/api/items/{id}/publish"}:                  s.publish,
		{"POST", "/api/items/{id}/depublish"}:                s.depublish,
		{"GET", "/api/items/{id}/history"}:                   s.itemHistory,
		{"GET", "/api/sets"}:                                 s.listSets,
		{"POST", "/api/sets"}:                                s.createSet,
		{"GET", "/api/sets/{id}"}:                            s.getSet,
		{"PATCH", "/api/sets/{id}"}:                          s.editSet,
		{"POST", "/api/sets/{id}/{step}"}:                    s.stepSet,
		{"GET", "/api/sets/{id}/history"}:                    s.setHistory,
		{"GET", "/api/me/content"}:                           s.myContent,
		{"POST", "/api/content"}:                             s.createContent,
		{"GET", "/api/content/{id}"}:                         s.getContent,
		{"PATCH", "/api/content/{id}"}:                       s.editContent,
		{"DELETE", "/api/content/{id}"}:                      s.deleteContent,
		{"POST", "/api/content/{id}/contributors"}:           s.shareContent,
		{"DELETE", "/api/content/{id}/contributors/{email}"}: s.unshareContent,
		{"POST", "/api/content/{id}/invitation"}:             s.answerInvitation,
		{"POST", "/api/content/{id}/copy"}:                   s.copyContent,
		{"GET", "/api/content/{id}/history"}:                 s.contentHistory,
		{"GET", "/api/openapi.json"}:                         s.openAPI,
		{"GET", "/oai"}:                                      s.oai,
		{"GET", "/items/{id}"}:                               s.landing,
		{"GET", "/embed/{id}"}:                               s.landing,
		{"GET", "/oembed"}:                                   s.oembed,
		{"POST", "/oai"}:                                     s.oai,
		{"GET", "/healthz"}:                                  s.health,
		{"GET", "/readyz"}:                                   s.ready,
		{"GET", "/metrics"}:                                  s.metrics,
	}
}

// OperatorRoutes are the operator API's operations: harvests listed,
// shown, started and cancelled, and the quarantine listed, as the CLI
// does them.
var OperatorRoutes = []Route{
	{"GET", "/api/ops/harvests"},
	{"GET", "/api/ops/harvests/{source}"},
	{"POST", "/api/ops/harvests/{source}"},
	{"POST", "/api/ops/harvests/{source}/cancel"},
	{"GET", "/api/ops/quarantine"},
	{"GET", "/api/ops/quarantine/{key}"},
	{"GET", "/api/ops/indices"},
	{"POST", "/api/ops/indices/{kind}/rebuild"},
}

// Routes lists the API's operations, the operator API's included.
func (s *Server) Routes() []Route {
	out := slices.Clone(OperatorRoutes)
	for r := range s.routes() {
		out = append(out, r)
	}
	return out
}

// operator lets only operators through to the operator API.
func (s *Server) operator(w http.ResponseWriter, r *http.Request) {
	u := caller(r)
	switch {
	case s.Operator == nil:
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server has no operator API"})
	case u == nil:
		s.unauthorized(w, r, &auth.Error{Reason: "the operator API needs a token", Missing: true})
	case !slices.Contains(u.Roles, auth.Operator):
		s.fail(w, r, errForbidden{"the operator API is for operators; you are " + rolesOf(u)})
	default:
		s.Operator.ServeHTTP(w, r)
	}
}

// OpenAPI is the API's OpenAPI 3 document.
func OpenAPI() []byte { return openAPI }

func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPI)
}

// Handler routes the API and the page.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	for r, h := range s.routes() {
		mux.HandleFunc(r.Method+" "+r.Path, h)
	}
	for _, r := range OperatorRoutes {
		// A quarantine key holds slashes: the pattern takes the rest of the path.
		mux.HandleFunc(r.Method+" "+strings.Replace(r.Path, "{key}", "{key...}", 1), s.operator)
	}
	files := newStaticFiles()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			w.Header().Set("Allow", "GET, HEAD, OPTIONS")
			WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed on " + r.URL.Path})
		case strings.HasPrefix(r.URL.Path, "/api/"):
			WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such route: " + r.Method + " " + r.URL.Path})
		default:
			files.ServeHTTP(w, r)
		}
	})
	return s.logged(s.cors(s.authenticate(s.limited(gzipped(routed(mux))))))
}

// requestLatency times the API's answers by route (the pattern, never the
// path with its ids), method and status.
var requestLatency = telemetry.Histogram("avo.http.server.request.duration", "Latency of avo serve's answers, by route, method and status")

// routeKey carries a request's route from the router to logged.
type routeKey struct{}

func (s *Server) logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		route := new(string)
		next.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), routeKey{}, route)))
		if *route == "" {
			*route = "unmatched"
		}
		requestLatency.Record(r.Context(), telemetry.Since(start), metric.WithAttributes(attribute.String("route", *route),
			attribute.String("method", r.Method), attribute.String("status", strconv.Itoa(sw.status))))
		s.log().Debug("request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "ms", time.Since(start).Milliseconds())
	})
}

// routed notes the route the router chose, for logged.
func routed(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r)
		if route, ok := r.Context().Value(routeKey{}).(*string); ok && r.Pattern != "" {
			_, path, _ := strings.Cut(r.Pattern, " ")
			*route = path
		}
	})
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	if s.Metrics == nil {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server keeps no metrics"})
		return
	}
	s.Metrics.ServeHTTP(w, r)
}

// cors lets the configured origins call the API from a browser, and
// answers their preflight requests.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := ""
		for _, o := range s.Origins {
			if o == "*" || o == origin {
				allowed = o
				break
			}
		}
		if origin != "" && allowed != "" {
			w.Header().Set("Access-Control-Allow-Origin", allowed)
			w.Header().Set("Access-Control-Expose-Headers", "ETag")
			w.Header().Add("Vary", "Origin")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed == "" {
				WriteJSON(w, http.StatusForbidden, map[string]string{"error": "origin " + origin + " may not call this API"})
				return
			}
			w.Header().Set("Access-Control-Allow-Methods", "GET, POST, PATCH, DELETE, OPTIONS")
			w.Header().Set("Access-Control-Allow-Headers", "Accept, Accept-Language, Content-Type, Authorization, If-Match")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// query reads a request's parameters; malformed percent-encoding is the
// client's error, never a parameter silently dropped.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, &search.RequestError{Err: fmt.Errorf("malformed query string: %v", err)}
	}
	return q, nil
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// errDown is the answer while Elasticsearch cannot be reached.
var errDown = errors.New("the search index is unreachable")

// unavailable is errDown while Elasticsearch was found unreachable lately.
func (s *Server) unavailable() error {
	if time.Now().UnixNano() < s.downUntil.Load() {
		return errDown
	}
	return nil
}

// noteReach notes whether Elasticsearch could be reached.
func (s *Server) noteReach(err error) {
	if err != nil && esindex.Unreachable(err) {
		s.downUntil.Store(time.Now().Add(downFor).UnixNano())
	}
}

func asRequestError(err error) error {
	var re *search.RequestError
	if errors.As(err, &re) {
		return err
	}
	return &search.RequestError{Err: err}
}

func (s *Server) ctx(r *http.Request) (context.Context, context.CancelFunc) {
	t := s.Timeout
	if t == 0 {
		t = 10 * time.Second
	}
	return context.WithTimeout(r.Context(), t)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	searcher, role, ok := s.access(w, r, q)
	if !ok {
		return
	}
	req, err := search.ParseQuery(q)
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	if err := s.unavailable(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := searcher.Search(ctx, scoped(req, role))
	s.reply(w, r, res, err)
}

func (s *Server) facet(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	text := q.Get("facet_q")
	if utf8.RuneCountInString(text) > maxFacetText {
		s.fail(w, r, &search.RequestError{Err: fmt.Errorf("facet_q is longer than %d characters", maxFacetText)})
		return
	}
	q.Del("facet_q")
	searcher, role, ok := s.access(w, r, q)
	if !ok {
		return
	}
	req, err := search.ParseQuery(q)
	if err != nil {
		s.fail(w, r, &search.RequestError{Err: err})
		return
	}
	if err := s.unavailable(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := searcher.Facet(ctx, scoped(req, role), r.PathValue("name"), text)
	s.reply(w, r, map[string]any{"facet": r.PathValue("name"), "buckets": res}, err)
}

func (s *Server) suggest(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	searcher, _, ok := s.access(w, r, q)
	if !ok {
		return
	}
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
	if err := s.unavailable(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := searcher.Suggest(ctx, q.Get("prefix"), size)
	s.reply(w, r, map[string]any{"prefix": q.Get("prefix"), "keywords": res}, err)
}

// scopeOnly reads the parameters of the item endpoints: the scope (and
// for related items, primary and size); nothing else.
func scopeOnly(q url.Values, allowed ...string) (search.Request, error) {
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

// itemRequest reads an item endpoint's parameters within the caller's
// access.
func (s *Server) itemRequest(w http.ResponseWriter, r *http.Request, allowed ...string) (*search.Searcher, search.Request, bool) {
	q, err := query(r)
	if err != nil {
		s.fail(w, r, err)
		return nil, search.Request{}, false
	}
	searcher, role, ok := s.access(w, r, q)
	if !ok {
		return nil, search.Request{}, false
	}
	req, err := scopeOnly(q, allowed...)
	if err != nil {
		s.fail(w, r, asRequestError(err))
		return nil, search.Request{}, false
	}
	return searcher, scoped(req, role), true
}

func (s *Server) item(w http.ResponseWriter, r *http.Request) {
	searcher, req, ok := s.itemRequest(w, r, "scope")
	if !ok {
		return
	}
	if err := s.unavailable(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := searcher.Item(ctx, r.PathValue("id"), req.Scope)
	s.reply(w, r, res, err)
}

func (s *Server) related(w http.ResponseWriter, r *http.Request) {
	searcher, req, ok := s.itemRequest(w, r, "scope", "primary", "size")
	if !ok {
		return
	}
	if r.URL.Query().Get("size") == "" {
		req.Size = 6
	}
	if err := s.unavailable(); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	res, err := searcher.Related(ctx, r.PathValue("id"), req)
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

// health answers that the process serves (a liveness probe: it asks
// nothing of what the process depends on).
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// ready answers whether the search index answers, and every other
// dependency (S3, Temporal) the server was given; a 503 names the ones
// that do not.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	checks := append([]telemetry.Check{{Name: "elasticsearch " + s.Search.Index, Probe: func(ctx context.Context) error {
		err := s.unavailable()
		if err == nil {
			_, err = s.Search.Search(ctx, search.Request{Size: 1})
			s.noteReach(err)
		}
		return err
	}}}, s.Ready...)
	results := telemetry.Probe(r.Context(), checks)
	out := map[string]any{"status": "ready", "checks": results}
	status := http.StatusOK
	for name, result := range results {
		if result != "ok" {
			s.log().Warn("readiness check failed", "check", name, "err", result)
			out["status"], status = "unavailable", http.StatusServiceUnavailable
		}
	}
	WriteJSON(w, status, out)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, v any, err error) {
	s.noteReach(err)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	WriteJSON(w, http.StatusOK, v)
}

// fail answers an error: 400 for a request to change, 404 for an item
// not there, 504 when Elasticsearch took too long, 502 otherwise (the
// index failed; the reason is logged, not shown).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var re *search.RequestError
	switch {
	case errors.As(err, &re):
		WriteJSON(w, http.StatusBadRequest, map[string]string{"error": re.Error()})
	case errors.As(err, new(errForbidden)):
		WriteJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
	case errors.Is(err, search.ErrNotFound):
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no such item"})
	case errors.Is(err, errDown) || esindex.Unreachable(err):
		s.log().Error("search index unreachable", "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(downFor.Seconds())))
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": errDown.Error()})
	case errors.Is(err, context.DeadlineExceeded):
		s.log().Error("search timed out", "path", r.URL.Path, "err", err)
		WriteJSON(w, http.StatusGatewayTimeout, map[string]string{"error": "the search took too long"})
	default:
		s.log().Error("search failed", "path", r.URL.Path, "query", r.URL.RawQuery, "err", err)
		WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "the search index failed to answer"})
	}
}

// oai answers OAI-PMH requests (GET or a form POST), to anyone: what it
// serves is what teachers may see, metadata only.
func (s *Server) oai(w http.ResponseWriter, r *http.Request) {
	if s.OAI == nil {
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "this server offers no OAI-PMH"})
		return
	}
	s.OAI.ServeHTTP(w, r)
}

// WriteJSON answers v as JSON with status, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
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
