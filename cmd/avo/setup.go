package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
)

func newSetupCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "setup",
		Short: "Prepare Temporal, S3 and Elasticsearch for avo (safe to repeat)",
		Long: `Register avo's Temporal search attributes, create the S3 bucket when
missing, and install the Elasticsearch index templates and indices behind
their aliases. Running it again changes nothing that is already in place.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), allClients, func(c *clients) error {
				if err := c.setup(cmd.Context()); err != nil {
					return err
				}
				done := map[string]any{
					"temporal_namespace": a.cfg.Temporal.Namespace,
					"s3_bucket":          a.cfg.S3.Bucket,
					"aliases":            []string{c.Indices.Alias(esindex.Catalog)},
				}
				return a.emit(done, func(w io.Writer) {
					fmt.Fprintf(w, "temporal: search attributes registered in namespace %s\n", a.cfg.Temporal.Namespace)
					fmt.Fprintf(w, "s3:       bucket %s ready\n", a.cfg.S3.Bucket)
					fmt.Fprintf(w, "elasticsearch: alias %s ready\n", c.Indices.Alias(esindex.Catalog))
				})
			})
		},
	}
}
