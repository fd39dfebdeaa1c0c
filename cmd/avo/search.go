package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/pipeline"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

func newSearchCmd(a *app) *cobra.Command {
	var req search.Request
	cmd := &cobra.Command{
		Use:   "search [TEXT...]",
		Short: "Search the catalog (Dutch full text over titles, keywords, series, descriptions)",
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Text = strings.Join(args, " ")
			if err := req.Validate(); err != nil {
				return usageError{err}
			}
			c, err := a.connect(cmd.Context(), pipeline.Need{Elasticsearch: true})
			if err != nil {
				return err
			}
			res, err := search.Run(cmd.Context(), c.Indices.ES, c.Indices.Alias(esindex.Catalog), req)
			if err != nil {
				return err
			}
			return a.emit(res, func(w io.Writer) { printHits(w, req.Text, res) })
		},
	}
	cmd.Flags().IntVar(&req.Size, "size", 10, "results per page (at most 100)")
	cmd.Flags().IntVar(&req.From, "from", 0, "offset of the first result")
	return cmd
}

func printHits(w io.Writer, q string, res *search.Response) {
	fmt.Fprintf(w, "%d results for %q (%d ms)\n", res.Total, q, res.Took)
	for i, h := range res.Hits {
		extra := []string{}
		for _, s := range []string{h.Type, h.Series, h.Provider, h.Issued} {
			if s != "" {
				extra = append(extra, s)
			}
		}
		fmt.Fprintf(w, "%3d. %s  [%s]  %s (from %s)\n", i+1, h.Title, h.ID, strings.Join(extra, ", "), h.Source)
	}
}
