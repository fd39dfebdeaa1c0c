package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/workflows"
)

func newScheduleCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedule",
		Short: "Recurring incremental harvests (Temporal Schedules)",
		Long: `Recurring harvests are Temporal Schedules, one per source, named
harvest:SOURCE. Each run harvests the source's sets in turn, incrementally
from where the last completed harvest ended. A run never overlaps the one
before (it is skipped while that one is busy), and after an outage at most
the runs of the last interval are made up.`,
	}
	var o workflows.ScheduleOptions
	create := &cobra.Command{
		Use:   "create SOURCE --every DURATION",
		Short: "Create or replace the schedule of a source (it takes the source's settings as they are now)",
		Args:  exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case !cmd.Flags().Changed("every"):
				return usagef("--every is required (like 6h)")
			case o.Every < time.Minute:
				return usagef("--every %s: a harvest schedule runs at most every minute", o.Every)
			}
			src, err := a.loadSource(args[0])
			if err != nil {
				return err
			}
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				if err := c.SetSchedule(cmd.Context(), src, o); err != nil {
					return err
				}
				info, err := c.Schedule(cmd.Context(), src.ID)
				if err != nil {
					return err
				}
				return a.emit(info, func(w io.Writer) { printSchedules(w, []workflows.ScheduleInfo{*info}) })
			})
		},
	}
	create.Flags().DurationVar(&o.Every, "every", 0, "interval between harvests, like 6h")
	create.Flags().BoolVar(&o.Paused, "paused", false, "create it paused")
	create.Flags().StringVar(&o.Note, "note", "", "a note for other operators")

	list := &cobra.Command{
		Use:   "list",
		Short: "List harvest schedules",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				all, err := c.Schedules(cmd.Context())
				if err != nil {
					return err
				}
				return a.emit(all, func(w io.Writer) { printSchedules(w, all) })
			})
		},
	}

	var note string
	pause := func(use, short string, paused bool) *cobra.Command {
		c := &cobra.Command{
			Use: use + " SOURCE", Short: short, Args: exactArgs(1, "SOURCE"),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
					if err := c.PauseSchedule(cmd.Context(), args[0], paused, note); err != nil {
						return err
					}
					return a.emit(map[string]any{"schedule": workflows.ScheduleID(args[0]), "paused": paused}, func(w io.Writer) {
						fmt.Fprintf(w, "schedule %s %sd\n", workflows.ScheduleID(args[0]), use)
					})
				})
			},
		}
		c.Flags().StringVar(&note, "note", "", "why (shown in schedule list)")
		return c
	}
	del := &cobra.Command{
		Use: "delete SOURCE", Short: "Delete the schedule of a source (running harvests go on)", Args: exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				if err := c.DeleteSchedule(cmd.Context(), args[0]); err != nil {
					return err
				}
				return a.emit(map[string]any{"schedule": workflows.ScheduleID(args[0]), "deleted": true}, func(w io.Writer) {
					fmt.Fprintf(w, "schedule %s deleted\n", workflows.ScheduleID(args[0]))
				})
			})
		},
	}
	trigger := &cobra.Command{
		Use: "trigger SOURCE", Short: "Run a source's scheduled harvest now", Args: exactArgs(1, "SOURCE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{temporal: true}, func(c *clients) error {
				if err := c.TriggerSchedule(cmd.Context(), args[0]); err != nil {
					return err
				}
				return a.emit(map[string]any{"schedule": workflows.ScheduleID(args[0]), "triggered": true}, func(w io.Writer) {
					fmt.Fprintf(w, "schedule %s triggered\n", workflows.ScheduleID(args[0]))
				})
			})
		},
	}
	cmd.AddCommand(create, list, trigger, pause("pause", "Pause the schedule of a source", true), pause("resume", "Resume a paused schedule", false), del)
	return cmd
}

func printSchedules(w io.Writer, all []workflows.ScheduleInfo) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tEVERY\tSTATE\tNEXT\tLAST\tOVERLAP\tNOTE")
	for _, s := range all {
		state := "active"
		if s.Paused {
			state = "paused"
		}
		next, last := "-", "-"
		if len(s.NextRuns) > 0 && !s.Paused {
			next = s.NextRuns[0].Local().Format(time.DateTime)
		}
		if s.LastRun != nil {
			last = s.LastRun.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Source, s.Every, state, next, last, s.Overlap, s.Note)
	}
	tw.Flush()
}
