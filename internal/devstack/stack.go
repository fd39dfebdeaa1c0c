package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
)

// StackOptions configure the local stack.
type StackOptions struct {
	CacheDir string
	// Name separates stacks: "dev" for avo dev, something unique for tests.
	Name string
	// Ports; 0 picks free ones.
	ElasticsearchPort, S3Port, TemporalPort int
	// Temporal also starts a Temporal server (avo-temporal), keeping its state
	// in TemporalFile (SQLite) or, when that is empty, in memory.
	Temporal     bool
	TemporalFile string
	// TemporalUI serves the Temporal Web UI on TemporalUIPort (0: a free one).
	TemporalUI       bool
	TemporalUIPort   int
	SearchAttributes map[string]enumspb.IndexedValueType
	Namespace        string
	// Detached servers outlive this process (avo dev up); attached ones
	// are stopped by Stop and killed by the kernel if this process dies.
	Detached bool
	Fresh    bool
	// Discard removes the S3 objects and Elasticsearch data when the stack
	// stops: a benchmark leaves millions of objects behind otherwise.
	Discard bool
	Logger  *slog.Logger
	// S3Binary is the versitygw executable; empty searches the usual places.
	S3Binary string
	// IdentityProvider also starts Keycloak with the avo realm, on
	// KeycloakPort (0 picks a free one).
	IdentityProvider bool
	KeycloakPort     int
}

// Stack is the running local stack.
type Stack struct {
	Elasticsearch *Process
	S3            *Process
	Temporal      *TemporalServer
	Keycloak      *Keycloak
	// S3Endpoint and ElasticsearchURL are where clients connect.
	S3Endpoint       string
	ElasticsearchURL string

	lock *os.File
	// data is removed when the stack stops (StackOptions.Discard).
	data []string
}

// lockStack keeps a second avo from starting a stack of the same name in
// the same cache folder while this one runs: it would wipe or share the
// first one's data. The kernel releases the lock when the process ends.
func lockStack(cacheDir, name string) (*os.File, error) {
	path := filepath.Join(cacheDir, "run", name+".lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		return nil, fmt.Errorf("the local stack %q is in use by another avo (pid %s); give this one another name (--name)", name, strings.TrimSpace(string(holder)))
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// Died answers, once, when Elasticsearch, versitygw or Temporal ended although
// nobody stopped them, naming which and how its log ends; it checks every
// interval until ctx ends.
func (s *Stack) Died(ctx context.Context, interval time.Duration) <-chan error {
	out := make(chan error, 1)
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			procs := []*Process{s.Elasticsearch, s.S3}
			if s.Temporal != nil {
				procs = append(procs, s.Temporal.Process)
			}
			if s.Keycloak != nil {
				procs = append(procs, s.Keycloak.Process)
			}
			for _, p := range procs {
				if p != nil && p.Exited() {
					out <- fmt.Errorf("%s (pid %d) stopped on its own; last lines of %s:\n%s", p.Name, p.PID, p.Log, logTail(p.Log, 15))
					return
				}
			}
		}
	}()
	return out
}

// StartStack starts Elasticsearch and versitygw side by side (and Temporal
// when asked), waiting until each answers. On failure it stops what it
// started and names what went wrong.
func StartStack(ctx context.Context, o StackOptions) (*Stack, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Name == "" {
		o.Name = "dev"
	}
	lock, err := lockStack(o.CacheDir, o.Name)
	if err != nil {
		return nil, err
	}
	s := &Stack{lock: lock}
	if o.Discard {
		s.data = stackData(o.CacheDir, o.Name)
	}
	var wg sync.WaitGroup
	var esErr, s3Err, kcErr error
	if o.IdentityProvider {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Keycloak, kcErr = StartKeycloak(ctx, KeycloakOptions{CacheDir: o.CacheDir, Name: o.Name, Port: o.KeycloakPort, Logger: o.Logger})
		}()
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.Elasticsearch, esErr = StartElasticsearch(ctx, ElasticsearchOptions{
			CacheDir: o.CacheDir, Name: o.Name, Port: o.ElasticsearchPort,
			Detached: o.Detached, Fresh: o.Fresh, Logger: o.Logger,
		})
	}()
	go func() {
		defer wg.Done()
		s.S3, s3Err = StartS3(ctx, S3Options{
			Binary: o.S3Binary, CacheDir: o.CacheDir, Name: o.Name, Port: o.S3Port,
			Detached: o.Detached, Fresh: o.Fresh, Logger: o.Logger,
		})
	}()
	wg.Wait()
	if err := errors.Join(esErr, s3Err, kcErr); err != nil {
		s.Stop()
		return nil, err
	}
	s.ElasticsearchURL, s.S3Endpoint = s.Elasticsearch.URL, s.S3.URL
	if o.Temporal {
		if o.Fresh && o.TemporalFile != "" {
			_ = os.Remove(o.TemporalFile)
		}
		t, err := StartTemporal(ctx, TemporalOptions{
			DatabaseFile: o.TemporalFile, Port: o.TemporalPort, Namespace: o.Namespace,
			SearchAttributes: o.SearchAttributes,
			LogFile:          filepath.Join(o.CacheDir, "temporal", o.Name+".log"),
			UI:               o.TemporalUI, UIPort: o.TemporalUIPort,
		})
		if err != nil {
			s.Stop()
			return nil, err
		}
		s.Temporal = t
	}
	return s, nil
}

// Stop stops the servers this process started (not adopted ones).
func (s *Stack) Stop() error {
	var errs []error
	if s.Temporal != nil {
		if err := s.Temporal.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("temporal: %w", err))
		}
	}
	if s.Keycloak != nil {
		if err := s.Keycloak.Stop(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range []*Process{s.S3, s.Elasticsearch} {
		if p != nil && p.Attached() {
			if err := p.Stop(60 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	// Removed while the stack's lock is held: no other avo starts on it.
	if len(errs) == 0 {
		for _, dir := range s.data {
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, fmt.Errorf("remove the stack's data: %w", err))
			}
		}
	}
	if s.lock != nil {
		_ = s.lock.Close()
	}
	return errors.Join(errs...)
}

// stackData are the folders of a stack's S3 objects and Elasticsearch
// data.
func stackData(cacheDir, name string) []string {
	return []string{filepath.Join(cacheDir, "s3", name), filepath.Join(cacheDir, "elasticsearch", "nodes", name)}
}

// StopDetachedStack stops the servers `avo dev up` left running.
func StopDetachedStack(cacheDir, name string) ([]string, error) {
	var stopped []string
	var errs []error
	for _, svc := range []string{"versitygw-" + name, "elasticsearch-" + name} {
		ok, err := StopDetached(cacheDir, svc)
		if ok {
			stopped = append(stopped, svc)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return stopped, errors.Join(errs...)
}

// CacheDir is where downloads, installations and server data live:
// AVO_CACHE_DIR, else .cache in the avo checkout, else the user cache folder.
func CacheDir() (string, error) {
	if d := os.Getenv("AVO_CACHE_DIR"); d != "" {
		return filepath.Abs(d)
	}
	if root, err := ModuleRoot(); err == nil {
		return filepath.Join(root, ".cache"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "avo"), nil
}

// RemoveData deletes what a stack called name kept in cacheDir (the
// bucket folders, the Elasticsearch node, Temporal's log): a test stack's
// data is of no use once it stopped, and a benchmark's runs to gigabytes.
func RemoveData(cacheDir, name string) error {
	return errors.Join(
		os.RemoveAll(filepath.Join(cacheDir, "s3", name)),
		os.RemoveAll(filepath.Join(cacheDir, "elasticsearch", "nodes", name)),
		os.RemoveAll(filepath.Join(cacheDir, "temporal", name+".log")),
		os.RemoveAll(filepath.Join(cacheDir, "temporal", name+".log.out")),
	)
}
