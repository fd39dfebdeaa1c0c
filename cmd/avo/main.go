// Command avo runs the Archive for Education metadata pipeline: harvests
// partner metadata through Temporal, maps it to the education profile and
// indexes it into Elasticsearch.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
