package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/sources"
)

func newSourcesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "sources", Short: "Show the sources file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the sources of the sources file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := sources.Load(a.cfg.Sources)
			if err != nil {
				return usageError{err}
			}
			return a.emit(f.Sources, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tMAPPING\tWHERE\tNAME")
				for _, s := range f.Sources {
					where := ""
					switch {
					case s.OAI != nil:
						where = s.OAI.URL + " (" + s.OAI.MetadataPrefix
						if len(s.OAI.Sets) > 0 {
							where += ", sets " + strings.Join(s.OAI.Sets, ",")
						}
						where += ")"
					case s.S3 != nil:
						where = "s3://" + s.S3.Bucket + "/" + s.S3.Prefix
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Kind, s.Mapping, where, s.Name)
				}
				tw.Flush()
			})
		},
	})
	return cmd
}
