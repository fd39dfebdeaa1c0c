package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/telemetry"
	"github.com/archiefvooronderwijs/avo/workflows"
)

func newServeCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the search API (JSON over HTTP) and a search page",
		Long: `Serve answers the search API at --listen on the education index, and on
the catalog (everything, published or not) for editors:

  GET /api/search?q=&type=&level=&degree=&subject=&theme=&series=&provider=
      &language=&keyword=&broadcast_from=&broadcast_until=&sort=&order=
      &from=&size=&scope=teacher|pupil&primary=&index=education|catalog
  GET /api/facets/{filter}?facet_q=TEXT&...      one facet, values containing TEXT
  GET /api/suggest?prefix=fie                     keyword suggestions
  GET /api/items/{id}?scope=                      one item
  GET /api/items/{id}/related?scope=&size=        items like it
  GET /api/items/{id}/play?start=&end=            a short-lived URL of its browse copy
                                                  (signed-in teachers and pupils only)
  GET /api/filters                                what a request may hold
  GET /api/me                                     who the server takes you for
  GET /api/signon                                 where the page signs people in
  POST /api/items/{id}/publish    {"at":, "until":}   an editor publishes (as themselves)
  POST /api/items/{id}/depublish  {"reason":}         an editor takes an item away
  GET /api/openapi.json                           the OpenAPI 3 document of the API
  GET /api/ops/harvests?source=&limit=            operators: harvests, newest first
  GET /api/ops/harvests/{source}?set=             a harvest's progress or report
  POST /api/ops/harvests/{source}?set=&full=&from=&until=   start (202)
  POST /api/ops/harvests/{source}/cancel?set=     cancel (404 when none runs)
  GET /api/ops/quarantine?source=                 quarantined records
  GET /api/ops/quarantine/{key}                   one, whole
  GET /api/ops/indices                            aliases, indices, counts, rebuilds
  POST /api/ops/indices/{kind}/rebuild            rebuild from S3 and swap (202)
  GET /items/{id}, /embed/{id}?start=&end=        a record's page, and its player for iframes
  GET /oembed?url=&maxwidth=&maxheight=&format=   oEmbed 1.0 of a record page
  GET, POST /oai                                  OAI-PMH 2.0 for partner platforms
  GET /healthz                                    200 when the index answers
  GET /                                           a page to try the API

A caller signs in with "Authorization: Bearer TOKEN": a JWT of an issuer
under serve.auth.issuers in the config file (checked by discovery and the
issuer's keys) or a static token (serve.auth.static_tokens, local use).
Pupils get the pupil scope whatever they ask; teachers the education
index; editors also index=catalog. Without a token a caller gets what
serve.anonymous says (pupil, teacher or none). A refused token is a 401
whose WWW-Authenticate header gives the reason; a role that may not do
something is a 403.

Limits (serve.limits in the config file): a signed-in user may make 10
requests a second, 30 at once; an anonymous client address 50 and 100
(a school's pupils share one); over that, 429 with Retry-After. Request
bodies are at most 64 KiB; q at most 1000 bytes and facet_q 50
characters, both taken as text (never as query syntax or patterns).

A filter is repeated for several values (any of them; keywords: all).
Unknown parameters, filters, sorts and scopes are a 400 with a message.`,
		Example: `  avo serve --listen 127.0.0.1:8080
  curl -H "Authorization: Bearer $TOKEN" 'http://127.0.0.1:8080/api/search?q=fiets'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			authn, err := auth.New(a.cfg.Serve.Auth)
			if err != nil {
				return usagef("%v", err)
			}
			if ttl := a.cfg.Serve.PlayTTLSeconds; ttl < 0 || ttl > 7*24*3600 {
				return usagef("serve.play_ttl_seconds %d: want 1 to 604800 (a week, the most S3 allows), or 0 for ten minutes", ttl)
			}
			stopTracing, err := telemetry.StartTracing(cmd.Context(), "avo-serve")
			if err != nil {
				return err
			}
			defer func() { _ = stopTracing(context.WithoutCancel(cmd.Context())) }()
			return a.with(cmd.Context(), need{elasticsearch: true, s3: true}, func(c *clients) error {
				educ, err := search.NewSearcher(c.Indices.ES, c.Indices.Alias(esindex.Education))
				if err != nil {
					return err
				}
				cat, err := search.NewSearcher(c.Indices.ES, c.Indices.Alias(esindex.Catalog))
				if err != nil {
					return err
				}
				if !authn.Enabled() {
					a.log.Warn("no identity provider or static token configured: every caller is anonymous", "anonymous", a.cfg.Serve.Anonymous)
				}
				var signOn *api.SignOn
				if is := a.cfg.Serve.Auth.Issuers; len(is) > 0 {
					signOn = &api.SignOn{Issuer: is[0].URL, ClientID: cmp.Or(is[0].PageClient, is[0].Audience)}
				}
				ops := a.operatorAPI(cmd.Context(), c)
				m, err := telemetry.Start()
				if err != nil {
					return err
				}
				return a.serve(cmd.Context(), &api.Server{Search: educ, Catalog: cat, Auth: authn, SignOn: signOn, Editorial: c.desk(), Operator: ops,
					Sets: c.sets(), Content: c.content(), Browse: c.browseCopies(), PlayTTL: time.Duration(a.cfg.Serve.PlayTTLSeconds) * time.Second, OAI: c.oaiProvider(a.publicURL()), PublicURL: a.cfg.Serve.PublicURL, ItemHistory: c.itemHistory, Metrics: m.Handler(), Ready: c.checks(),
					Anonymous: a.cfg.Serve.Anonymous, Logger: a.log, Origins: a.cfg.Serve.Origins,
					Limits: api.Limits(a.cfg.Serve.Limits)})
			})
		},
	}
	return cmd
}

// serve runs the API until the context ends, then lets requests in
// flight finish.
func (a *app) serve(ctx context.Context, s *api.Server) error {
	ln, err := net.Listen("tcp", a.cfg.Serve.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Serve.Listen, err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	a.log.Info("search API listening", "url", "http://"+ln.Addr().String()+"/", "index", s.Search.Index)
	fmt.Fprintf(a.errOut, "search page: http://%s/\n", ln.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// operatorAPI connects to Temporal for the operator API. Search does not
// need Temporal: when it cannot be reached the API serves without the
// operator routes (404), and says so.
func (a *app) operatorAPI(ctx context.Context, c *clients) http.Handler {
	// The search API does not wait long for Temporal.
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tc, err := workflows.Dial(dctx, a.cfg.Temporal, a.log)
	if err != nil {
		a.log.Warn("serving without the operator API: Temporal cannot be reached", "address", a.cfg.Temporal.Address, "err", err)
		return nil
	}
	c.Client = workflows.NewClient(tc, a.cfg)
	c.Reports = func(ctx context.Context, source, set string) (*bucket.Report, error) {
		return bucket.LatestReport(ctx, c.Store, source, set)
	}
	return a.opsHandler(c)
}

// publicURL is where partners reach avo serve: serve.public_url, else
// its listen address.
func (a *app) publicURL() string {
	if u := strings.TrimRight(a.cfg.Serve.PublicURL, "/"); u != "" {
		return u
	}
	return "http://" + a.cfg.Serve.Listen
}
