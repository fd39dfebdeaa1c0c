package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Show the configuration in effect"}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print every setting with its value (secrets masked), variable and flag",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type row struct {
				Key   string `json:"key"`
				Value string `json:"value"`
				Env   string `json:"env"`
				Flag  string `json:"flag,omitempty"`
			}
			var rows []row
			for _, s := range a.cfg.Settings() {
				v := s.Value()
				if s.Secret() && v != "" {
					v = "********"
				}
				flag := ""
				if s.Flag != "" {
					flag = "--" + s.Flag
				}
				rows = append(rows, row{Key: s.Key, Value: v, Env: s.Env, Flag: flag})
			}
			file := a.cfgFile
			if file == "" {
				file = "(none)"
			}
			return a.emit(map[string]any{"file": a.cfgFile, "settings": rows}, func(w io.Writer) {
				fmt.Fprintf(w, "config file: %s\n", file)
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "KEY\tVALUE\tENV\tFLAG")
				for _, r := range rows {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Key, r.Value, r.Env, r.Flag)
				}
				tw.Flush()
			})
		},
	})
	return cmd
}
