package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/curation"
)

func newSetsCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sets",
		Short: "Curated sets: make, review, publish and depublish them",
		Long: `Editors group items into curated sets, kept in S3 with every change in an
append-only log. A set goes from draft to review; a reviewer approves it or
sends it back with a comment; a publication (now or at a date) waits for
the approval and its date, then puts the set and its items, with the
set's education fields, into the education index. Only items whose
licences allow education use can be published.

Every change is made on the version the command read; when another editor
saved in between, the command fails with exit code 4 and nothing is
overwritten (--if-match pins a version read earlier).`,
		Example: `  avo sets create --id set-fietsen --title "Veilig op de fiets" --item dm01fiets01@10-40 --item dm09fiets02
  avo sets review set-fietsen
  avo sets approve set-fietsen --comment "ok"
  avo sets publish set-fietsen --at 2026-09-01
  avo sets history set-fietsen
  avo sets list --problems`,
	}
	cmd.AddCommand(newSetsListCmd(a), newSetsShowCmd(a), newSetsCreateCmd(a), newSetsEditCmd(a), newSetsHistoryCmd(a), newSetsSyncCmd(a))
	for _, s := range setSteps {
		cmd.AddCommand(newSetsStepCmd(a, s))
	}
	return cmd
}

// setsDesk runs f on the curated sets' desk; publications hear of changes
// through Temporal.
func (a *app) setsDesk(ctx context.Context, f func(d *curation.Desk) error) error {
	return a.with(ctx, need{s3: true, elasticsearch: true, temporal: true}, func(c *clients) error {
		return f(c.sets())
	})
}

func newSetsListCmd(a *app) *cobra.Command {
	var problems bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the curated sets (--problems: only those with items teachers cannot see)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				d := c.sets()
				sets, err := d.List(cmd.Context())
				if err != nil {
					return err
				}
				type row struct {
					curation.Set
					Problems []curation.ItemProblem `json:"problems,omitempty"`
				}
				rows := []row{}
				for _, s := range sets {
					r := row{Set: s}
					if problems {
						if r.Problems, err = d.Problems(cmd.Context(), &s); err != nil {
							return err
						}
						if len(r.Problems) == 0 {
							continue
						}
					}
					rows = append(rows, r)
				}
				return a.emit(rows, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tSTATUS\tITEMS\tPUBLISH AT\tTITLE")
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\n", r.ID, r.Status, len(r.Items), when(r.PublishAt), r.Title)
						for _, p := range r.Problems {
							fmt.Fprintf(tw, "\t\t\t%s\t%s\n", p.ExternalID, p.Why)
						}
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().BoolVar(&problems, "problems", false, "only sets with items teachers cannot see, and those items")
	return cmd
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func newSetsShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a set, its version and the items teachers see",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				v, err := c.sets().Show(cmd.Context(), args[0], true)
				if err != nil {
					return err
				}
				return a.emit(v, func(w io.Writer) {
					s := v.Set
					fmt.Fprintf(w, "%s  %s\nstatus %s, revision %d, version %s\n", s.ID, s.Title, s.Status, s.Revision, v.Version)
					if s.PublishAt != nil || s.DepublishAt != nil {
						fmt.Fprintf(w, "window %s to %s\n", when(s.PublishAt), when(s.DepublishAt))
					}
					if s.Review != nil {
						fmt.Fprintf(w, "review: %s by %s: %s\n", s.Review.Verdict, s.Review.By, s.Review.Comment)
					}
					if len(s.Refused) > 0 {
						fmt.Fprintf(w, "publication refused for: %s\n", strings.Join(s.Refused, ", "))
					}
					fmt.Fprintf(w, "%d items, %d visible to teachers:\n", len(s.Items), len(v.Items))
					for _, it := range s.Items {
						fmt.Fprintf(w, "  %s%s\n", it.ExternalID, fragment(it))
					}
				})
			})
		},
	}
}

func fragment(it curation.Item) string {
	if it.Start == nil && it.End == nil {
		return ""
	}
	f := func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	}
	return "@" + f(it.Start) + "-" + f(it.End)
}

// parseItem reads PID or PID@START-END (seconds).
func parseItem(v string) (curation.Item, error) {
	id, frag, ok := strings.Cut(v, "@")
	it := curation.Item{ExternalID: id}
	if !ok {
		return it, nil
	}
	a, b, _ := strings.Cut(frag, "-")
	for _, p := range []struct {
		s   string
		dst **float64
	}{{a, &it.Start}, {b, &it.End}} {
		if p.s == "" {
			continue
		}
		f, err := strconv.ParseFloat(p.s, 64)
		if err != nil {
			return it, usagef("item %s: want PID or PID@START-END in seconds", v)
		}
		*p.dst = &f
	}
	return it, nil
}

func parseItems(vs []string) ([]curation.Item, error) {
	var out []curation.Item
	for _, v := range vs {
		it, err := parseItem(v)
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// readItemsFile reads a JSON array of items (with overrides).
func readItemsFile(path string) (*[]curation.Item, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError{err}
	}
	var items []curation.Item
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, usagef("%s: want a JSON array of items ({\"external_id\": ..., \"start\", \"end\", \"overrides\"}): %v", path, err)
	}
	return &items, nil
}

func newSetsCreateCmd(a *app) *cobra.Command {
	var id, title, description, thumbnail, itemsFile, by string
	var items []string
	cmd := &cobra.Command{
		Use:   "create --title TITLE [--item PID[@START-END]]...",
		Short: "Create a draft set",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s := curation.Set{ID: id, Title: title, Description: description, Thumbnail: thumbnail}
			var err error
			if s.Items, err = parseItems(items); err != nil {
				return err
			}
			if list, err := readItemsFile(itemsFile); err != nil {
				return err
			} else if list != nil {
				s.Items = append(s.Items, *list...)
			}
			return a.setsDesk(cmd.Context(), func(d *curation.Desk) error {
				set, ver, err := d.Create(cmd.Context(), s, by)
				return a.emitSet(set, ver, err)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&id, "id", "", "the set's id (set-...; made up when not given)")
	f.StringVar(&title, "title", "", "title")
	f.StringVar(&description, "description", "", "description")
	f.StringVar(&thumbnail, "thumbnail", "", "thumbnail URL")
	f.StringArrayVar(&items, "item", nil, "an item: PID, or PID@START-END for a fragment (seconds); repeat in order")
	f.StringVar(&itemsFile, "items-file", "", "a JSON array of items with their overrides")
	f.StringVar(&by, "by", os.Getenv("USER"), "editor making the change")
	return cmd
}

func newSetsEditCmd(a *app) *cobra.Command {
	var title, description, thumbnail, itemsFile, move, ifMatch, by string
	var add, remove []string
	cmd := &cobra.Command{
		Use:   "edit ID",
		Short: "Change a set: title, description, items (add, remove, move, or all with their overrides)",
		Example: `  avo sets edit set-fietsen --add dm03klim001 --remove dm09fiets02 --move dm03klim001=0
  avo sets edit set-fietsen --items-file items.json`,
		Args: exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var e curation.Edit
			fl := cmd.Flags()
			for name, dst := range map[string]**string{"title": &e.Title, "description": &e.Description, "thumbnail": &e.Thumbnail} {
				if fl.Changed(name) {
					v, _ := fl.GetString(name)
					*dst = &v
				}
			}
			var err error
			if e.Add, err = parseItems(add); err != nil {
				return err
			}
			e.Remove = remove
			if move != "" {
				id, to, ok := strings.Cut(move, "=")
				n, err := strconv.Atoi(to)
				if !ok || err != nil {
					return usagef("--move %s: want PID=POSITION (0 is the first)", move)
				}
				e.Move = &curation.Move{ExternalID: id, To: n}
			}
			if e.Items, err = readItemsFile(itemsFile); err != nil {
				return err
			}
			return a.setsDesk(cmd.Context(), func(d *curation.Desk) error {
				set, ver, err := d.Edit(cmd.Context(), args[0], ifMatch, e, by)
				return a.emitSet(set, ver, err)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&title, "title", "", "new title")
	f.StringVar(&description, "description", "", "new description")
	f.StringVar(&thumbnail, "thumbnail", "", "new thumbnail URL")
	f.StringArrayVar(&add, "add", nil, "append an item: PID or PID@START-END")
	f.StringArrayVar(&remove, "remove", nil, "take an item out")
	f.StringVar(&move, "move", "", "put an item at a position: PID=POSITION")
	f.StringVar(&itemsFile, "items-file", "", "replace the items with a JSON array of items and their overrides")
	f.StringVar(&ifMatch, "if-match", "", "change only this version of the set (from show or an earlier change)")
	f.StringVar(&by, "by", os.Getenv("USER"), "editor making the change")
	return cmd
}

type setStep struct{ action, short string }

var setSteps = []setStep{
	{curation.ActionReview, "Ask for a review of a draft set"},
	{curation.ActionApprove, "Approve a set under review"},
	{curation.ActionReject, "Send a set under review back to draft, with a comment"},
	{curation.ActionPublish, "Publish a set now or at --at (it waits for the approval), until --until"},
	{curation.ActionWithdraw, "Withdraw a set's planned publication"},
	{curation.ActionDepublish, "Depublish a set now or at --at, with a reason and optionally a replacement"},
}

func newSetsStepCmd(a *app, s setStep) *cobra.Command {
	var comment, at, until, reason, replacedBy, ifMatch, by string
	cmd := &cobra.Command{
		Use:   s.action + " ID",
		Short: s.short,
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st := curation.Step{Action: s.action, Comment: comment, Reason: reason, ReplacedBy: replacedBy}
			var err error
			if st.At, err = parseWhen("--at", at); err != nil {
				return err
			}
			if st.Until, err = parseWhen("--until", until); err != nil {
				return err
			}
			return a.setsDesk(cmd.Context(), func(d *curation.Desk) error {
				set, ver, err := d.Take(cmd.Context(), args[0], ifMatch, st, by)
				return a.emitSet(set, ver, err)
			})
		},
	}
	f := cmd.Flags()
	switch s.action {
	case curation.ActionApprove, curation.ActionReject, curation.ActionReview:
		f.StringVar(&comment, "comment", "", "a comment for the log (a rejection needs one)")
	case curation.ActionPublish:
		f.StringVar(&at, "at", "", "publish at this date or date-time (RFC 3339; default now)")
		f.StringVar(&until, "until", "", "depublish at this date or date-time")
	case curation.ActionDepublish:
		f.StringVar(&at, "at", "", "depublish at this date or date-time (default now)")
		f.StringVar(&reason, "reason", "", "why the set is taken away")
		f.StringVar(&replacedBy, "replaced-by", "", "a set or item that takes its place")
	}
	f.StringVar(&ifMatch, "if-match", "", "change only this version of the set")
	f.StringVar(&by, "by", os.Getenv("USER"), "editor making the change")
	return cmd
}

func (a *app) emitSet(s *curation.Set, version string, err error) error {
	if err != nil {
		return err
	}
	out := struct {
		Set     *curation.Set `json:"set"`
		Version string        `json:"version"`
	}{s, version}
	return a.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s, revision %d, version %s\n", s.ID, s.Status, s.Revision, version)
		if s.PublishAt != nil && s.Status != curation.Published && s.Status != curation.Depublished {
			wait := "its date"
			if s.Status != curation.Approved {
				wait = "its approval and its date"
			}
			fmt.Fprintf(w, "publication at %s waits for %s\n", when(s.PublishAt), wait)
		}
	})
}

func newSetsHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show every change of a set: who, when, what, versions before and after",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				h, err := c.sets().History(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return a.emitHistory(h)
			})
		},
	}
}

func (a *app) emitHistory(h []audit.Entry) error {
	return a.emit(h, func(w io.Writer) {
		for _, e := range h {
			fmt.Fprintf(w, "%3d  %s  %-10s %s", e.Revision, e.At.UTC().Format(time.RFC3339), e.Action, e.By)
			if e.Comment != "" {
				fmt.Fprintf(w, "  %q", e.Comment)
			}
			fmt.Fprintln(w)
			for _, c := range e.Changes {
				fmt.Fprintf(w, "       %s\n", c)
			}
		}
	})
}

func newSetsSyncCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "sync ID",
		Short: "Start or wake a set's publication (after Temporal was unreachable during a change)",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.setsDesk(cmd.Context(), func(d *curation.Desk) error {
				if _, _, err := d.Get(cmd.Context(), args[0]); err != nil {
					return err
				}
				if err := d.Notify(cmd.Context(), args[0]); err != nil {
					return err
				}
				return a.emit(map[string]string{"set": args[0], "publication": "notified"}, func(w io.Writer) {
					fmt.Fprintf(w, "%s: its publication looks at it now\n", args[0])
				})
			})
		},
	}
}

func newItemHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show every editorial change of an item: publish, depublish, and the sets that held it",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true}, func(c *clients) error {
				h, err := c.itemHistory(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return a.emitHistory(h)
			})
		},
	}
}
