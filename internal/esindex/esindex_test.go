package esindex_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
	"golang.org/x/sync/errgroup"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func setup(t *testing.T) (context.Context, esindex.Indices) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ix := testenv.Indices(t, testenv.Config(t))
	if err := ix.Setup(ctx, esindex.Catalog); err != nil {
		t.Fatalf("setup: %v", err)
	}
	return ctx, ix
}

// analyze returns the tokens the index's analyzer makes of text.
func analyze(t *testing.T, ctx context.Context, ix esindex.Indices, analyzer, text string) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"analyzer": analyzer, "text": text})
	res, err := ix.ES.Indices.Analyze(ix.ES.Indices.Analyze.WithContext(ctx),
		ix.ES.Indices.Analyze.WithIndex(ix.Alias(esindex.Catalog)), ix.ES.Indices.Analyze.WithBody(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.IsError() {
		t.Fatalf("_analyze: %s", res.String())
	}
	var out struct {
		Tokens []struct {
			Token string `json:"token"`
		} `json:"tokens"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var tokens []string
	for _, tk := range out.Tokens {
		tokens = append(tokens, tk.Token)
	}
	return tokens
}

// The Dutch analysis of the catalog mapping: stemming that brings plural
// and singular together, stop words dropped, accents folded.
func TestDutchAnalysis(t *testing.T) {
	ctx, ix := setup(t)
	cases := []struct {
		text string
		want []string
	}{
		{"fietsen", []string{"fiets"}},
		{"fiets", []string{"fiets"}},
		{"België", []string{"belgie"}},
		{"Belgie", []string{"belgie"}},
		{"de kinderen van het dorp", []string{"kinder", "dorp"}},
		{"Brussel, Gent en Luik", []string{"brussel", "gent", "luik"}},
	}
	for _, c := range cases {
		got := analyze(t, ctx, ix, "nl_text", c.text)
		if !slices.Equal(got, c.want) {
			t.Errorf("nl_text(%q) = %q, want %q", c.text, got, c.want)
		}
	}
}

// Searches go through the same mapping: a teacher's "fietsen" finds a
// title with "fiets", "Belgie" finds "België".
func TestDutchSearch(t *testing.T) {
	ctx, ix := setup(t)
	docs := map[string]string{
		"a1": "De fiets van mijn opa",
		"a2": "Een reis door België",
		"a3": "Koken met groenten",
	}
	var ops []esindex.Op
	for id, title := range docs {
		b, _ := json.Marshal(map[string]any{"external_id": id, "dc_title": title, "source_id": "t", "is_published": false, "is_deleted": false,
			"provenance": map[string]any{"format": "t", "identifier": id, "raw": "s3://x", "harvest": "h", "mapping_version": "1"}})
		ops = append(ops, esindex.Op{ID: id, Doc: b})
	}
	out, err := ix.Write(ctx, esindex.Catalog, ops)
	if err != nil || out.Indexed != 3 || len(out.Rejected) != 0 || out.Retryable != 0 {
		t.Fatalf("write: %+v, %v", out, err)
	}
	if err := ix.Refresh(ctx, esindex.Catalog); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]string{"fietsen": "a1", "Belgie": "a2", "groente": "a3"} {
		ids := searchIDs(t, ctx, ix, q)
		if !slices.Equal(ids, []string{want}) {
			t.Errorf("search %q = %v, want [%s]", q, ids, want)
		}
	}
}

func searchIDs(t *testing.T, ctx context.Context, ix esindex.Indices, q string) []string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": map[string]any{"match": map[string]any{"dc_title": q}}})
	res, err := ix.ES.Search(ix.ES.Search.WithContext(ctx), ix.ES.Search.WithIndex(ix.Alias(esindex.Catalog)), ix.ES.Search.WithBody(bytes.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Hits struct {
			Hits []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range out.Hits.Hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// Setup is idempotent and the alias points at one physical index.
func TestSetupIdempotent(t *testing.T) {
	ctx, ix := setup(t)
	if err := ix.Setup(ctx, esindex.Catalog); err != nil {
		t.Fatalf("second setup: %v", err)
	}
	res, err := ix.ES.Indices.GetAlias(ix.ES.Indices.GetAlias.WithContext(ctx), ix.ES.Indices.GetAlias.WithName(ix.Alias(esindex.Catalog)))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var aliases map[string]any
	if err := json.NewDecoder(res.Body).Decode(&aliases); err != nil {
		t.Fatal(err)
	}
	if len(aliases) != 1 {
		t.Fatalf("alias %s points at %d indices, want 1: %v", ix.Alias(esindex.Catalog), len(aliases), aliases)
	}
}

// A bulk with one document the mapping refuses indexes the others and
// reports that one as rejected with Elasticsearch's reason; a delete of a
// document that is not there counts as done.
func TestWriteChecksEveryItem(t *testing.T) {
	ctx, ix := setup(t)
	good := func(id string) []byte {
		b, _ := json.Marshal(map[string]any{"external_id": id, "dc_title": "titel " + id, "source_id": "t", "is_published": false, "is_deleted": false,
			"provenance": map[string]any{"format": "t", "identifier": id, "raw": "s3://x", "harvest": "h", "mapping_version": "1"}})
		return b
	}
	bad := []byte(`{"external_id":"b2","dc_title":"x","duration_seconds":"not a number"}`)
	unknownField := []byte(`{"external_id":"b3","dc_title":"x","no_such_field":1}`)
	out, err := ix.Write(ctx, esindex.Catalog, []esindex.Op{
		{ID: "b1", Doc: good("b1")}, {ID: "b2", Doc: bad}, {ID: "b3", Doc: unknownField},
		{ID: "b4", Doc: good("b4")}, {ID: "gone"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.Indexed != 2 || out.Deleted != 1 || out.Retryable != 0 || len(out.Rejected) != 2 {
		t.Fatalf("outcome %+v, want 2 indexed, 1 deleted, 2 rejected", out)
	}
	for _, r := range out.Rejected {
		if r.Status != http.StatusBadRequest || r.Reason == "" {
			t.Errorf("rejection %+v: want HTTP 400 with a reason", r)
		}
	}
	if err := ix.Refresh(ctx, esindex.Catalog); err != nil {
		t.Fatal(err)
	}
	if n, err := ix.Count(ctx, esindex.Catalog); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
}

// setupEducation sets the education index up as well.
func setupEducation(t *testing.T) (context.Context, esindex.Indices) {
	t.Helper()
	ctx, ix := setup(t)
	if err := ix.Setup(ctx, esindex.Education); err != nil {
		t.Fatal(err)
	}
	return ctx, ix
}

// educationDoc is a published education document with id.
func educationDoc(id string) []byte {
	b, _ := json.Marshal(map[string]any{"external_id": id, "dc_title": "titel " + id, "administrative_type": "video", "source_id": "t",
		"is_published": true, "is_deleted": false, "provenance": map[string]any{"format": "t", "identifier": id, "raw": "s3://x", "harvest": "h", "mapping_version": "1"}})
	return b
}

// A page writes to the education index from many goroutines at once, its
// deletes waiting for their tombstones: every op arrives, with its id,
// and every document deleted leaves one tombstone.
func TestEducationWriterTakesOpsFromManyGoroutines(t *testing.T) {
	ctx, ix := setupEducation(t)
	const n = 600 // three batches of deletes
	var first []esindex.Op
	for i := range n {
		first = append(first, esindex.Op{ID: fmt.Sprintf("d%04d", i), Doc: educationDoc(fmt.Sprintf("d%04d", i))})
	}
	if _, err := ix.Write(ctx, esindex.Education, first); err != nil {
		t.Fatal(err)
	}
	w, err := ix.NewWriter(ctx, esindex.Education)
	if err != nil {
		t.Fatal(err)
	}
	var g errgroup.Group
	for i := range n {
		g.Go(func() error {
			if err := w.Add(ctx, esindex.Op{ID: fmt.Sprintf("d%04d", i)}); err != nil {
				return err
			}
			return w.Add(ctx, esindex.Op{ID: fmt.Sprintf("w%04d", i), Doc: educationDoc(fmt.Sprintf("w%04d", i))})
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	out, err := w.Close(ctx)
	if err != nil || out.Indexed != n || out.Deleted != n || len(out.Rejected) != 0 || out.Retryable != 0 {
		t.Fatalf("outcome %+v %v, want %d indexed and %d deleted", out, err, n, n)
	}
	if err := ix.Refresh(ctx, esindex.Education); err != nil {
		t.Fatal(err)
	}
	if got, err := ix.Count(ctx, esindex.Education); err != nil || got != n {
		t.Errorf("the education index holds %d, %v; want %d", got, err, n)
	}
	var count struct {
		Count int `json:"count"`
	}
	if err := esindex.Do(ctx, ix.ES, http.MethodPost, "/"+ix.Gone()+"/_refresh", nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := esindex.Do(ctx, ix.ES, http.MethodGet, "/"+ix.Gone()+"/_count", nil, &count); err != nil || count.Count != n {
		t.Errorf("%d tombstones, %v; want %d", count.Count, err, n)
	}
}

// Writers opened together (the pages of one batch) share one stream of
// bulk requests: their ops go out in one request when the last of them
// closes, and each answers for its own ops, also for deletes another
// writer's op sent on to their tombstones.
func TestWritersOpenedTogetherShareRequests(t *testing.T) {
	ctx, ix := setupEducation(t)
	const deletes = 150 // each of two writers: together more than a batch of tombstones
	var seed []esindex.Op
	for i := range 2 * deletes {
		seed = append(seed, esindex.Op{ID: fmt.Sprintf("s%03d", i), Doc: educationDoc(fmt.Sprintf("s%03d", i))})
	}
	if _, err := ix.Write(ctx, esindex.Education, seed); err != nil {
		t.Fatal(err)
	}
	bulks := func() int {
		var stats struct {
			All struct {
				Primaries struct {
					Bulk struct {
						Total int `json:"total_operations"`
					} `json:"bulk"`
				} `json:"primaries"`
			} `json:"_all"`
		}
		if err := esindex.Do(ctx, ix.ES, http.MethodGet, "/"+ix.Alias(esindex.Education)+"/_stats/bulk", nil, &stats); err != nil {
			t.Fatal(err)
		}
		return stats.All.Primaries.Bulk.Total
	}
	before := bulks()

	ws, err := ix.NewWriters(ctx, esindex.Education, 3)
	if err != nil {
		t.Fatal(err)
	}
	add := func(w *esindex.Writer, op esindex.Op) {
		t.Helper()
		if err := w.Add(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	for i := range deletes {
		add(ws[0], esindex.Op{ID: fmt.Sprintf("s%03d", i)})
	}
	for i := range 5 {
		add(ws[0], esindex.Op{ID: fmt.Sprintf("a%d", i), Doc: educationDoc(fmt.Sprintf("a%d", i))})
	}
	for i := range deletes {
		add(ws[1], esindex.Op{ID: fmt.Sprintf("s%03d", deletes+i)})
	}
	add(ws[1], esindex.Op{ID: "b0", Doc: educationDoc("b0")})
	add(ws[1], esindex.Op{ID: "bad", Ref: "oai:bad", Doc: []byte(`{"external_id":"bad","dc_title":"x","duration_seconds":"not a number"}`)})
	add(ws[1], esindex.Op{ID: "b1", Doc: educationDoc("b1")})

	type answer struct {
		out esindex.Outcome
		err error
	}
	first := make(chan answer, 1)
	go func() {
		out, err := ws[0].Close(ctx)
		first <- answer{out, err}
	}()
	select {
	case a := <-first:
		t.Fatalf("the first writer's Close returned %+v, %v while two writers sharing its requests were open", a.out, a.err)
	case <-time.After(200 * time.Millisecond):
	}
	second := make(chan answer, 1)
	go func() {
		out, err := ws[1].Close(ctx)
		second <- answer{out, err}
	}()
	out2, err := ws[2].Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b := <-second
	if b.err != nil {
		t.Fatal(b.err)
	}
	out1 := b.out
	a := <-first
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.out.Indexed != 5 || a.out.Deleted != deletes || a.out.Retryable != 0 || len(a.out.Rejected) != 0 {
		t.Errorf("first writer: %+v, want 5 indexed and %d deleted", a.out, deletes)
	}
	if out1.Indexed != 2 || out1.Deleted != deletes || out1.Retryable != 0 || len(out1.Rejected) != 1 || out1.Rejected[0].Ref != "oai:bad" {
		t.Errorf("second writer: %+v, want 2 indexed, %d deleted and oai:bad rejected", out1, deletes)
	}
	if out2.Indexed+out2.Deleted+out2.Retryable+len(out2.Rejected) != 0 {
		t.Errorf("third writer, which wrote nothing: %+v", out2)
	}
	if again, err := ws[1].Close(ctx); err != nil || again.Indexed != out1.Indexed || len(again.Rejected) != 1 {
		t.Errorf("a second Close answered %+v, %v; want the first answer", again, err)
	}
	if got := bulks() - before; got != 1 {
		t.Errorf("the writers sent %d bulk requests to the education index, want 1", got)
	}
	if err := ix.Refresh(ctx, esindex.Education); err != nil {
		t.Fatal(err)
	}
	if got, err := ix.Count(ctx, esindex.Education); err != nil || got != 7 {
		t.Errorf("the education index holds %d, %v; want the 7 documents written", got, err)
	}
}
