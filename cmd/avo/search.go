package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

func newSearchCmd(a *app) *cobra.Command {
	var req search.Request
	var index string
	var facets bool
	values := map[string]*[]string{}
	cmd := &cobra.Command{
		Use:   "search [TEXT...]",
		Short: "Search the catalog or the education index, as the search API does",
		Long: `Search runs the search API's query on an index: Dutch full text over
titles, keywords, series and descriptions, filters (several values of a
filter: any of them; keywords: all of them; several filters: all of
them), sorts and paging. Concept filters (level, degree, subject, theme)
take URIs or labels. --index education shows what teachers find;
--scope pupil what pupils find.`,
		Example: `  avo search fietsen
  avo search --index education --level "secundair onderwijs" --type video klimaat
  avo search --series Karrewiet --sort broadcast --order asc
  avo search --index education --scope pupil --primary dieren`,
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Text = strings.Join(args, " ")
			for name, v := range values {
				if len(*v) > 0 {
					if req.Filters == nil {
						req.Filters = map[string][]string{}
					}
					req.Filters[name] = *v
				}
			}
			if !esindex.ValidKind(index) {
				return usagef("--index %q: want catalog or education", index)
			}
			if err := req.Validate(); err != nil {
				return usageError{err}
			}
			return a.with(cmd.Context(), need{elasticsearch: true}, func(c *clients) error {
				res, err := search.Run(cmd.Context(), c.Indices.ES, c.Indices.Alias(index), req)
				var re *search.RequestError
				if errors.As(err, &re) {
					return usageError{err}
				}
				if err != nil {
					return err
				}
				return a.emit(res, func(w io.Writer) { printHits(w, req, res, facets) })
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&index, "index", esindex.Catalog, "index to search: catalog (everything) or education (what teachers see)")
	f.StringVar(&req.Scope, "scope", search.Teacher, "teacher or pupil (video and audio; type, series, provider and date filters only)")
	f.BoolVar(&req.Primary, "primary", false, "pupil scope: only material for primary education")
	for _, flt := range search.Filters {
		v := new([]string)
		values[flt.Name] = v
		help := "filter on " + flt.Name + " (repeat for any of several values)"
		if flt.All {
			help = "filter on " + flt.Name + " (repeat: all must match)"
		}
		f.StringArrayVar(v, flt.Name, nil, help)
	}
	f.StringVar(&req.BroadcastFrom, "broadcast-from", "", "broadcast on or after this year, month or day")
	f.StringVar(&req.BroadcastUntil, "broadcast-until", "", "broadcast on or before this year, month or day")
	f.StringVar(&req.Sort, "sort", search.Relevance, "relevance, broadcast, created or updated")
	f.StringVar(&req.Order, "order", "", "asc or desc (default desc) for the date sorts")
	f.IntVar(&req.Size, "size", 10, fmt.Sprintf("results per page (at most %d)", search.MaxSize))
	f.IntVar(&req.From, "from", 0, "offset of the first result")
	f.BoolVar(&facets, "facets", false, "show the facet counts too")
	return cmd
}

func printHits(w io.Writer, req search.Request, res *search.Response, facets bool) {
	fmt.Fprintf(w, "%d results for %q (%d ms)\n", res.Total, req.Text, res.Took)
	for i, h := range res.Hits {
		extra := []string{}
		for _, s := range []string{h.Type, h.Series, h.Provider, h.Broadcast} {
			if s != "" {
				extra = append(extra, s)
			}
		}
		fmt.Fprintf(w, "%3d. %s  [%s]  %s (from %s)\n", req.From+i+1, h.Title, h.ID, strings.Join(extra, ", "), h.Source)
		var edu []string
		for _, g := range []struct {
			name   string
			labels []string
		}{{"levels", h.Levels}, {"degrees", h.Degrees}, {"subjects", h.Subjects}, {"themes", h.Themes}} {
			if len(g.labels) > 0 {
				edu = append(edu, g.name+": "+strings.Join(g.labels, ", "))
			}
		}
		if len(edu) > 0 {
			fmt.Fprintf(w, "     %s\n", strings.Join(edu, "; "))
		}
	}
	if !facets {
		return
	}
	for _, f := range search.Filters {
		bs, ok := res.Facets[f.Name]
		if !ok || len(bs) == 0 {
			continue
		}
		parts := make([]string, 0, len(bs))
		for _, b := range bs {
			parts = append(parts, fmt.Sprintf("%s (%d)", b.Label, b.Count))
		}
		fmt.Fprintf(w, "%s: %s\n", f.Name, strings.Join(parts, ", "))
	}
}
