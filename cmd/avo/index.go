package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/workflows"
)

func newIndexCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "index",
		Short: "Show, rebuild and roll back the Elasticsearch indices",
		Long: `avo keeps two kinds of index, each a physical index PREFIX-KIND-TIMESTAMP
behind the alias PREFIX-KIND that every reader and writer uses:

  catalog    every mapped record; editors search it
  education  what teachers may see: published, visible items

A rebuild fills a new physical index from the mapped records in S3 and
moves the alias to it in one step; the previous index stays for rollback.`,
	}
	cmd.AddCommand(newIndexStatusCmd(a), newIndexRebuildCmd(a), newIndexRollbackCmd(a))
	return cmd
}

func kindArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usagef("%s needs one argument: catalog or education", cmd.CommandPath())
	}
	if !esindex.ValidKind(args[0]) {
		return usagef("no index kind %q: want catalog or education", args[0])
	}
	return nil
}

func newIndexStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show aliases, physical indices, document counts and rebuilds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), need{elasticsearch: true}, func(c *clients) error {
				// Rebuild progress lives in Temporal; without it the indices
				// are still shown.
				if tc, err := workflows.Dial(cmd.Context(), a.cfg.Temporal, a.log); err == nil {
					c.Client = workflows.NewClient(tc, a.cfg) // closed by with
				} else {
					a.log.Warn("rebuilds not shown: Temporal unreachable", "err", err)
				}
				st, err := c.indexStatus(cmd.Context())
				if err != nil {
					return err
				}
				return a.emit(st, func(w io.Writer) { printIndexStatus(w, st) })
			})
		},
	}
}

func printIndexStatus(w io.Writer, st []indexState) {
	for _, s := range st {
		cur := s.Current
		if cur == "" {
			cur = "(no index)"
		}
		fmt.Fprintf(w, "%s → %s, %d documents\n", s.Alias, cur, s.Docs)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, p := range s.Indices {
			role := "previous"
			switch {
			case p.Current:
				role = "current"
			case p.Building:
				role = "building"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d docs\t%.1f MB\t%s\n", p.Name, role, p.Docs, float64(p.Bytes)/1e6, p.Health)
		}
		tw.Flush()
		if r := s.Rebuild; r != nil {
			fmt.Fprintf(w, "  last rebuild: %s, started %s", r.Status, r.StartTime.Local().Format(time.DateTime))
			switch {
			case r.Progress != nil:
				fmt.Fprintf(w, ", %d records read into %s", r.Progress.Loaded.Read, r.Progress.Index)
			case r.Result != nil:
				fmt.Fprintf(w, ", %d documents in %s (%.0f s)", r.Result.Docs, r.Result.Index, r.Result.Seconds)
			case r.Failure != "":
				fmt.Fprintf(w, ": %s", r.Failure)
			}
			fmt.Fprintln(w)
		}
	}
}

func newIndexRebuildCmd(a *app) *cobra.Command {
	var tolerance, keep int
	var noWait bool
	cmd := &cobra.Command{
		Use:   "rebuild catalog|education",
		Short: "Rebuild an index from the mapped records in S3 and swap it in",
		Long: `Rebuild fills a new physical index from the mapped records kept in S3
(never from the providers), with refresh off and no replicas. Writes made
meanwhile by harvests and editors reach the new index too. It then loads
again what changed during the rebuild, restores the index settings and
compares the number of documents with what S3 says it must hold: when
they differ by more than --tolerance the alias stays where it was and the
new index is dropped. Otherwise the alias moves in one step; the previous
index is kept for 'avo index rollback', older ones beyond --keep are
deleted. A second rebuild of the same index is refused (exit 4).`,
		Args: kindArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			opts := workflows.RebuildOptions{Tolerance: tolerance}
			if cmd.Flags().Changed("keep") {
				opts.Keep = &keep
			}
			return a.with(ctx, need{temporal: true, elasticsearch: true}, func(c *clients) error {
				run, err := c.StartRebuild(ctx, args[0], opts)
				if err != nil {
					return err
				}
				if noWait {
					return a.emit(map[string]string{"workflow_id": run.GetID(), "run_id": run.GetRunID()}, func(w io.Writer) {
						fmt.Fprintf(w, "started rebuild of %s: workflow %s\n", c.Indices.Alias(args[0]), run.GetID())
					})
				}
				res, err := a.followRebuild(ctx, c, run.GetID(), func() (workflows.RebuildResult, error) {
					var r workflows.RebuildResult
					err := run.Get(ctx, &r)
					return r, err
				})
				if err != nil {
					return fmt.Errorf("rebuild of %s failed: %w", c.Indices.Alias(args[0]), err)
				}
				return a.emit(res, func(w io.Writer) { printRebuild(w, c.Indices.Alias(res.Kind), res) })
			})
		},
	}
	cmd.Flags().IntVar(&tolerance, "tolerance", 0, "documents the new index may differ from S3 by and still be swapped in")
	cmd.Flags().IntVar(&keep, "keep", 0, "previous indices to keep for rollback (default elasticsearch.keep_indices)")
	cmd.Flags().BoolVar(&noWait, "no-wait", false, "start the rebuild and return")
	return cmd
}

func printRebuild(w io.Writer, alias string, res workflows.RebuildResult) {
	fmt.Fprintf(w, "%s → %s: %d documents (S3: %d records, %d expected), %d read again by the catch-up, %d refused, %.1f s\n",
		alias, res.Index, res.Docs, res.Records, res.Expected, res.Reloaded, res.Rejected, res.Seconds)
	if len(res.Previous) > 0 {
		fmt.Fprintf(w, "previous: %s (avo index rollback %s)\n", strings.Join(res.Previous, ", "), res.Kind)
	}
	if len(res.Pruned) > 0 {
		fmt.Fprintf(w, "deleted: %s\n", strings.Join(res.Pruned, ", "))
	}
	if res.PruneError != "" {
		fmt.Fprintf(w, "old indices not deleted: %s\n", res.PruneError)
	}
}

// followRebuild waits for a rebuild, showing its progress.
func (a *app) followRebuild(ctx context.Context, c *clients, id string, wait func() (workflows.RebuildResult, error)) (workflows.RebuildResult, error) {
	type result struct {
		r   workflows.RebuildResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := wait()
		done <- result{r, err}
	}()
	prog := a.newProgress()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			prog.done()
			return r.r, r.err
		case <-tick.C:
			q, err := c.Temporal.QueryWorkflow(ctx, id, "", workflows.StatusQuery)
			if err != nil {
				continue
			}
			var p workflows.RebuildInput
			if q.Get(&p) == nil && p.Index != "" {
				now := time.Now()
				key := fmt.Sprintf("%d %+v", p.Pages, p.Loaded)
				prog.update(now, "rebuild", key, rebuildLine(p, now), p)
			}
		}
	}
}

// rebuildLine is a rebuild under way in one line.
func rebuildLine(p workflows.RebuildInput, now time.Time) string {
	step := "loading"
	if p.Loaded.Done {
		step = "catching up and checking"
	}
	elapsed := now.Sub(p.StartedAt).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.Loaded.Read) / elapsed
	}
	return fmt.Sprintf("rebuild %s: %s, %d pages, %d records read, %d indexed, %d skipped, %d refused, %.0f records/s, %s",
		p.Index, step, p.Pages, p.Loaded.Read, p.Loaded.Indexed, p.Loaded.Skipped, p.Loaded.Rejected, rate, seconds(elapsed))
}

func newIndexRollbackCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "rollback catalog|education",
		Short: "Point the alias back at the previous index, with what changed since replayed onto it",
		Long: `Return the alias to the previous index (the newest older one) without
bringing back what was deleted, depublished or decided since it was left:
the older index first takes live writes again, loads the records and
editorial decisions changed since, and replays the deletions since; only
then does the alias move. The index it leaves stays (roll forward with
'avo index rebuild'). A rebuild under way makes it refuse.`,
		Example: `  avo index rollback education`,
		Args:    kindArg,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{temporal: true, elasticsearch: true}, func(c *clients) error {
				run, err := c.StartRollback(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				var res workflows.RollbackResult
				if err := run.Get(cmd.Context(), &res); err != nil {
					return fmt.Errorf("rollback of %s failed, the alias stays: %w", c.Indices.Alias(args[0]), err)
				}
				return a.emit(res, func(w io.Writer) {
					fmt.Fprintf(w, "%s → %s (was %s); replayed since %s: %d records loaded again, %d deletions, %.1f s\n",
						c.Indices.Alias(args[0]), res.To, res.From, res.Since.Local().Format(time.DateTime), res.Reloaded, res.Deleted, res.Seconds)
				})
			})
		},
	}
}

func newPublishCmd(a *app) *cobra.Command {
	var at, until, by string
	cmd := &cobra.Command{
		Use:   "publish ID",
		Short: "Publish an item to teachers (optionally within a window)",
		Long: `Publish records an editor's decision to publish item ID (its PID) in S3,
where a later harvest never undoes it, and applies it to both indices at
once. Teachers find the item when its licences allow education use, it
is not deleted, and now lies inside --at .. --until. The output says
whether it is visible now, and why not.`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := editorial.Decision{Publish: true, By: by}
			var err error
			if d.At, err = parseWhen("--at", at); err != nil {
				return err
			}
			if d.Until, err = parseWhen("--until", until); err != nil {
				return err
			}
			if d.At != nil && d.Until != nil && !d.At.Before(*d.Until) {
				return usagef("--at %s is not before --until %s: the publish window would be empty", at, until)
			}
			return a.decide(cmd.Context(), args[0], d)
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "publish from this date or date-time (RFC 3339)")
	cmd.Flags().StringVar(&until, "until", "", "depublish at this date or date-time (RFC 3339)")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "editor taking the decision")
	return cmd
}

func newDepublishCmd(a *app) *cobra.Command {
	var reason, by string
	cmd := &cobra.Command{
		Use:   "depublish ID",
		Short: "Take an item away from teachers, with a reason",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reason) == "" {
				return usagef("depublish needs --reason")
			}
			return a.decide(cmd.Context(), args[0], editorial.Decision{Reason: reason, By: by})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the item is taken away (kept with the decision)")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "editor taking the decision")
	return cmd
}

func (a *app) decide(ctx context.Context, id string, d editorial.Decision) error {
	return a.with(ctx, need{s3: true, elasticsearch: true}, func(c *clients) error {
		st, err := c.desk().Decide(ctx, id, d)
		if err != nil {
			return err
		}
		return a.emit(st, func(w io.Writer) {
			if st.Visible {
				fmt.Fprintf(w, "%s: visible to teachers\n", st.ID)
			} else {
				fmt.Fprintf(w, "%s: not visible to teachers: %s\n", st.ID, st.Why)
			}
		})
	})
}

// parseWhen reads an RFC 3339 date-time or a date (midnight UTC).
func parseWhen(flag, v string) (*time.Time, error) {
	t, err := editorial.ParseWhen(v)
	if err != nil {
		return nil, usageError{fmt.Errorf("%s %s: %w", flag, v, err)}
	}
	return t, nil
}
