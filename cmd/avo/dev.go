package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
)

// Variables through which `avo dev run` hands its servers to a command
// (the integration tests). They are not avo's configuration variables, so
// a test can never touch a cluster named by AVO_ELASTICSEARCH_URLS.
const (
	envTestElasticsearch = "AVO_TEST_ELASTICSEARCH_URL"
	envTestS3            = "AVO_TEST_S3_ENDPOINT"
	envTestIssuer        = "AVO_TEST_ISSUER"
)

func newDevCmd(a *app) *cobra.Command {
	o := localOptions{name: "dev", ui: true}
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run the whole stack locally until interrupted: Elasticsearch, S3, Temporal, a worker, sample sources",
		Long: `Run avo on this machine with real servers and no Docker: Elasticsearch
(downloaded once from Maven Central), versitygw as S3, a Temporal server
(avo-temporal, beside avo; state kept in SQLite under the cache folder), a worker, and the
sample OAI-PMH provider and partner bucket, and the Temporal Web UI. Other avo commands reach it
with their defaults; it prints the settings to use from another shell.
Ctrl-C stops everything it started.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.dev(cmd.Context(), o) },
	}
	f := cmd.Flags()
	f.IntVar(&o.esPort, "es-port", config.LocalElasticsearchPort, "Elasticsearch HTTP port")
	f.IntVar(&o.s3Port, "s3-port", config.LocalS3Port, "S3 (versitygw) port")
	f.IntVar(&o.temporalPort, "temporal-port", config.LocalTemporalPort, "Temporal frontend port")
	f.IntVar(&o.oaiPort, "oai-port", 7080, "port of the sample OAI-PMH provider")
	f.IntVar(&o.idpPort, "idp-port", 8180, "port of the identity provider (Keycloak)")
	f.IntVar(&o.uiPort, "ui-port", 8233, "port of the Temporal Web UI")
	f.BoolVar(&o.fresh, "fresh", false, "start from empty Elasticsearch, S3 and Temporal data")
	cmd.AddCommand(newDevUpCmd(a), newDevDownCmd(a), newDevRunCmd(a))
	return cmd
}

func (a *app) dev(ctx context.Context, o localOptions) error {
	o.persistTemporal = true
	l, err := a.startLocal(ctx, o)
	if err != nil {
		return err
	}
	defer func() {
		if err := l.stop(); err != nil {
			a.log.Error("stopping the local stack", "err", err)
		}
	}()
	dir := filepath.Join(l.cache, "dev")
	cfgPath, err := writeDevFiles(dir, l)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.out, `avo dev is running (Ctrl-C stops it):
  temporal       %s (namespace %s, task queue %s)
  temporal UI    %s (every harvest, rebuild and publication; search AvoSource="demo-oai")
  s3             %s (bucket %s)
  elasticsearch  %s
  sample OAI-PMH %s
  sign-on        %s
                 users leerkracht (teacher), leerling (pupil), redacteur (editor),
                 beheerder (operator); each one's password is the user name
  static tokens  teacher %s (one per role: serve.auth.static_tokens in the config below)

From another shell:
  export AVO_CONFIG=%s AWS_ACCESS_KEY_ID=%s AWS_SECRET_ACCESS_KEY=%s
  avo sources list
  avo harvest start demo-oai --wait
  avo harvest start demo-s3 --wait
  avo search fietsen
  avo serve     (then: curl -H "Authorization: Bearer TOKEN" http://%s/api/me)
`, l.cfg.Temporal.Address, l.cfg.Temporal.Namespace, l.cfg.Temporal.TaskQueue, l.stack.Temporal.UIURL, l.cfg.S3.Endpoint, l.cfg.S3.Bucket,
		l.stack.ElasticsearchURL, l.provider.URL, l.stack.Keycloak.Issuer, l.cfg.Serve.Auth.Static[1].Token,
		cfgPath, devstack.S3AccessKey, devstack.S3SecretKey, l.cfg.Serve.Listen)
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.out, "\nstopping ...")
		return nil
	case err := <-l.stack.Died(ctx, 2*time.Second):
		fmt.Fprintf(a.errOut, "avo dev: %v\n", err)
		return exitError{exitFailure}
	}
}

// writeDevFiles writes a config file that points at the running dev stack
// and its sources file.
func writeDevFiles(dir string, l *local) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b, err := yaml.Marshal(l.cfg)
	if err != nil {
		return "", err
	}
	cfgPath := filepath.Join(dir, "avo.yaml")
	return cfgPath, os.WriteFile(cfgPath, b, 0o644)
}

func newDevUpCmd(a *app) *cobra.Command {
	var name string
	var esPort, s3Port int
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start Elasticsearch and versitygw in the background (idempotent); `avo dev down` stops them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache, err := devstack.CacheDir()
			if err != nil {
				return err
			}
			st, err := devstack.StartStack(cmd.Context(), devstack.StackOptions{
				CacheDir: cache, Name: name, ElasticsearchPort: esPort, S3Port: s3Port, Detached: true, Logger: a.log,
			})
			if err != nil {
				return err
			}
			info := map[string]any{
				"elasticsearch": st.ElasticsearchURL, "elasticsearch_pid": st.Elasticsearch.PID,
				"s3": st.S3Endpoint, "s3_pid": st.S3.PID,
			}
			return a.emit(info, func(w io.Writer) {
				fmt.Fprintf(w, "elasticsearch %s (pid %d)\ns3            %s (pid %d)\n",
					st.ElasticsearchURL, st.Elasticsearch.PID, st.S3Endpoint, st.S3.PID)
			})
		},
	}
	cmd.Flags().StringVar(&name, "name", "dev", "name of the stack (its data folder)")
	cmd.Flags().IntVar(&esPort, "es-port", config.LocalElasticsearchPort, "Elasticsearch HTTP port (0: any free port)")
	cmd.Flags().IntVar(&s3Port, "s3-port", config.LocalS3Port, "S3 port (0: any free port)")
	return cmd
}

func newDevDownCmd(a *app) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop what `avo dev up` started",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cache, err := devstack.CacheDir()
			if err != nil {
				return err
			}
			stopped, err := devstack.StopDetachedStack(cache, name)
			if perr := a.emit(map[string]any{"stopped": stopped}, func(w io.Writer) {
				if len(stopped) == 0 {
					fmt.Fprintln(w, "nothing was running")
				}
				for _, s := range stopped {
					fmt.Fprintf(w, "stopped %s\n", s)
				}
			}); perr != nil {
				return perr
			}
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "dev", "name of the stack")
	return cmd
}

// exitError carries a child command's exit code through avo.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("command exited with status %d", e.code) }

func newDevRunCmd(a *app) *cobra.Command {
	var name string
	var keep bool
	cmd := &cobra.Command{
		Use:   "run -- COMMAND [ARG...]",
		Short: "Start Elasticsearch, versitygw and Keycloak, run COMMAND with their addresses, stop them",
		Long: `Start Elasticsearch, versitygw and Keycloak (the avo realm) on free
ports, run COMMAND with ` + envTestElasticsearch + `, ` + envTestS3 + ` and
` + envTestIssuer + ` set (and the S3 credentials in AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY), then stop the servers, also when COMMAND fails, and remove their data
(--keep leaves it for a look afterwards; the next run of the same name
wipes it). Exits with COMMAND's status. 'make test' runs the test suite
this way.`,
		Example: `  avo dev run -- go test ./...
  avo dev run --name bench --keep -- go test -run '^$' -bench Harvest ./workflows/e2e`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cache, err := devstack.CacheDir()
			if err != nil {
				return err
			}
			st, err := devstack.StartStack(ctx, devstack.StackOptions{CacheDir: cache, Name: name, Fresh: true, Discard: !keep, IdentityProvider: true, Logger: a.log})
			if err != nil {
				return err
			}
			defer func() {
				if err := st.Stop(); err != nil {
					a.log.Error("stopping the local stack", "err", err)
				}
			}()
			child := exec.Command(args[0], args[1:]...)
			child.Stdin, child.Stdout, child.Stderr = os.Stdin, a.out, a.errOut
			child.Env = append(os.Environ(),
				envTestElasticsearch+"="+st.ElasticsearchURL,
				envTestS3+"="+st.S3Endpoint,
				envTestIssuer+"="+st.Keycloak.Issuer,
				"AWS_ACCESS_KEY_ID="+devstack.S3AccessKey,
				"AWS_SECRET_ACCESS_KEY="+devstack.S3SecretKey,
			)
			if err := child.Start(); err != nil {
				return fmt.Errorf("run %s: %w", args[0], err)
			}
			// Pass an interrupt on, then wait: the child decides how to end.
			go func() {
				<-ctx.Done()
				_ = child.Process.Signal(syscall.SIGINT)
			}()
			err = child.Wait()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return exitError{code: ee.ExitCode()}
			}
			return err
		},
	}
	cmd.Flags().StringVar(&name, "name", "test", "name of the stack (its data folder, wiped first)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the servers' data after they stop")
	return cmd
}
