package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/workflows"
)

// demoQueries are searched after the harvest; each must find records.
var demoQueries = []string{"fietsen", "Belgie"}

// demoPhotos is a partner's photo report the editor publishes beside the
// first search's videos: teachers see it, pupils (video and audio) do not.
const demoPhotos = "dm23expo58"

// demoReport is what `avo demo --output json` prints.
type demoReport struct {
	Harvests []harvestOutcome            `json:"harvests"`
	Searches map[string]*search.Response `json:"searches"`
	// What an editor published, the education index rebuilt from S3,
	// and what teachers then find.
	Published []*editorial.ItemState  `json:"published"`
	Alias     string                  `json:"education_alias"`
	Rebuild   workflows.RebuildResult `json:"rebuild"`
	Teachers  *search.Response        `json:"teachers"`
	// Again is a second harvest of the partner bucket after a partner
	// edited one sidecar: only that one is read.
	Again *harvestOutcome `json:"again,omitempty"`
	// SignedIn: a teacher and a pupil search after signing in.
	SignedIn []signedInSearch `json:"signed_in"`
	// Set is a curated set published through the API.
	Set *demoSetReport `json:"set,omitempty"`
	// Content is a teachers' collection, shared and made public.
	Content *demoContentReport `json:"content,omitempty"`
	// OAI is a partner platform's harvest of avo's OAI-PMH provider.
	OAI *demoOAIReport `json:"oai,omitempty"`
	// Play is an embedded fragment a signed-in teacher plays.
	Play    *demoPlayReport `json:"play,omitempty"`
	Seconds float64         `json:"seconds"`
}

func newDemoCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the whole pipeline once on a local stack and sample sources",
		Long: `Start Elasticsearch, versitygw, a Temporal server (avo-temporal) and
Keycloak on 127.0.0.1, serve a sample OAI-PMH provider and upload a sample partner
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
		fmt.Fprintln(a.out, "starting Elasticsearch, versitygw (S3), Temporal and Keycloak on 127.0.0.1 ...")
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
		run, err := l.clients.StartHarvest(ctx, src, workflows.HarvestOptions{})
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
	base, stopAPI, err := a.demoServe(l)
	if err != nil {
		return err
	}
	defer stopAPI()
	if len(problems) == 0 {
		problems = append(problems, a.demoEducation(ctx, l, base, &rep)...)
	}
	if len(problems) == 0 {
		problems = append(problems, a.demoSignOn(ctx, l, base, &rep)...)
	}
	if len(problems) == 0 {
		problems = append(problems, a.demoSet(ctx, l, base, &rep)...)
	}
	if len(problems) == 0 {
		problems = append(problems, a.demoContent(ctx, l, base, &rep)...)
	}
	if len(problems) == 0 {
		problems = append(problems, a.demoOAI(ctx, l, base, &rep)...)
	}
	if len(problems) == 0 {
		problems = append(problems, a.demoPlay(ctx, l, base, &rep)...)
	}
	if len(problems) == 0 {
		problems = append(problems, a.demoAgain(ctx, l, &rep)...)
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

// demoEducation plays an editor who signs in and publishes, through the
// API, what the first search found; then rebuilds the education index
// from S3 (as after a mapping change) and searches it as a teacher. It
// returns what went wrong.
func (a *app) demoEducation(ctx context.Context, l *local, base string, rep *demoReport) []string {
	c := l.clients
	var problems []string
	visible, found := 0, 0
	ids := []string{}
	for _, h := range rep.Searches[demoQueries[0]].Hits {
		ids = append(ids, h.ID)
	}
	published, err := demoPublish(ctx, l, base, append(ids, demoPhotos))
	if err != nil {
		return append(problems, err.Error())
	}
	rep.Published = published
	for i, st := range published {
		if st.Visible {
			visible++
			if i < len(ids) {
				found++
			}
		}
	}
	if visible == 0 {
		problems = append(problems, "no published item is visible to teachers")
	}
	rep.Alias = c.Indices.Alias(esindex.Education)
	run, err := c.StartRebuild(ctx, esindex.Education, workflows.RebuildOptions{})
	if err != nil {
		return append(problems, fmt.Sprintf("rebuild of the education index: %v", err))
	}
	if err := run.Get(ctx, &rep.Rebuild); err != nil {
		return append(problems, fmt.Sprintf("rebuild of the education index failed: %v", err))
	}
	if rep.Rebuild.Docs != visible {
		problems = append(problems, fmt.Sprintf("the rebuilt education index holds %d documents, %d were published", rep.Rebuild.Docs, visible))
	}
	rep.Teachers, err = search.Run(ctx, c.Indices.ES, c.Indices.Alias(esindex.Education), search.Request{Text: demoQueries[0], Size: 10})
	if err != nil {
		return append(problems, err.Error())
	}
	if rep.Teachers.Total != found {
		problems = append(problems, fmt.Sprintf("teachers find %d items for %q, %d of its hits were published", rep.Teachers.Total, demoQueries[0], found))
	}
	return problems
}

// demoAgain plays a partner who edits one sidecar, and harvests the
// bucket again: only that object is read, the others are unchanged.
func (a *app) demoAgain(ctx context.Context, l *local, rep *demoReport) []string {
	src, err := l.sources.Get("demo-s3")
	if err != nil {
		return []string{err.Error()}
	}
	key := "sidecars/dm24dieren.xml"
	obj, err := l.partner.Get(ctx, key, 0)
	if err != nil {
		return []string{err.Error()}
	}
	edited := strings.Replace(string(obj.Body), "<dc_title>Dieren in de winter</dc_title>", "<dc_title>Dieren in de koude winter</dc_title>", 1)
	if err := l.partner.Put(ctx, key, []byte(edited), "application/xml"); err != nil {
		return []string{err.Error()}
	}
	run, err := l.clients.StartHarvest(ctx, src, workflows.HarvestOptions{})
	if err != nil {
		return []string{err.Error()}
	}
	o := a.follow(ctx, l.clients, run)
	rep.Again = &o
	if o.Error != "" || o.Counts.Records != 1 || o.Counts.Unchanged == 0 {
		return []string{fmt.Sprintf("the second harvest of demo-s3 read %d objects (%d unchanged), want only the edited one: %s", o.Counts.Records, o.Counts.Unchanged, o.Error)}
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
	if len(rep.Published) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "== POST /api/items/ID/publish (an editor signs in and publishes what the first search found, and a photo report) ==")
		for _, st := range rep.Published {
			if st.Visible {
				fmt.Fprintf(w, "%s: visible to teachers (published by %s)\n", st.ID, st.Editorial.By)
			} else {
				fmt.Fprintf(w, "%s: not visible to teachers: %s\n", st.ID, st.Why)
			}
		}
	}
	if rep.Rebuild.Index != "" {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "== avo index rebuild education (from S3, then an alias swap) ==")
		printRebuild(w, rep.Alias, rep.Rebuild)
	}
	if rep.Teachers != nil {
		fmt.Fprintln(w)
		fmt.Fprintf(w, "== avo search --index education %s (what teachers find) ==\n", demoQueries[0])
		printHits(w, search.Request{Text: demoQueries[0]}, rep.Teachers, false)
	}
	printSignOn(w, rep)
	printSet(w, rep)
	printContent(w, rep)
	printOAI(w, rep)
	printPlay(w, rep)
	if rep.Again != nil {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "== avo harvest start demo-s3 (again, after the partner edited one sidecar) ==")
		printOutcomes(w, []harvestOutcome{*rep.Again})
	}
	fmt.Fprintf(w, "\ndemo finished in %.1fs\n", rep.Seconds)
}
