package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/pipeline"
	"github.com/archiefvooronderwijs/avo/internal/search"
)

// demoQueries are searched after the harvest; each must find records.
var demoQueries = []string{"fietsen", "Belgie"}

// demoReport is what `avo demo --output json` prints.
type demoReport struct {
	Harvests []harvestOutcome            `json:"harvests"`
	Searches map[string]*search.Response `json:"searches"`
	Seconds  float64                     `json:"seconds"`
}

func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline once on a local stack and sample sources",
		Long: `Start Elasticsearch, versitygw and an embedded Temporal server on
127.0.0.1, serve a sample OAI-PMH provider and upload a sample partner
bucket, harvest both through Temporal workflows, then search the index.
Prints per source what was harvested, indexed and quarantined, and the
search results. Everything it started is stopped before it exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd.Context()) },
	}
}

func (a *app) demo(ctx context.Context) error {
	start := time.Now()
	if !a.json() {
		fmt.Fprintln(a.out, "starting Elasticsearch, versitygw (S3) and Temporal on 127.0.0.1 ...")
	}
	l, err := a.startLocal(ctx, localOptions{name: "demo", fresh: true})
	if err != nil {
		return err
	}
	defer func() {
		if err := l.stop(); err != nil {
			a.log.Error("stopping the local stack", "err", err)
		}
	}()
	if !a.json() {
		fmt.Fprintf(a.out, "stack ready in %.0fs: elasticsearch %s, s3 %s, temporal %s, sample OAI-PMH provider %s\n",
			time.Since(start).Seconds(), l.stack.ElasticsearchURL, l.stack.S3Endpoint, l.stack.Temporal.Address, l.provider.URL)
	}

	var wg sync.WaitGroup
	outcomes := make([]harvestOutcome, len(l.sources.Sources))
	for i, src := range l.sources.Sources {
		run, err := l.clients.StartHarvest(ctx, src, pipeline.HarvestOptions{})
		if err != nil {
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcomes[i] = a.follow(ctx, l.clients, run)
		}()
	}
	wg.Wait()

	rep := demoReport{Harvests: outcomes, Searches: map[string]*search.Response{}}
	var problems []string
	for _, o := range outcomes {
		if o.Error != "" {
			problems = append(problems, fmt.Sprintf("harvest of %s failed: %s", o.Source, o.Error))
		} else if o.Counts.Indexed == 0 {
			problems = append(problems, fmt.Sprintf("harvest of %s indexed nothing", o.Source))
		}
	}
	for _, q := range demoQueries {
		res, err := search.Run(ctx, l.clients.Indices.ES, l.clients.Indices.Alias(esindex.Catalog), search.Request{Text: q, Size: 10})
		if err != nil {
			return err
		}
		rep.Searches[q] = res
		if res.Total == 0 {
			problems = append(problems, fmt.Sprintf("search %q found nothing", q))
		}
	}
	found := map[string]bool{}
	for _, res := range rep.Searches {
		for _, h := range res.Hits {
			found[h.Source] = true
		}
	}
	for _, o := range outcomes {
		if !found[o.Source] {
			problems = append(problems, fmt.Sprintf("no search found a record of %s", o.Source))
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	if err := a.emit(rep, func(w io.Writer) { printDemo(w, rep) }); err != nil {
		return err
	}
	if len(problems) > 0 {
		return fmt.Errorf("demo failed: %s", strings.Join(problems, "; "))
	}
	return nil
}

func printDemo(w io.Writer, rep demoReport) {
	fmt.Fprintln(w)
	fmt.Fprintln(w, "== harvests ==")
	printOutcomes(w, rep.Harvests)
	for _, q := range demoQueries {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "== avo search %s ==\n", q)
		printHits(w, search.Request{Text: q}, rep.Searches[q], false)
	}
	fmt.Fprintf(w, "\ndemo finished in %.1fs\n", rep.Seconds)
}
