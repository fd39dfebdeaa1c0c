package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/api"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

func newServeCmd(a *app) *cobra.Command {
	var index string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the search API (JSON over HTTP) and a search page",
		Long: `Serve answers the search API on the education index (what teachers may
see; --index catalog serves everything, for editors), at --listen:

  GET /api/search?q=&type=&level=&degree=&subject=&theme=&series=&provider=
      &language=&keyword=&broadcast_from=&broadcast_until=&sort=&order=
      &from=&size=&scope=teacher|pupil&primary=
  GET /api/facets/{filter}?facet_q=TEXT&...      one facet, values containing TEXT
  GET /api/suggest?prefix=fie                     keyword suggestions
  GET /api/items/{id}?scope=                      one item
  GET /api/items/{id}/related?scope=&size=        items like it
  GET /api/filters                                what a request may hold
  GET /healthz                                    200 when the index answers
  GET /                                           a page to try the API

A filter is repeated for several values (any of them; keywords: all).
Unknown parameters, filters, sorts and scopes are a 400 with a message.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !esindex.ValidKind(index) {
				return usagef("--index %q: want catalog or education", index)
			}
			return a.with(cmd.Context(), need{elasticsearch: true}, func(c *clients) error {
				s, err := search.NewSearcher(c.Indices.ES, c.Indices.Alias(index))
				if err != nil {
					return err
				}
				return a.serve(cmd.Context(), &api.Server{Search: s, Logger: a.log, Origins: a.cfg.Serve.Origins})
			})
		},
	}
	cmd.Flags().StringVar(&index, "index", esindex.Education, "index to serve: education or catalog")
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
