package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

func newSourcesCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "sources", Short: "Show the sources file"}
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the sources of the sources file",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := a.loadSources()
			if err != nil {
				return err
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
	cmd.AddCommand(&cobra.Command{
		Use:   "validate [SOURCE...]",
		Short: "Check sources before harvesting: the file, the provider (Identify, format, sets) or the bucket",
		Long: `Check the sources file and then each source (or those named): an OAI-PMH
provider must answer Identify, offer the configured metadata format and
have the configured sets; a partner bucket must be listable. Exits 1 when
any source has a problem.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := a.loadSources()
			if err != nil {
				return err
			}
			todo := f.Sources
			if len(args) > 0 {
				todo = nil
				for _, id := range args {
					src, err := f.Get(id)
					if err != nil {
						return notfound.Errorf("%v", err)
					}
					todo = append(todo, src)
				}
			}
			return a.with(cmd.Context(), need{}, func(c *clients) error {
				var checks []sources.Check
				var bad []string
				for _, src := range todo {
					ck := c.validate(cmd.Context(), src)
					checks = append(checks, ck)
					if !ck.OK {
						bad = append(bad, ck.Source)
					}
				}
				if err := a.emit(checks, func(w io.Writer) {
					for _, ck := range checks {
						mark := "ok"
						if !ck.OK {
							mark = "PROBLEM"
						}
						fmt.Fprintf(w, "%s: %s\n", ck.Source, mark)
						for _, f := range ck.Facts {
							fmt.Fprintf(w, "    %s\n", f)
						}
						for _, p := range ck.Problems {
							fmt.Fprintf(w, "  ! %s\n", p)
						}
					}
				}); err != nil {
					return err
				}
				if len(bad) > 0 {
					return fmt.Errorf("sources with problems: %s", strings.Join(bad, ", "))
				}
				return nil
			})
		},
	})
	return cmd
}
