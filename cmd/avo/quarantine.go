package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
)

func newQuarantineCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "quarantine",
		Short: "See the records that could not be used, and why",
		Long: `Records that cannot be read, mapped, validated or indexed are kept in
quarantine (in S3) with their source, raw bytes, raw page and every error;
the run goes on. Kinds: unreadable, unmappable, invalid (with the rules
broken: missing-title, bad-date, unknown-licence, ...), index-rejected.`,
	}
	var f bucket.QuarantineFilter
	list := &cobra.Command{
		Use:   "list",
		Short: "List quarantined records, newest harvests first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), need{s3: true}, func(c *clients) error {
				rows, err := bucket.ListQuarantine(cmd.Context(), c.Store, f)
				if err != nil {
					return err
				}
				return a.emit(rows, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "SOURCE\tIDENTIFIER\tKIND\tREASON\tKEY")
					for _, q := range rows {
						kind := q.Kind
						if len(q.Rules) > 0 {
							kind += " (" + strings.Join(q.Rules, ", ") + ")"
						}
						reason := strings.Join(q.Errors, "; ")
						if len(reason) > 80 {
							reason = reason[:80] + "…"
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", q.Source, q.Identifier, kind, reason, strings.TrimPrefix(q.Key, "quarantine/"))
					}
					tw.Flush()
				})
			})
		},
	}
	list.Flags().StringVar(&f.Source, "source", "", "only this source")
	list.Flags().StringVar(&f.Harvest, "harvest", "", "only this harvest run")
	list.Flags().StringVar(&f.Kind, "kind", "", "only this kind or broken rule")
	list.Flags().IntVar(&f.Limit, "limit", 50, "at most this many")
	show := &cobra.Command{
		Use:   "show KEY",
		Short: "Show one quarantined record: every error and the raw record",
		Args:  exactArgs(1, "KEY"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true}, func(c *clients) error {
				q, err := bucket.ReadQuarantine(cmd.Context(), c.Store, args[0])
				if err != nil {
					return err
				}
				return a.emit(q, func(w io.Writer) {
					fmt.Fprintf(w, "key:        %s\nsource:     %s%s\nharvest:    %s (page %d)\nidentifier: %s\nkind:       %s\n",
						q.Key, q.Source, bucket.SetLabel(q.Set), q.Harvest, q.Page, q.Identifier, q.Kind)
					if len(q.Rules) > 0 {
						fmt.Fprintf(w, "rules:      %s\n", strings.Join(q.Rules, ", "))
					}
					fmt.Fprintln(w, "errors:")
					for _, e := range q.Errors {
						fmt.Fprintf(w, "  - %s\n", e)
					}
					fmt.Fprintf(w, "raw page:   %s\n", q.RawPage)
					if q.Raw != "" {
						fmt.Fprintf(w, "raw record:\n%s\n", q.Raw)
					}
					if q.Document != "" {
						fmt.Fprintf(w, "document refused by Elasticsearch:\n%s\n", q.Document)
					}
				})
			})
		},
	}
	cmd.AddCommand(list, show)
	return cmd
}
