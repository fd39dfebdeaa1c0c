package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/archiefvooronderwijs/avo/activities"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/workflows"
)

func newHarvestCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "harvest",
		Short: "Start, watch, cancel and list harvests",
	}
	cmd.AddCommand(newHarvestStartCmd(a), newHarvestWatchCmd(a), newHarvestStatusCmd(a), newHarvestCancelCmd(a), newHarvestListCmd(a), newHarvestReportCmd(a), newHarvestReplayCmd(a))
	return cmd
}

type harvestStartOptions struct {
	set, from, until      string
	wait, full, allowMass bool
}

func newHarvestStartCmd(a *app) *cobra.Command {
	var o harvestStartOptions
	cmd := &cobra.Command{
		Use:   "start SOURCE",
		Short: "Start a harvest of a source from the sources file",
		Long: `Start a harvest of SOURCE: of --set, or of every configured set in
turn (or the whole repository). By default the harvest is incremental:
it starts where the last completed harvest of the set ended (the
provider's responseDate); a partner bucket is listed and only the
metadata objects that are new or changed since the last completed run
are read, while those that vanished delete their records. --full
harvests everything; for a source that does not report deletions it
then deletes the records it no longer saw. Deleting more than 15% of a
set is refused unless --allow-mass-delete.
The harvest runs on the workers; --wait follows it to the end and exits 1
if it failed. A second harvest of a source and set that is running is
refused (exit 4).`,
		Args: exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.harvestStart(cmd.Context(), args[0], o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.set, "set", "", "harvest only this set")
	f.StringVar(&o.from, "from", "", "harvest records changed from this date or date-time (default: where the last completed harvest ended)")
	f.StringVar(&o.until, "until", "", "harvest records changed until this date or date-time")
	f.BoolVar(&o.full, "full", false, "harvest everything, ignoring the watermark; for sources that do not report deletions, records not seen are deleted")
	f.BoolVar(&o.allowMass, "allow-mass-delete", false, "let a harvest delete more than 15% of a set's records")
	f.BoolVar(&o.wait, "wait", false, "follow the harvest until it ends")
	return cmd
}

func (a *app) loadSource(id string) (sources.Source, error) {
	f, err := a.loadSources()
	if err != nil {
		return sources.Source{}, err
	}
	src, err := f.Get(id)
	if err != nil {
		return sources.Source{}, notfound.Errorf("%v", err)
	}
	return src, nil
}

// check refuses, before anything starts, what makes no sense: dates that
// are none, a window that ends before it begins, --allow-mass-delete
// without --full, a set the source does not have.
func (o harvestStartOptions) check(ctx context.Context, src sources.Source) error {
	var from, until string
	for _, f := range []struct {
		flag, v string
		until   bool
		out     *string
	}{{"--from", o.from, false, &from}, {"--until", o.until, true, &until}} {
		v, err := activities.ToGranularity(f.v, activities.SecondsGranularity, f.until)
		if err != nil {
			return usagef("%s: %v", f.flag, err)
		}
		*f.out = v
	}
	if from != "" && until != "" && from > until {
		return usagef("--from %s is after --until %s: the window would be empty", o.from, o.until)
	}
	if (from != "" || until != "") && o.full {
		return usagef("--full harvests everything: it takes no --from or --until")
	}
	if o.allowMass && !o.full {
		return usagef("--allow-mass-delete only means something with --full (a complete harvest is what may delete)")
	}
	if o.set == "" || src.OAI == nil || len(src.OAI.Sets) == 0 || slices.Contains(src.OAI.Sets, o.set) {
		return nil
	}
	// A set the sources file does not name: the provider must have it.
	client := &oaipmh.Client{BaseURL: src.OAI.URL, HTTP: oaipmh.NewHTTPClient(10*time.Second, 30*time.Second), UserAgent: userAgent()}
	sets, err := client.ListSets(ctx)
	if err != nil {
		return fmt.Errorf("ListSets at %s, to check --set %s: %w", src.OAI.URL, o.set, err)
	}
	var specs []string
	for _, s := range sets {
		if s.Spec == o.set {
			return nil
		}
		specs = append(specs, s.Spec)
	}
	return usagef("--set %s: %s has no such set (it has %s)", o.set, src.OAI.URL, strings.Join(specs, ", "))
}

func (a *app) harvestStart(ctx context.Context, id string, o harvestStartOptions) error {
	src, err := a.loadSource(id)
	if err != nil {
		return err
	}
	if err := o.check(ctx, src); err != nil {
		return err
	}
	return a.with(ctx, need{temporal: true, s3: true}, func(c *clients) error {
		run, err := c.StartHarvest(ctx, src, workflows.HarvestOptions{
			Set: o.set, From: o.from, Until: o.until, Full: o.full, AllowMassDelete: o.allowMass,
		})
		if err != nil {
			return err
		}
		started := map[string]any{"source": src.ID, "sets": run.Sets, "workflow_id": run.GetID(), "run_id": run.GetRunID()}
		if !o.wait {
			return a.emit(started, func(w io.Writer) {
				fmt.Fprintf(w, "started harvest of %s: workflow %s, run %s\n", src.ID, run.GetID(), run.GetRunID())
			})
		}
		if !a.json() {
			fmt.Fprintf(a.out, "started harvest of %s: workflow %s, run %s\n", src.ID, run.GetID(), run.GetRunID())
		}
		return a.followToEnd(ctx, c, run)
	})
}

// followToEnd follows a harvest, shows how it ended and exits accordingly:
// 1 when it failed or Elasticsearch refused documents, 130 when the
// operator stopped following (the harvest goes on).
func (a *app) followToEnd(ctx context.Context, c *clients, run *workflows.HarvestRun) error {
	out := a.follow(ctx, c, run)
	if out.detached {
		fmt.Fprintf(a.errOut, "stopped following; the harvest goes on (avo harvest watch %s)\n", run.Source)
		return exitError{exitInterrupted}
	}
	if err := a.emit([]harvestOutcome{out}, func(w io.Writer) { printOutcomes(w, []harvestOutcome{out}) }); err != nil {
		return err
	}
	switch {
	case out.Status == bucket.StatusCancelled:
		return fmt.Errorf("harvest of %s was cancelled: %s", run.Source, out.Error)
	case out.Error != "":
		return fmt.Errorf("harvest of %s failed: %s", run.Source, out.Error)
	case out.Status == bucket.StatusCompletedWithRejections:
		return fmt.Errorf("harvest of %s went through, but Elasticsearch refused %d documents; they are quarantined (avo quarantine list --source %s --kind index-rejected)",
			run.Source, out.Counts.IndexRejected, run.Source)
	}
	return nil
}

func newHarvestWatchCmd(a *app) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "watch SOURCE",
		Short: "Follow a running harvest to its end (again after Ctrl-C, or from another terminal)",
		Long: `Follow the running harvest of SOURCE (of every set, or of --set) as
'harvest start --wait' does, with its progress, and show how it ended.
Ctrl-C stops following; the harvest goes on. A source with no harvest
running exits 3.`,
		Example: "  avo harvest start vrt\n  avo harvest watch vrt",
		Args:    exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := a.loadSource(args[0])
			if err != nil {
				return err
			}
			err = a.with(cmd.Context(), need{temporal: true, s3: true}, func(c *clients) error {
				run, err := c.RunningHarvest(cmd.Context(), src, set)
				if err != nil {
					return err
				}
				return a.followToEnd(cmd.Context(), c, run)
			})
			var ee exitError
			if err != nil && !errors.As(err, &ee) && cmd.Context().Err() != nil {
				// Interrupted before following began: the harvest goes on all the same.
				fmt.Fprintf(a.errOut, "stopped following; the harvest goes on (avo harvest watch %s)\n", src.ID)
				return exitError{exitInterrupted}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "the set of the harvest")
	return cmd
}

// interrupted reports an error of a call cut short on this side (Ctrl-C),
// which the gRPC status may report before the context does.
func interrupted(err error) bool {
	var canceled *serviceerror.Canceled
	var deadline *serviceerror.DeadlineExceeded
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.As(err, &canceled) || errors.As(err, &deadline) {
		return true
	}
	code := status.Code(errors.Unwrap(err))
	if s, ok := status.FromError(err); ok {
		code = s.Code()
	}
	return code == codes.Canceled || code == codes.DeadlineExceeded
}

// harvestOutcome is the end of one followed harvest.
type harvestOutcome struct {
	Source     string        `json:"source"`
	Set        string        `json:"set,omitempty"`
	WorkflowID string        `json:"workflow_id"`
	Status     string        `json:"status"`
	Counts     bucket.Counts `json:"counts"`
	Seconds    float64       `json:"seconds"`
	ReportKey  string        `json:"report_key,omitempty"`
	Error      string        `json:"error,omitempty"`
	// detached: the operator stopped following; the harvest goes on.
	detached bool
}

// follow waits for a harvest, showing its progress: a redrawn line on a
// terminal, a line every few seconds otherwise (logs, CI).
func (a *app) follow(ctx context.Context, c *clients, run *workflows.HarvestRun) harvestOutcome {
	done := make(chan error, 1)
	var res workflows.HarvestResult
	go func() {
		var err error
		res, err = run.Result(ctx)
		done <- err
	}()
	prog := a.newProgress()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	set := ""
	if len(run.Sets) == 1 {
		set = run.Sets[0]
	}
	for {
		select {
		case err := <-done:
			prog.done()
			out := harvestOutcome{Source: run.Source, Set: set, WorkflowID: run.GetID(), Status: res.Status, Counts: res.Counts, Seconds: res.Seconds, ReportKey: res.ReportKey}
			if err != nil && (ctx.Err() != nil || interrupted(err)) {
				out.detached = true
				return out
			}
			if err != nil {
				out.Status = bucket.StatusFailed
				if temporal.IsCanceledError(err) {
					out.Status = bucket.StatusCancelled
				}
				out.Error = a.describe(err)
				out.Seconds = time.Since(start).Seconds()
				if len(run.Sets) == 1 {
					if st, serr := c.HarvestStatus(context.WithoutCancel(ctx), run.Source, set); serr == nil && st.Report != nil {
						out.Counts = st.Report.Counts
					}
				}
			}
			return out
		case <-tick.C:
			p := a.running(ctx, c, run)
			if p == nil {
				continue
			}
			now := time.Now()
			prog.update(now, "harvest", progressKey(p), progressLine(p, now), measure(p, now))
		}
	}
}

// running returns the progress of the set being harvested now.
func (a *app) running(ctx context.Context, c *clients, run *workflows.HarvestRun) *workflows.HarvestState {
	for _, set := range run.Sets {
		st, err := c.HarvestStatus(ctx, run.Source, set)
		if err == nil && st.Progress != nil {
			return st
		}
	}
	return nil
}

// retryLine says what is being tried again, how often, and when next.
func retryLine(r *workflows.Retry, now time.Time) string {
	next := "trying now"
	if r.NextAttempt != nil && r.NextAttempt.After(now) {
		next = "next try in " + r.NextAttempt.Sub(now).Round(time.Second).String()
	}
	return fmt.Sprintf("retrying %s (attempt %d, %s): %s", r.Activity, r.Attempt, next, r.LastError)
}

func printOutcomes(w io.Writer, outs []harvestOutcome) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSET\tRECORDS\tUNCHANGED\tINDEXED\tDELETED\tQUARANTINED\tSECONDS\tRESULT")
	for _, o := range outs {
		result := "ok"
		switch {
		case o.Error != "":
			result = "FAILED: " + o.Error
		case o.Status == bucket.StatusCompletedWithRejections:
			result = fmt.Sprintf("REFUSED: %d documents refused by Elasticsearch (quarantined)", o.Counts.IndexRejected)
		}
		set := o.Set
		if set == "" {
			set = "-"
		}
		// Deleted counts the records a run removed: deleted at the
		// source, or no longer there (swept).
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.1f\t%s\n", o.Source, set, o.Counts.Records, o.Counts.Unchanged, o.Counts.Indexed,
			o.Counts.Deleted+o.Counts.Swept, o.Counts.Quarantined, o.Seconds, result)
	}
	tw.Flush()
}

func newHarvestStatusCmd(a *app) *cobra.Command {
	var set string
	var watch bool
	cmd := &cobra.Command{
		Use:   "status SOURCE",
		Short: "Show a harvest's progress, or its report once it ended (--watch: follow it to its end)",
		Long: `Show the progress of SOURCE's running harvest, or the report of its last
one. With --watch a running harvest is followed to its end as 'harvest
watch' does: its progress on stderr (a line redrawn on a terminal, a line
every few seconds otherwise, JSON lines with --output json), then how it
ended.`,
		Example: "  avo harvest status vrt\n  avo harvest status vrt --watch -o json",
		Args:    exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{temporal: true, s3: true}, func(c *clients) error {
				if watch {
					if src, err := a.loadSource(args[0]); err == nil {
						run, err := c.RunningHarvest(cmd.Context(), src, set)
						if err == nil {
							return a.followToEnd(cmd.Context(), c, run)
						}
						if !errors.Is(err, notfound.Err) {
							return err
						}
					}
				}
				sets := []string{set}
				if set == "" {
					// A source of several sets: each set's harvest.
					if src, err := a.loadSource(args[0]); err == nil {
						sets = workflows.Sets(src)
					}
				}
				var states []*workflows.HarvestState
				for _, s := range sets {
					st, err := c.HarvestStatus(cmd.Context(), args[0], s)
					if err != nil && len(sets) == 1 {
						return err
					}
					if err == nil {
						states = append(states, st)
					}
				}
				if len(states) == 0 {
					return notfound.Errorf("%s has never been harvested", args[0])
				}
				if len(sets) == 1 {
					return a.emit(states[0], func(w io.Writer) { printState(w, states[0]) })
				}
				return a.emit(states, func(w io.Writer) {
					for i, st := range states {
						if i > 0 {
							fmt.Fprintln(w)
						}
						printState(w, st)
					}
				})
			})
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "the set of the harvest")
	cmd.Flags().BoolVar(&watch, "watch", false, "follow a running harvest to its end")
	return cmd
}

func printState(w io.Writer, st *workflows.HarvestState) {
	if st.RunID != "" {
		fmt.Fprintf(w, "workflow:  %s (run %s)\n", st.WorkflowID, st.RunID)
	} else {
		fmt.Fprintf(w, "workflow:  %s\n", st.WorkflowID)
	}
	if st.Report != nil {
		fmt.Fprintf(w, "harvest:   %s (avo harvest report %s %s)\n", st.Report.HarvestID, st.Report.Source, st.Report.HarvestID)
	}
	fmt.Fprintf(w, "status:    %s\n", st.Status)
	fmt.Fprintf(w, "started:   %s\n", st.StartTime.Local().Format(time.DateTime))
	if st.CloseTime != nil {
		fmt.Fprintf(w, "ended:     %s\n", st.CloseTime.Local().Format(time.DateTime))
	}
	var counts *bucket.Counts
	var quarantine map[string]bucket.KindSummary
	if p := st.Progress; p != nil {
		fmt.Fprintf(w, "page:      %d\n", p.Page)
		if p.Cursor != "" {
			fmt.Fprintf(w, "token:     %s\n", p.Cursor)
		}
		elapsed := time.Since(p.StartedAt).Seconds()
		if elapsed > 0 {
			fmt.Fprintf(w, "rate:      %.1f records/s\n", float64(p.Counts.Records)/elapsed)
		}
		counts, quarantine = &p.Counts, p.Quarantine
	}
	if st.Retry != nil {
		fmt.Fprintf(w, "retry:     %s\n", retryLine(st.Retry, time.Now()))
	}
	if r := st.Report; r != nil {
		fmt.Fprintf(w, "result:    %s in %.1fs\n", r.Status, r.Seconds)
		if r.Error != "" {
			fmt.Fprintf(w, "error:     %s\n", r.Error)
		}
		counts, quarantine = &r.Counts, r.Quarantine
	}
	if counts != nil {
		fmt.Fprintf(w, "records:   %d on %d pages: %d indexed, %d deleted, %d quarantined, %d with warnings\n",
			counts.Records, counts.Pages, counts.Indexed, counts.Deleted, counts.Quarantined, counts.Warnings)
		fmt.Fprintf(w, "           %d visible to teachers (education index), %d refused by Elasticsearch\n", counts.Visible, counts.IndexRejected)
		if counts.Swept+counts.Repaired+counts.Salvaged > 0 {
			fmt.Fprintf(w, "           %d swept (gone from the source), %d characters repaired, %d records salvaged one by one\n",
				counts.Swept, counts.Repaired, counts.Salvaged)
		}
	}
	kinds := make([]string, 0, len(quarantine))
	for k := range quarantine {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		q := quarantine[k]
		fmt.Fprintf(w, "  %s: %d\n", k, q.Count)
		for _, e := range q.Examples {
			fmt.Fprintf(w, "    %s: %s\n", e.Key, e.Reason)
		}
	}
}

func newHarvestCancelCmd(a *app) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "cancel SOURCE",
		Short: "Cancel a running harvest (of every set, or --set): its page under way stops, and its report says cancelled",
		Args:  exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				id, err := c.CancelHarvest(cmd.Context(), args[0], set)
				if err != nil {
					return err
				}
				return a.emit(map[string]string{"workflow_id": id, "requested": "cancel"},
					func(w io.Writer) {
						fmt.Fprintf(w, "cancellation of %s requested\n", id)
					})
			})
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "the set of the harvest")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newHarvestReportCmd(a *app) *cobra.Command {
	var set string
	cmd := &cobra.Command{
		Use:   "report SOURCE [RUN]",
		Short: "Print the report of a harvest run: the newest, or RUN (as avo harvest list names it)",
		Example: `  avo harvest report vrt
  avo harvest report vrt 20261121T075832.121Z --set kunst -o json`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usagef("%s takes SOURCE [RUN]", cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true}, func(c *clients) error {
				var rep *bucket.Report
				var err error
				if len(args) == 2 {
					rep, err = bucket.ReadReport(cmd.Context(), c.Store, args[0], set, args[1])
				} else {
					rep, err = bucket.LatestReport(cmd.Context(), c.Store, args[0], set)
				}
				if err != nil {
					return err
				}
				return a.emit(rep, func(w io.Writer) {
					printState(w, &workflows.HarvestState{WorkflowID: workflows.HarvestWorkflowID(rep.Source, rep.Set), Status: rep.Status,
						StartTime: rep.StartedAt, CloseTime: &rep.FinishedAt, Report: rep})
				})
			})
		},
	}
	cmd.Flags().StringVar(&set, "set", "", "the set of the harvest")
	return cmd
}

func newHarvestListCmd(a *app) *cobra.Command {
	var source string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List harvests, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if limit <= 0 {
				return usagef("--limit must be positive")
			}
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				rows, err := c.ListHarvests(cmd.Context(), source, limit)
				if err != nil {
					return err
				}
				return a.emit(rows, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "SOURCE\tSET\tRUN\tSTARTED\tSECONDS\tRECORDS\tINDEXED\tQUARANTINED\tSTATUS")
					for _, r := range rows {
						set, run := dash(r.Set), dash(r.HarvestID)
						status := r.Status
						if r.Outcome != "" {
							status = r.Outcome // completed_with_rejections says more than completed
						}
						if r.Error != "" {
							status += ": " + r.Error
						}
						records, indexed, quarantined := "-", "-", "-"
						if c := r.Counts; c != nil {
							records, indexed, quarantined = fmt.Sprint(c.Records), fmt.Sprint(c.Indexed), fmt.Sprint(c.Quarantined)
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\n", r.Source, set, run, r.StartTime.Local().Format(time.DateTime),
							r.Seconds, records, indexed, quarantined, status)
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "only harvests of this source")
	cmd.Flags().IntVar(&limit, "limit", 20, "at most this many harvests")
	return cmd
}

// exactArgs is cobra.ExactArgs with a usage error that names the argument.
func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{errors.New(cmd.CommandPath() + " takes " + names)}
		}
		return nil
	}
}

func newHarvestReplayCmd(a *app) *cobra.Command {
	var wait bool
	cmd := &cobra.Command{
		Use:   "replay SOURCE",
		Short: "Map a source's stored records again from their raw form, without asking the partner",
		Long: `Map every stored record of SOURCE again from the raw form its harvest
kept (the OAI-PMH page, the partner object), with today's mappings,
vocabularies and rules: after a mapping change, no request reaches the
partner. Records are stored and indexed as a harvest would; editors'
decisions stay; a record that no longer passes is quarantined and its last
good version kept; a record whose raw form is no longer kept is counted
and left as it is. Refused while a harvest of the source runs (exit 4).`,
		Example: `  avo harvest replay demo-s3 --wait
  avo harvest replay demo-oai --wait --output json`,
		Args: exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := a.loadSource(args[0])
			if err != nil {
				return err
			}
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				run, err := c.StartReplay(cmd.Context(), src)
				if err != nil {
					return err
				}
				if !wait {
					return a.emit(map[string]string{"workflow_id": run.GetID(), "run_id": run.GetRunID()}, func(w io.Writer) {
						fmt.Fprintf(w, "replay of %s started (workflow %s)\n", src.ID, run.GetID())
					})
				}
				var res workflows.RemapResult
				if err := run.Get(cmd.Context(), &res); err != nil {
					return fmt.Errorf("replay of %s: %w", src.ID, err)
				}
				if res.Examples == nil {
					res.Examples = []string{}
				}
				return a.emit(res, func(w io.Writer) {
					c := res.Counts
					fmt.Fprintf(w, "replayed %d records of %s: %d indexed (%d for teachers), %d quarantined, %d not replayable\n",
						c.Records, src.ID, c.Indexed, c.Visible, c.Quarantined, res.Unreplayable)
					for _, e := range res.Examples {
						fmt.Fprintf(w, "  not replayed: %s\n", e)
					}
				})
			})
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the replay to end and show what it did")
	return cmd
}
