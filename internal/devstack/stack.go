package devstack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
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
	// Temporal also starts an embedded Temporal server, keeping its state
	// in TemporalFile (SQLite) or, when that is empty, in memory.
	Temporal         bool
	TemporalFile     string
	SearchAttributes map[string]enumspb.IndexedValueType
	Namespace        string
	// Detached servers outlive this process (avo dev up); attached ones
	// are stopped by Stop and killed by the kernel if this process dies.
	Detached bool
	Fresh    bool
	Logger   *slog.Logger
	// S3Binary is the versitygw executable; empty searches the usual places.
	S3Binary string
}

// Stack is the running local stack.
type Stack struct {
	Elasticsearch *Process
	S3            *Process
	Temporal      *TemporalServer
	// S3Endpoint and ElasticsearchURL are where clients connect.
	S3Endpoint       string
	ElasticsearchURL string
}

// Died answers, once, when Elasticsearch or versitygw ended although
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
			for _, p := range []*Process{s.Elasticsearch, s.S3} {
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
	s := &Stack{}
	var wg sync.WaitGroup
	var esErr, s3Err error
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
	if err := errors.Join(esErr, s3Err); err != nil {
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
	for _, p := range []*Process{s.S3, s.Elasticsearch} {
		if p != nil && p.Attached() {
			if err := p.Stop(60 * time.Second); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
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
	)
}
