// Package devstack runs the real servers avo needs on one machine: an
// Elasticsearch node built from Maven Central artifacts, a versitygw S3
// gateway over a local folder and a Temporal server with SQLite
// (avo-temporal).
// It is what `avo dev`, `avo demo` and `make test` stand on; production
// points avo at clusters instead and never uses this package.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process is a server process started (or adopted) by devstack.
type Process struct {
	Name string `json:"name"`
	PID  int    `json:"pid"`
	// URL is where the server answers, http://127.0.0.1:PORT.
	URL string `json:"url"`
	// Log is the file that holds the server's own output.
	Log string `json:"log"`
	// Marker is a string that appears in the process's command line; it is
	// checked before a signal is sent, so a recycled pid is never killed.
	Marker string `json:"marker"`

	cmd  *exec.Cmd
	done chan struct{}
}

// Attached reports whether this invocation started the process (and so
// should stop it) rather than found it running.
func (p *Process) Attached() bool { return p.cmd != nil }

// startOptions describe a child process.
type startOptions struct {
	name   string
	path   string
	args   []string
	env    []string
	dir    string
	log    string
	marker string
	// detached processes outlive this one (avo dev up); attached ones are
	// killed by the kernel if this process dies.
	detached bool
	cred     *syscall.Credential
}

func start(o startOptions) (*Process, error) {
	if err := os.MkdirAll(filepath.Dir(o.log), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(o.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: open log: %w", o.name, err)
	}
	cmd := exec.Command(o.path, o.args...)
	cmd.Dir = o.dir
	cmd.Env = append(os.Environ(), o.env...)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Own process group: a Ctrl-C in the terminal reaches avo, which then
	// shuts the servers down in order, instead of reaching everything at once.
	attr := &syscall.SysProcAttr{Setpgid: true, Credential: o.cred}
	if !o.detached {
		attr.Pdeathsig = syscall.SIGKILL
	}
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", o.name, err)
	}
	p := &Process{Name: o.name, PID: cmd.Process.Pid, Log: o.log, Marker: o.marker, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Exited reports whether an attached process has ended.
func (p *Process) Exited() bool {
	if p.done == nil {
		return !alive(p.PID, p.Marker)
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process by pid: SIGTERM, then SIGKILL after the grace
// period. It is safe to call on a process that has already exited.
func (p *Process) Stop(grace time.Duration) error {
	if p == nil || p.Exited() {
		return nil
	}
	if !alive(p.PID, p.Marker) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	if p.waitExit(grace) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	if p.waitExit(10 * time.Second) {
		return fmt.Errorf("%s (pid %d) did not stop within %s and was killed", p.Name, p.PID, grace)
	}
	return fmt.Errorf("%s (pid %d) could not be stopped", p.Name, p.PID)
}

func (p *Process) waitExit(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return p.Exited()
}

// alive reports whether pid runs a process whose command line holds marker.
func alive(pid int, marker string) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return false
	}
	if st, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); err == nil {
		// A zombie has exited; it only waits to be reaped.
		if f := strings.Fields(string(st)); len(f) > 2 && f[2] == "Z" {
			return false
		}
	}
	return marker == "" || strings.Contains(string(b), marker)
}

// logTail returns the last lines of a log file, for error messages.
func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return lastLines(b, lines)
}

// stateFile is where a detached process is recorded for later invocations.
func stateFile(dir, name string) string { return filepath.Join(dir, name+".json") }

func saveState(dir string, p *Process) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(p, "", "  ")
	return os.WriteFile(stateFile(dir, p.Name), b, 0o644)
}

// loadState returns the recorded process if it still runs.
func loadState(dir, name string) (*Process, bool) {
	b, err := os.ReadFile(stateFile(dir, name))
	if err != nil {
		return nil, false
	}
	var p Process
	if json.Unmarshal(b, &p) != nil || !alive(p.PID, p.Marker) {
		_ = os.Remove(stateFile(dir, name))
		return nil, false
	}
	return &p, true
}

func removeState(dir, name string) { _ = os.Remove(stateFile(dir, name)) }

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ErrPortInUse is returned when a fixed port is taken by another process.
var ErrPortInUse = errors.New("port in use")

// checkPort returns ErrPortInUse (with the port and its purpose) when port
// cannot be bound on 127.0.0.1.
func checkPort(port int, purpose string) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return fmt.Errorf("%s: 127.0.0.1:%d: %w (choose another with the port flag or stop what holds it)", purpose, port, ErrPortInUse)
	}
	return l.Close()
}

// pickPort returns port, or a free one when port is 0, checking it is free.
func pickPort(port int, purpose string) (int, error) {
	if port == 0 {
		return FreePort()
	}
	return port, checkPort(port, purpose)
}

// waitFor polls ready until it returns nil, the process exits, or the
// timeout passes; the error names what was being waited for.
func waitFor(ctx context.Context, p *Process, timeout time.Duration, what string, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
		last = ready(rctx)
		rcancel()
		if last == nil {
			return nil
		}
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited before it was ready; last lines of %s:\n%s", what, p.Log, logTail(p.Log, 25))
		}
		select {
		case <-ctx.Done():
			msg := fmt.Sprintf("%s not ready after %s: %v", what, timeout, last)
			if p != nil {
				msg += fmt.Sprintf("; last lines of %s:\n%s", p.Log, logTail(p.Log, 25))
			}
			return errors.New(msg)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// adopt returns the process a detached start recorded under name, when it
// still runs and answers; an error when it runs but does not answer; and
// neither when there is nothing to adopt.
func adopt(ctx context.Context, runDir, name string, healthy func(context.Context, string) error, log *slog.Logger) (*Process, error) {
	p, ok := loadState(runDir, name)
	if !ok {
		return nil, nil
	}
	if healthy(ctx, p.URL) != nil {
		return nil, fmt.Errorf("%s (pid %d) runs but does not answer on %s; stop it with `avo dev down`", name, p.PID, p.URL)
	}
	log.Info("already running", "server", name, "url", p.URL, "pid", p.PID)
	return p, nil
}

// ready waits until a started process answers, stopping it when it does not,
// and records a detached one for later invocations.
func ready(ctx context.Context, p *Process, runDir string, detached bool, timeout time.Duration, healthy func(context.Context, string) error) (*Process, error) {
	err := waitFor(ctx, p, timeout, p.Name+" on "+p.URL, func(ctx context.Context) error { return healthy(ctx, p.URL) })
	if err != nil {
		_ = p.Stop(30 * time.Second)
		return nil, err
	}
	if detached {
		if err := saveState(runDir, p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// httpOK succeeds when a GET of url answers 200.
func httpOK(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", url, resp.StatusCode)
	}
	return nil
}
