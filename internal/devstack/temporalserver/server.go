// Package temporalserver is a complete Temporal server (frontend, history,
// matching and worker services) on SQLite, for the local stack. It runs in
// a process of its own (cmd/avo-temporal) so that avo itself, which runs
// on clusters, does not carry the server.
package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
)

// Options configure the server.
type Options struct {
	// DatabaseFile keeps workflows across restarts; empty keeps them in memory.
	DatabaseFile string
	// Port is the frontend gRPC port on 127.0.0.1.
	Port      int
	Namespace string
	// SearchAttributes are registered on the namespace at creation.
	SearchAttributes map[string]enumspb.IndexedValueType
	// LogFile receives the server's own log (warnings and errors).
	LogFile string
}

// Server is a running server.
type Server struct {
	server  temporal.Server
	Address string
}

const clusterName = "active"

// Start starts the server and waits until it accepts clients.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	port := o.Port
	sqlCfg := &config.SQL{PluginName: sqliteplugin.PluginName, ConnectAttributes: map[string]string{}}
	if o.DatabaseFile == "" {
		sqlCfg.ConnectAttributes["mode"] = "memory"
		sqlCfg.ConnectAttributes["cache"] = "shared"
		sqlCfg.DatabaseName = fmt.Sprintf("avo-%d", time.Now().UnixNano())
	} else {
		sqlCfg.ConnectAttributes["mode"] = "rwc"
		sqlCfg.DatabaseName = o.DatabaseFile
		if err := os.MkdirAll(filepath.Dir(o.DatabaseFile), 0o755); err != nil {
			return nil, err
		}
		if _, err := os.Stat(o.DatabaseFile); errors.Is(err, os.ErrNotExist) {
			if err := sqlite.SetupSchema(sqlCfg); err != nil {
				return nil, fmt.Errorf("temporal: create SQLite schema in %s: %w", o.DatabaseFile, err)
			}
		}
	}

	cfg, err := temporalConfig(port, sqlCfg)
	if err != nil {
		return nil, err
	}
	ns, err := sqlite.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return nil, fmt.Errorf("temporal: namespace %s: %w", o.Namespace, err)
	}
	if err := sqlite.CreateNamespaces(sqlCfg, ns); err != nil {
		return nil, fmt.Errorf("temporal: create namespace %s: %w", o.Namespace, err)
	}

	var logger log.Logger = log.NewNoopLogger()
	if o.LogFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.LogFile), 0o755); err != nil {
			return nil, err
		}
		logger = log.NewZapLogger(log.BuildZapLogger(log.Config{Level: "warn", OutputFile: o.LogFile, Format: "json"}))
	}
	authorizer, err := authorization.GetAuthorizerFromConfig(&cfg.Global.Authorization)
	if err != nil {
		return nil, err
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&cfg.Global.Authorization, logger)
	if err != nil {
		return nil, err
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(cfg),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithLogger(logger),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dynamicconfig.StaticClient{
			// New search attributes are visible at once, not after a cache refresh.
			dynamicconfig.ForceSearchAttributesCacheRefreshOnRead.Key(): []dynamicconfig.ConstrainedValue{{Value: true}},
			// One partition per task queue: with several, a lone worker's
			// long-poll can wait on an empty one while tasks sit in another.
			dynamicconfig.MatchingNumTaskqueueReadPartitions.Key():  []dynamicconfig.ConstrainedValue{{Value: 1}},
			dynamicconfig.MatchingNumTaskqueueWritePartitions.Key(): []dynamicconfig.ConstrainedValue{{Value: 1}},
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("temporal: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("temporal: start: %w", err)
	}
	ts := &Server{server: srv, Address: fmt.Sprintf("127.0.0.1:%d", port)}
	if err := Healthy(ctx, ts.Address, o.Namespace, time.Minute); err != nil {
		_ = srv.Stop()
		return nil, err
	}
	return ts, nil
}

// Healthy waits until the frontend at address answers a health check in
// namespace, or timeout passes.
func Healthy(ctx context.Context, address, namespace string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := func() error {
			c, err := client.DialContext(ctx, client.Options{HostPort: address, Namespace: namespace, Logger: quietLogger{}})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		}()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporal on %s not ready after %s: %w", address, timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// Stop shuts the server down.
func (t *Server) Stop() error {
	if t == nil {
		return nil
	}
	return t.server.Stop()
}

func temporalConfig(port int, sqlCfg *config.SQL) (*config.Config, error) {
	svc := func(grpc int) (config.Service, error) {
		membership, err := freePort()
		if err != nil {
			return config.Service{}, err
		}
		if grpc == 0 {
			if grpc, err = freePort(); err != nil {
				return config.Service{}, err
			}
		}
		return config.Service{RPC: config.RPC{GRPCPort: grpc, MembershipPort: membership, BindOnIP: "127.0.0.1"}}, nil
	}
	services := map[string]config.Service{}
	for i, name := range []string{"frontend", "history", "matching", "worker"} {
		grpc := 0
		if i == 0 {
			grpc = port
		}
		s, err := svc(grpc)
		if err != nil {
			return nil, err
		}
		services[name] = s
	}
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	address := fmt.Sprintf("127.0.0.1:%d", port)
	return &config.Config{
		Global: config.Global{
			Membership: config.Membership{MaxJoinDuration: 30 * time.Second, BroadcastAddress: "127.0.0.1"},
			Metrics: &metrics.Config{Prometheus: &metrics.PrometheusConfig{
				ListenAddress: fmt.Sprintf("127.0.0.1:%d", metricsPort), HandlerPath: "/metrics",
			}},
		},
		Persistence: config.Persistence{
			DefaultStore:     sqliteplugin.PluginName,
			VisibilityStore:  sqliteplugin.PluginName,
			NumHistoryShards: 1,
			DataStores:       map[string]config.DataStore{sqliteplugin.PluginName: {SQL: sqlCfg}},
		},
		ClusterMetadata: &cluster.Config{
			EnableGlobalNamespace:    false,
			FailoverVersionIncrement: 10,
			MasterClusterName:        clusterName,
			CurrentClusterName:       clusterName,
			ClusterInformation: map[string]cluster.ClusterInformation{
				clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: address},
			},
		},
		DCRedirectionPolicy: config.DCRedirectionPolicy{Policy: "noop"},
		Services:            services,
		Archival: config.Archival{
			History:    config.HistoryArchival{State: "disabled"},
			Visibility: config.VisibilityArchival{State: "disabled"},
		},
		NamespaceDefaults: config.NamespaceDefaults{Archival: config.ArchivalNamespaceDefaults{
			History:    config.HistoryArchivalNamespaceDefaults{State: "disabled"},
			Visibility: config.VisibilityArchivalNamespaceDefaults{State: "disabled"},
		}},
		PublicClient: config.PublicClient{HostPort: address},
	}, nil
}

// quietLogger keeps the readiness probe's dial attempts out of the output.
type quietLogger struct{}

func (quietLogger) Debug(string, ...interface{}) {}
func (quietLogger) Info(string, ...interface{})  {}
func (quietLogger) Warn(string, ...interface{})  {}
func (quietLogger) Error(string, ...interface{}) {}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
