package devstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// TemporalOptions configure the local Temporal server.
type TemporalOptions struct {
	// Binary is the avo-temporal executable; empty searches next to the
	// running binary, the module's bin/ and PATH.
	Binary string
	// DatabaseFile keeps workflows across restarts; empty keeps them in memory.
	DatabaseFile string
	// Port is the frontend gRPC port; 0 picks a free one.
	Port      int
	Namespace string
	// SearchAttributes are registered on the namespace at creation.
	SearchAttributes map[string]enumspb.IndexedValueType
	// LogFile receives the server's own log (warnings and errors) and its
	// output.
	LogFile string
	// UI serves the Temporal Web UI on UIPort (0 picks a free one).
	UI     bool
	UIPort int
}

// TemporalServer is the local Temporal server (frontend, history, matching
// and worker services on SQLite), an avo-temporal process this one started.
type TemporalServer struct {
	*Process
	Address string
	// UIURL is the Temporal Web UI's address, when it was asked for.
	UIURL string
}

// StartTemporal starts avo-temporal and waits until it accepts clients.
// The server binds ports of its own choosing besides the frontend's; when
// another process takes one first, the server ends at once, and it is
// started again on others (at most three times).
func StartTemporal(ctx context.Context, o TemporalOptions) (*TemporalServer, error) {
	var err error
	for range 3 {
		var t *TemporalServer
		var exited bool
		if t, exited, err = startTemporalOnce(ctx, o); err == nil || !exited || o.Port != 0 {
			return t, err
		}
	}
	return nil, err
}

// startTemporalOnce starts avo-temporal once; exited says it ended before
// it was ready.
func startTemporalOnce(ctx context.Context, o TemporalOptions) (*TemporalServer, bool, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	bin, err := findTool("avo-temporal", o.Binary, "run `make build`")
	if err != nil {
		return nil, false, err
	}
	port, err := pickPort(o.Port, "temporal frontend")
	if err != nil {
		return nil, false, err
	}
	if o.LogFile == "" {
		d, err := os.MkdirTemp("", "avo-temporal-")
		if err != nil {
			return nil, false, err
		}
		o.LogFile = filepath.Join(d, "temporal.log")
	}
	args := []string{"--port", fmt.Sprint(port), "--namespace", o.Namespace, "--db", o.DatabaseFile}
	uiURL := ""
	if o.UI {
		uiPort, err := pickPort(o.UIPort, "temporal web UI")
		if err != nil {
			return nil, false, err
		}
		args = append(args, "--ui-port", fmt.Sprint(uiPort))
		uiURL = fmt.Sprintf("http://127.0.0.1:%d", uiPort)
	}
	names := make([]string, 0, len(o.SearchAttributes))
	for name := range o.SearchAttributes {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		args = append(args, "--search-attribute", name+"="+shorthand(o.SearchAttributes[name]))
	}
	// The server writes its own log to LogFile; the process's output goes
	// beside it, so that a failure to start can be read.
	p, err := start(startOptions{
		name:   "avo-temporal",
		path:   bin,
		args:   append(args, "--log", o.LogFile),
		log:    o.LogFile + ".out",
		marker: "avo-temporal",
	})
	if err != nil {
		return nil, false, err
	}
	t := &TemporalServer{Process: p, Address: fmt.Sprintf("127.0.0.1:%d", port), UIURL: uiURL}
	p.URL = "grpc://" + t.Address
	err = waitFor(ctx, p, 2*time.Minute, "temporal on "+t.Address, func(ctx context.Context) error {
		c, err := client.DialContext(ctx, client.Options{HostPort: t.Address, Namespace: o.Namespace, Logger: quietLogger{}})
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err = c.CheckHealth(ctx, &client.CheckHealthRequest{}); err != nil || uiURL == "" {
			return err
		}
		// The UI starts after the server: it is ready when it answers.
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, uiURL+"/healthz", nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("temporal web UI: %s", res.Status)
		}
		return nil
	})
	if err != nil {
		exited := p.Exited()
		_ = p.Stop(10 * time.Second)
		// Temporal reports a fatal start-up error in its own log.
		return nil, exited, fmt.Errorf("%w\nlast lines of %s:\n%s", err, o.LogFile, logTail(o.LogFile, 15))
	}
	return t, false, nil
}

// shorthand is the name avo-temporal's --search-attribute takes (Keyword).
func shorthand(t enumspb.IndexedValueType) string {
	for name, v := range enumspb.IndexedValueType_shorthandValue {
		if v == int32(t) {
			return name
		}
	}
	return t.String()
}

// Stop shuts the server down and waits for it to end.
func (t *TemporalServer) Stop() error {
	if t == nil {
		return nil
	}
	return t.Process.Stop(30 * time.Second)
}

// findTool looks for an executable where `make build` and `make tools` put
// them: next to the running binary, the module's bin/, then PATH.
func findTool(name, explicit, install string) (string, error) {
	if explicit != "" {
		if _, err := os.Stat(explicit); err != nil {
			return "", fmt.Errorf("%s not found at %s", name, explicit)
		}
		return explicit, nil
	}
	var candidates []string
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Join(filepath.Dir(exe), name))
	}
	if root, err := ModuleRoot(); err == nil {
		candidates = append(candidates, filepath.Join(root, "bin", name))
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			return c, nil
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return "", errors.New(name + " not found: " + install)
}

// quietLogger keeps the readiness probe's dial attempts out of the output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}
