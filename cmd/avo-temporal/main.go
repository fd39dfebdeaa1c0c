// Command avo-temporal runs the local stack's Temporal server (SQLite) until
// it gets SIGTERM or SIGINT. `avo dev`, `avo demo` and `avo dev run` start
// it; it lives apart from avo so that the worker and the API, which run on
// clusters, do not carry a whole Temporal server.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	enumspb "go.temporal.io/api/enums/v1"

	"github.com/archiefvooronderwijs/avo/internal/devstack/temporalserver"
)

// attributes collects repeated --search-attribute NAME=TYPE flags.
type attributes map[string]enumspb.IndexedValueType

func (a attributes) String() string { return fmt.Sprint(map[string]enumspb.IndexedValueType(a)) }

func (a attributes) Set(v string) error {
	name, typ, ok := strings.Cut(v, "=")
	t, known := enumspb.IndexedValueType_shorthandValue[typ]
	if !ok || name == "" || !known {
		return fmt.Errorf("want NAME=TYPE with TYPE one of Keyword, Text, Int, Double, Bool, Datetime, KeywordList; got %q", v)
	}
	a[name] = enumspb.IndexedValueType(t)
	return nil
}

func main() {
	o := temporalserver.Options{SearchAttributes: attributes{}}
	flag.StringVar(&o.DatabaseFile, "db", "", "SQLite file that keeps workflows across restarts (empty: in memory)")
	flag.IntVar(&o.Port, "port", 7233, "frontend gRPC port on 127.0.0.1")
	flag.StringVar(&o.Namespace, "namespace", "default", "namespace to create")
	flag.StringVar(&o.LogFile, "log", "", "file for the server's warnings and errors")
	flag.Var(attributes(o.SearchAttributes), "search-attribute", "NAME=TYPE registered on the namespace (repeatable)")
	uiPort := flag.Int("ui-port", 0, "serve the Temporal Web UI on this port of 127.0.0.1 (0: none)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	srv, err := temporalserver.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "avo-temporal:", err)
		os.Exit(1)
	}
	if *uiPort > 0 {
		stopUI, err := startUI(srv.Address, o.Namespace, *uiPort)
		if err != nil {
			fmt.Fprintln(os.Stderr, "avo-temporal:", err)
			_ = srv.Stop()
			os.Exit(1)
		}
		defer stopUI()
		fmt.Printf("temporal web UI on http://127.0.0.1:%d\n", *uiPort)
	}
	fmt.Println("temporal ready on", srv.Address)
	<-ctx.Done()
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "avo-temporal: stop:", err)
		os.Exit(1)
	}
}
