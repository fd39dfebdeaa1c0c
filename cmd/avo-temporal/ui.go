package main

import (
	"fmt"
	"net"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	"github.com/temporalio/ui-server/v2/server/server_options"
)

// startUI serves the Temporal Web UI for the frontend at address on
// 127.0.0.1:port, so that an operator of the local stack sees every
// harvest, rebuild and publication and finds them by their search
// attributes. It returns once the UI answers, and a function that stops it.
func startUI(address, namespace string, port int) (func(), error) {
	cfg := &uiconfig.Config{
		TemporalGRPCAddress: address,
		Host:                "127.0.0.1",
		Port:                port,
		EnableUI:            true,
		DefaultNamespace:    namespace,
		HideLogs:            true,
		DisableNewsFetch:    true,
		// Plain HTTP on 127.0.0.1: the CSRF cookie is sent without TLS.
		CORS:         uiconfig.CORS{CookieInsecure: true},
		Distribution: "avo-temporal",
	}
	srv := uiserver.NewServer(server_options.WithConfigProvider(cfg))
	done := make(chan error, 1)
	go func() { done <- srv.Start() }()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-done:
			return nil, fmt.Errorf("temporal web UI on %s: %w", addr, err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return srv.Stop, nil
		}
		if time.Now().After(deadline) {
			srv.Stop()
			return nil, fmt.Errorf("temporal web UI on %s did not answer within 30s", addr)
		}
	}
}
