package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.temporal.io/sdk/worker"

	"github.com/archiefvooronderwijs/avo/internal/auth"
	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/demo"
	"github.com/archiefvooronderwijs/avo/internal/devstack"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// localOptions shape the local stack of `avo dev` and `avo demo`.
type localOptions struct {
	name                                           string
	esPort, s3Port, temporalPort, oaiPort, idpPort int
	persistTemporal, fresh                         bool
	// ui serves the Temporal Web UI on uiPort.
	ui     bool
	uiPort int
}

// local is the whole pipeline running on this machine: the servers, the
// sample sources, and a worker.
type local struct {
	cache    string
	stack    *devstack.Stack
	cfg      config.Config
	clients  *clients
	provider *demo.Provider
	partner  *s3store.Store // the sample partner bucket
	sources  *sources.File
	worker   worker.Worker
}

func (a *app) startLocal(ctx context.Context, o localOptions) (l *local, err error) {
	cache, err := devstack.CacheDir()
	if err != nil {
		return nil, err
	}
	l = &local{cache: cache}
	defer func() {
		if err != nil {
			l.stop()
		}
	}()
	temporalFile := ""
	if o.persistTemporal {
		temporalFile = filepath.Join(cache, "temporal", o.name+".db")
	}
	l.stack, err = devstack.StartStack(ctx, devstack.StackOptions{
		CacheDir: cache, Name: o.name, Fresh: o.fresh, Logger: a.log,
		ElasticsearchPort: o.esPort, S3Port: o.s3Port, TemporalPort: o.temporalPort,
		Temporal: true, TemporalFile: temporalFile, TemporalUI: o.ui, TemporalUIPort: o.uiPort,
		IdentityProvider: true, KeycloakPort: o.idpPort,
		Namespace: a.cfg.Temporal.Namespace, SearchAttributes: workflows.SearchAttributes,
	})
	if err != nil {
		return l, err
	}
	l.cfg = a.cfg
	l.cfg.Temporal = config.Temporal{Address: l.stack.Temporal.Address, Namespace: a.cfg.Temporal.Namespace, TaskQueue: a.cfg.Temporal.TaskQueue}
	l.cfg.S3.Endpoint, l.cfg.S3.Region, l.cfg.S3.PathStyle, l.cfg.S3.Profile = l.stack.S3Endpoint, devstack.S3Region, true, ""
	l.cfg.Sources = filepath.Join(cache, o.name, "sources.yaml")
	// avo serve trusts the local realm's tokens, and static tokens (one
	// per role, new every start) for scripts.
	l.cfg.Serve.Auth = auth.Config{
		Issuers: []auth.Issuer{{URL: l.stack.Keycloak.Issuer, Audience: devstack.ClientID, RolesClaim: "roles"}},
	}
	for _, role := range auth.Roles {
		var b [18]byte
		if _, err := rand.Read(b[:]); err != nil {
			return l, err
		}
		l.cfg.Serve.Auth.Static = append(l.cfg.Serve.Auth.Static, auth.StaticToken{
			Token: role + "-" + base64.RawURLEncoding.EncodeToString(b[:]), User: "local-" + role, Name: "local " + role, Roles: []string{role}})
	}
	l.cfg.Elasticsearch = config.Elasticsearch{URLs: []string{l.stack.ElasticsearchURL}, IndexPrefix: a.cfg.Elasticsearch.IndexPrefix, KeepIndices: a.cfg.Elasticsearch.KeepIndices}
	// The local gateway's account, found by the standard credential chain
	// like any other.
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": devstack.S3AccessKey, "AWS_SECRET_ACCESS_KEY": devstack.S3SecretKey, "AWS_SESSION_TOKEN": "",
	} {
		if err := os.Setenv(k, v); err != nil {
			return l, err
		}
	}
	if l.clients, err = connect(ctx, l.cfg, a.log, allClients); err != nil {
		return l, err
	}
	if err = l.clients.setup(ctx); err != nil {
		return l, err
	}
	if l.provider, err = demo.Serve(o.oaiPort); err != nil {
		return l, err
	}
	partner := l.cfg.S3
	partner.Bucket = demo.PartnerBucket
	store, err := s3store.New(ctx, partner)
	if err != nil {
		return l, err
	}
	if _, err = demo.SeedBucket(ctx, store); err != nil {
		return l, err
	}
	l.partner = store
	if l.sources, err = demo.Sources(l.provider.URL, mappings.Known); err != nil {
		return l, err
	}
	// The worker reads the sources file when a schedule fires.
	if err = writeSources(l.cfg.Sources, l.provider.URL); err != nil {
		return l, err
	}
	l.worker = l.clients.newWorker(worker.Options{})
	if err = l.worker.Start(); err != nil {
		return l, fmt.Errorf("start worker: %w", err)
	}
	return l, nil
}

// stop ends everything startLocal started, in reverse order.
func (l *local) stop() error {
	var errs []error
	if l.worker != nil {
		l.worker.Stop()
	}
	if l.clients != nil {
		l.clients.Close()
	}
	if l.provider != nil {
		errs = append(errs, l.provider.Close())
	}
	if l.stack != nil {
		errs = append(errs, l.stack.Stop())
	}
	return errors.Join(errs...)
}

// writeSources writes the sample sources file, pointing at the provider.
func writeSources(path, providerURL string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	src := strings.ReplaceAll(string(demo.SourcesYAML()), "${"+demo.OAIURLVariable+"}", providerURL)
	return os.WriteFile(path, []byte(src), 0o644)
}
