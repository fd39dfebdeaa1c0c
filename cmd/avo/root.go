package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"reflect"
	"strings"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/content"
	"github.com/archiefvooronderwijs/avo/internal/curation"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/refused"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// Exit codes, documented in `avo --help`.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 2
	exitNotFound    = 3
	exitConflict    = 4
	exitInterrupted = 130
)

// app is what every command shares: streams, configuration, logger.
type app struct {
	out, errOut io.Writer
	cfg         config.Config
	cfgFile     string
	log         *slog.Logger
	output      string
	verbose     bool
}

// describe is how a failure reads: one line with the cause, or with
// --verbose the whole chain.
func (a *app) describe(err error) string {
	if a.verbose {
		return err.Error()
	}
	return workflows.Brief(err)
}

// usageError marks mistakes in how a command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{out: stdout, errOut: stderr}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee exitError
	if !errors.As(err, &ee) {
		fmt.Fprintln(stderr, "avo:", a.describe(err))
	}
	return exitCode(ctx, err)
}

func exitCode(ctx context.Context, err error) int {
	var ue usageError
	var ee exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case strings.HasPrefix(err.Error(), "unknown command"):
		return exitFailure // as gh: a mistyped command is not a usage error of a command
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown flag"):
		return exitUsage
	case errors.Is(err, notfound.Err):
		return exitNotFound
	case errors.Is(err, workflows.ErrAlreadyRunning), errors.Is(err, workflows.ErrRebuildRunning), errors.As(err, new(*curation.Conflict)), errors.As(err, new(*content.Conflict)):
		return exitConflict
	case errors.Is(err, refused.Err):
		return exitUsage
	case ctx.Err() != nil:
		return exitInterrupted
	}
	return exitFailure
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "avo",
		Short: "Harvest, map and index partner metadata for the Archive for Education",
		Long: `avo runs the metadata pipeline behind the Archive for Education: Temporal
workflows harvest partner metadata (OAI-PMH, S3 buckets), map it to the
education profile, keep it in S3 and index it into Elasticsearch.

Configuration comes from defaults (the local stack of 'avo dev'), then a
YAML file (--config, AVO_CONFIG or ./avo.yaml), then AVO_* environment
variables, then flags. S3 credentials come from the standard AWS chain.

Exit codes: 0 success, 1 failure, 2 usage or configuration error,
3 not found, 4 already running (or changed by someone else), 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.load(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	config.AddFlags(pf)
	pf.StringVarP(&a.output, "output", "o", "text", "output format: text or json")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "report failures with their whole chain of causes")
	root.AddCommand(
		newHarvestCmd(a),
		newScheduleCmd(a),
		newWorkerCmd(a),
		newSearchCmd(a),
		newServeCmd(a),
		newIndexCmd(a),
		newPublishCmd(a),
		newDepublishCmd(a),
		newItemHistoryCmd(a),
		newSetsCmd(a),
		newContentCmd(a),
		newQuarantineCmd(a),
		newSetupCmd(a),
		newSourcesCmd(a),
		newConfigCmd(a),
		newDevCmd(a),
		newDemoCmd(a),
	)
	unknownSubcommands(root)
	return root
}

// unknownSubcommands makes a command group refuse a word it does not know
// (`avo harvest strat`) with "unknown command" and exit 1, as gh does,
// rather than print its help and succeed.
func unknownSubcommands(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		unknownSubcommands(c)
	}
	if !cmd.HasSubCommands() || cmd.Run != nil || cmd.RunE != nil || cmd == cmd.Root() {
		return
	}
	cmd.Args = cobra.ArbitraryArgs
	cmd.RunE = func(c *cobra.Command, args []string) error {
		if len(args) > 0 {
			return fmt.Errorf("unknown command %q for %q; see '%s --help'", args[0], c.CommandPath(), c.CommandPath())
		}
		return c.Help()
	}
}

// load reads the configuration and sets up logging for the command.
func (a *app) load(cmd *cobra.Command) error {
	if a.output != "text" && a.output != "json" {
		return usagef("--output %q: want text or json", a.output)
	}
	cfg, file, err := config.Load(cmd.Flags(), os.LookupEnv)
	if err != nil {
		return usageError{err}
	}
	a.cfg, a.cfgFile = cfg, file
	a.log = newLogger(a.errOut, cfg.Log)
	slog.SetDefault(a.log)
	return nil
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// json reports whether output goes to a machine.
func (a *app) json() bool { return a.output == "json" }

// emit writes v as JSON, or calls text for people.
// An empty list is [] in JSON, never null: clients iterate it.
func (a *app) emit(v any, text func(w io.Writer)) error {
	if a.json() {
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice && rv.IsNil() {
			v = []any{}
		}
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(a.out)
	return nil
}
