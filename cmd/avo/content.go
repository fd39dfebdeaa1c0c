package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/content"
)

func newContentCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "content",
		Short: "Teachers' collections, bundles and assignments: list, show, repair, act for a teacher",
		Long: `Teachers make collections, bundles and assignments through the API (avo
serve, /api/content); S3 keeps each one with every change in an
append-only log, and a public one is a document of the education index.

These commands are the operators' side: list and show any piece, read its
log, and act where a teacher cannot (hand over a piece whose owner left,
take one down, share it), each change logged as the operator's (--by).
Changes are made on the version read; when someone saved in between the
command fails with exit code 4 and nothing is overwritten (--if-match pins
a version read earlier). sync writes the search documents again from S3.`,
		Example: `  avo content list --public
  avo content list --problems
  avo content show col-4kx9w2m1qz0a
  avo content history col-4kx9w2m1qz0a
  avo content share col-4kx9w2m1qz0a cas@school.example OWNER
  avo content edit col-4kx9w2m1qz0a --private
  avo content sync`,
	}
	cmd.AddCommand(newContentListCmd(a), newContentShowCmd(a), newContentHistoryCmd(a), newContentCreateCmd(a),
		newContentEditCmd(a), newContentShareCmd(a), newContentUnshareCmd(a), newContentDeleteCmd(a), newContentSyncCmd(a))
	return cmd
}

// operator is the caller an operator's command acts as.
func operator(by string) content.Caller { return content.Caller{ID: by, Operator: true} }

func newContentListCmd(a *app) *cobra.Command {
	var public, problems bool
	var owner string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the pieces (--public, --owner, --problems: only those with blocks that cannot be shown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				d := c.content()
				all, err := d.List(cmd.Context())
				if err != nil {
					return err
				}
				rows := []content.Summary{}
				for _, p := range all {
					if public && !p.Public || owner != "" && p.Owner.ID != owner && !strings.EqualFold(p.Owner.Email, owner) {
						continue
					}
					s := content.Summary{ID: p.ID, Kind: p.Kind, Title: p.Title, Owner: p.Owner, Public: p.Public,
						Contributors: len(p.Shares), Revision: p.Revision, UpdatedAt: p.UpdatedAt}
					if problems {
						if s.Problems, err = d.Problems(cmd.Context(), p, operator("")); err != nil {
							return err
						}
						if len(s.Problems) == 0 {
							continue
						}
					}
					rows = append(rows, s)
				}
				return a.emit(rows, func(w io.Writer) {
					tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tKIND\tPUBLIC\tSHARED\tOWNER\tTITLE")
					for _, r := range rows {
						fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%s\t%s\n", r.ID, r.Kind, r.Public, r.Contributors, r.Owner.Name, r.Title)
						for _, p := range r.Problems {
							fmt.Fprintf(tw, "\tblock %d\t\t\t%s\t%s\n", p.Block, p.Target, p.Why)
						}
					}
					tw.Flush()
				})
			})
		},
	}
	cmd.Flags().BoolVar(&public, "public", false, "only public pieces (those in the search)")
	cmd.Flags().StringVar(&owner, "owner", "", "only pieces of this owner (user id or e-mail address)")
	cmd.Flags().BoolVar(&problems, "problems", false, "only pieces with blocks that cannot be shown, and why")
	return cmd
}

func newContentShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a piece, its version, who shares it, and each block as teachers see it",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				v, err := c.content().Show(cmd.Context(), args[0], operator(""))
				if err != nil {
					return err
				}
				return a.emit(v, func(w io.Writer) {
					p := v.Piece
					fmt.Fprintf(w, "%s  %s %q\nowner %s (%s), public %v, revision %d, version %s\n", p.ID, p.Kind, p.Title, p.Owner.Name, p.Owner.ID, p.Public, p.Revision, v.Version)
					if p.CopyOf != "" {
						fmt.Fprintf(w, "copy of %s\n", p.CopyOf)
					}
					for _, s := range p.Shares {
						fmt.Fprintf(w, "  %-11s %-8s %s\n", s.Right, s.Status, s.Email)
					}
					fmt.Fprintf(w, "%d blocks, %d items shown, %d unavailable, %ds\n", len(v.Blocks), v.ItemCount, v.Unavailable, v.DurationSeconds)
					for i, b := range v.Blocks {
						what := b.ExternalID + b.Ref
						if b.Type == content.TextBlock {
							what = fmt.Sprintf("%.40q", b.Text)
						}
						state := ""
						if !b.Available {
							state = "  unavailable: " + b.Why
						}
						fmt.Fprintf(w, "  %2d %-10s %s%s\n", i+1, b.Type, what, state)
					}
				})
			})
		},
	}
}

func newContentHistoryCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "history ID",
		Short: "Show every change of a piece: who, when, what, versions before and after",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				h, err := c.content().History(cmd.Context(), args[0], operator(""))
				if err != nil {
					return err
				}
				return a.emitHistory(h)
			})
		},
	}
}

func newContentCreateCmd(a *app) *cobra.Command {
	var file, ownerID, ownerName, ownerEmail string
	cmd := &cobra.Command{
		Use:     "create --file PIECE.json --owner USER",
		Short:   "Create a private piece for a teacher from a JSON file (the API's body)",
		Example: `  avo content create --owner 3d5b55fe --owner-name "Leen Leerkracht" --owner-email leen@school.example --file collectie.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var p content.Piece
			if err := readJSONFile(file, &p); err != nil {
				return err
			}
			if ownerID == "" {
				return usagef("--owner: the teacher's user id (the piece is theirs)")
			}
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				piece, ver, err := c.content().Create(cmd.Context(), p, content.Caller{ID: ownerID, Name: ownerName, Email: ownerEmail})
				return a.emitPiece(piece, ver, err)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "the piece as JSON: kind, title, blocks, education, ...")
	f.StringVar(&ownerID, "owner", "", "the owner's user id")
	f.StringVar(&ownerName, "owner-name", "", "the owner's name")
	f.StringVar(&ownerEmail, "owner-email", "", "the owner's e-mail address")
	return cmd
}

func newContentEditCmd(a *app) *cobra.Command {
	var file, ifMatch, by string
	var public, private bool
	cmd := &cobra.Command{
		Use:   "edit ID [--file EDIT.json] [--public|--private]",
		Short: "Change a piece: fields of a JSON file (the API's PATCH body), or make it public or private",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var e content.Edit
			if file != "" {
				if err := readJSONFile(file, &e); err != nil {
					return err
				}
			}
			if public && private {
				return usagef("--public or --private, not both")
			}
			if public || private {
				e.Public = &public
			}
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				piece, ver, err := c.content().Edit(cmd.Context(), args[0], ifMatch, e, operator(by))
				return a.emitPiece(piece, ver, err)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&file, "file", "", "the change as JSON")
	f.BoolVar(&public, "public", false, "make it public (in the search)")
	f.BoolVar(&private, "private", false, "make it private (out of the search)")
	f.StringVar(&ifMatch, "if-match", "", "change only this version of the piece")
	f.StringVar(&by, "by", os.Getenv("USER"), "operator making the change")
	return cmd
}

func newContentShareCmd(a *app) *cobra.Command {
	var ifMatch, by string
	cmd := &cobra.Command{
		Use:   "share ID EMAIL VIEWER|CONTRIBUTOR|OWNER",
		Short: "Invite an address, change a contributor's right, or hand the piece over (OWNER)",
		Args:  exactArgs(3, "ID EMAIL RIGHT"),
		RunE: func(cmd *cobra.Command, args []string) error {
			r := content.ShareRequest{Email: args[1], Right: content.Right(strings.ToUpper(args[2]))}
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				piece, ver, err := c.content().Share(cmd.Context(), args[0], ifMatch, r, operator(by))
				return a.emitPiece(piece, ver, err)
			})
		},
	}
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "change only this version of the piece")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "operator making the change")
	return cmd
}

func newContentUnshareCmd(a *app) *cobra.Command {
	var ifMatch, by string
	cmd := &cobra.Command{
		Use:   "unshare ID EMAIL",
		Short: "Take a contributor's right or an invitation away",
		Args:  exactArgs(2, "ID EMAIL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				piece, ver, err := c.content().Unshare(cmd.Context(), args[0], ifMatch, args[1], operator(by))
				return a.emitPiece(piece, ver, err)
			})
		},
	}
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "change only this version of the piece")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "operator making the change")
	return cmd
}

func newContentDeleteCmd(a *app) *cobra.Command {
	var ifMatch, by string
	cmd := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete a piece (its log stays)",
		Args:  exactArgs(1, "ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				if err := c.content().Delete(cmd.Context(), args[0], ifMatch, operator(by)); err != nil {
					return err
				}
				return a.emit(map[string]string{"deleted": args[0]}, func(w io.Writer) { fmt.Fprintf(w, "%s: deleted\n", args[0]) })
			})
		},
	}
	cmd.Flags().StringVar(&ifMatch, "if-match", "", "delete only this version of the piece")
	cmd.Flags().StringVar(&by, "by", os.Getenv("USER"), "operator deleting it")
	return cmd
}

func newContentSyncCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "sync [ID]...",
		Short: "Write the search documents of pieces (all when none named) again from S3",
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.with(cmd.Context(), need{s3: true, elasticsearch: true}, func(c *clients) error {
				n, err := c.content().Sync(cmd.Context(), args)
				if err != nil {
					return err
				}
				return a.emit(map[string]int{"synced": n}, func(w io.Writer) { fmt.Fprintf(w, "%d pieces synced\n", n) })
			})
		},
	}
}

func (a *app) emitPiece(p *content.Piece, version string, err error) error {
	if err != nil && p == nil {
		return err
	}
	out := struct {
		Piece   *content.Piece `json:"piece"`
		Version string         `json:"version"`
	}{p, version}
	if werr := a.emit(out, func(w io.Writer) {
		fmt.Fprintf(w, "%s: %s %q, owner %s, public %v, revision %d, version %s, updated %s\n",
			p.ID, p.Kind, p.Title, p.Owner.Name, p.Public, p.Revision, version, p.UpdatedAt.Format(time.RFC3339))
	}); werr != nil {
		return werr
	}
	return err
}

// readJSONFile decodes a JSON file strictly (unknown fields are refused).
func readJSONFile(path string, out any) error {
	if path == "" {
		return usagef("--file: a JSON file")
	}
	f, err := os.Open(path)
	if err != nil {
		return usageError{err}
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return usagef("%s: %v", path, err)
	}
	return nil
}
