package search_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/search"
	"github.com/archiefvooronderwijs/avo/internal/search/searchtest"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const (
	structure = profile.StructureScheme + "/"
	subject   = profile.SubjectScheme + "/"
	theme     = profile.ThemeScheme + "/"
)

// fixture loads the test items into real indices and returns searchers on
// the education index and the catalog.
func fixture(t *testing.T) (context.Context, *search.Searcher, *search.Searcher) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	ix := testenv.Indices(t, testenv.Config(t))
	searchtest.Load(t, ctx, ix)
	edu, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Education))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := search.NewSearcher(ix.ES, ix.Alias(esindex.Catalog))
	if err != nil {
		t.Fatal(err)
	}
	return ctx, edu, cat
}

func ids(res *search.Response) []string {
	out := []string{}
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func run(t *testing.T, ctx context.Context, s *search.Searcher, r search.Request) *search.Response {
	t.Helper()
	res, err := s.Search(ctx, r)
	if err != nil {
		t.Fatalf("search %+v: %v", r, err)
	}
	return res
}

func facet(res *search.Response, name, value string) (search.Bucket, bool) {
	for _, b := range res.Facets[name] {
		if b.Value == value {
			return b, true
		}
	}
	return search.Bucket{}, false
}

func TestSearch(t *testing.T) {
	ctx, edu, cat := fixture(t)

	t.Run("education index holds only what teachers may see", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Size: 100})
		if res.Total != 8 || slices.Contains(ids(res), "hidden1") {
			t.Fatalf("education: %d hits %v; want the 8 published items", res.Total, ids(res))
		}
		if res := run(t, ctx, cat, search.Request{Size: 100}); res.Total != 9 {
			t.Fatalf("catalog: %d hits, want all 9", res.Total)
		}
	})

	t.Run("Dutch stemming and accent folding", func(t *testing.T) {
		for q, want := range map[string]string{"fietsen": "fiets1", "Belgie": "belgie1", "reis door belgië": "belgie1", "boerderijen": "kleuter1"} {
			res := run(t, ctx, edu, search.Request{Text: q})
			if len(res.Hits) == 0 || res.Hits[0].ID != want {
				t.Errorf("%q: first hit %v, want %s", q, ids(res), want)
			}
		}
	})

	t.Run("title counts more than description", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Text: "fiets"})
		got := ids(res)
		if !slices.Contains(got, "klimaat1") || slices.Index(got, "fiets1") > slices.Index(got, "klimaat1") {
			t.Errorf("fiets: %v; the title match fiets1 must rank above klimaat1 (description only)", got)
		}
	})

	t.Run("filters", func(t *testing.T) {
		cases := []struct {
			name    string
			filters map[string][]string
			from    string
			until   string
			want    []string
		}{
			{"type", map[string][]string{"type": {"audio"}}, "", "", []string{"english1", "klimaat1"}},
			{"type OR", map[string][]string{"type": {"audio", "collection"}}, "", "", []string{"dossier1", "english1", "klimaat1"}},
			{"level by URI, found through degrees", map[string][]string{"level": {structure + "lager-onderwijs"}}, "", "", []string{"fiets1"}},
			{"level basisonderwijs takes in kleuter and lager", map[string][]string{"level": {structure + "basisonderwijs"}}, "", "", []string{"fiets1", "kleuter1"}},
			{"level by label", map[string][]string{"level": {"Secundair onderwijs"}}, "", "", []string{"belgie1", "dossier1", "english1", "html1", "klimaat1"}},
			{"level by a legacy label", map[string][]string{"level": {"Schoolradio-niveau"}}, "", "", []string{"legacy1"}},
			{"degree", map[string][]string{"degree": {structure + "secundair-3e-graad"}}, "", "", []string{"english1", "html1"}},
			{"subject", map[string][]string{"subject": {subject + "fysica"}}, "", "", []string{"klimaat1"}},
			{"subject by a legacy label", map[string][]string{"subject": {"Natuurkunde (oud)"}}, "", "", []string{"legacy1"}},
			{"theme category", map[string][]string{"theme": {theme + "aardrijkskunde"}}, "", "", []string{"fiets1", "klimaat1"}},
			{"series", map[string][]string{"series": {"Volt"}}, "", "", []string{"belgie1", "klimaat1"}},
			{"provider", map[string][]string{"provider": {"Radio 1", "BBC"}}, "", "", []string{"english1", "klimaat1"}},
			{"language", map[string][]string{"language": {"fr"}}, "", "", []string{"belgie1"}},
			{"keywords: all must match", map[string][]string{"keyword": {"fiets", "sport"}}, "", "", []string{"english1"}},
			{"keyword", map[string][]string{"keyword": {"fiets"}}, "", "", []string{"english1", "fiets1"}},
			{"AND across filters", map[string][]string{"series": {"Volt"}, "type": {"video"}}, "", "", []string{"belgie1"}},
			{"broadcast year range, both ends included", nil, "2020", "2021", []string{"belgie1", "klimaat1"}},
			{"broadcast until a month takes the whole month", nil, "2018-05", "2018-05", []string{"kleuter1"}},
			{"broadcast until a day", nil, "", "1975-12-31", []string{"legacy1"}},
			{"broadcast from a day", nil, "2022-12-31", "", []string{"html1"}},
		}
		for _, c := range cases {
			res := run(t, ctx, edu, search.Request{Filters: c.filters, BroadcastFrom: c.from, BroadcastUntil: c.until, Size: 100})
			if got := sorted(ids(res)); !slices.Equal(got, c.want) || res.Total != len(c.want) {
				t.Errorf("%s: %v (total %d), want %v", c.name, got, res.Total, c.want)
			}
		}
	})

	t.Run("facets exclude their own selection", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Filters: map[string][]string{"type": {"audio"}, "series": {"Volt"}}})
		if !slices.Equal(ids(res), []string{"klimaat1"}) {
			t.Fatalf("hits %v, want [klimaat1]", ids(res))
		}
		// The type facet counts under the series filter only: Volt has one
		// video and one audio item.
		if b, ok := facet(res, "type", "video"); !ok || b.Count != 1 {
			t.Errorf("type facet video = %+v, want 1", b)
		}
		if b, ok := facet(res, "type", "audio"); !ok || b.Count != 1 || !b.Selected {
			t.Errorf("type facet audio = %+v, want 1, selected", b)
		}
		// The series facet counts under the type filter only: audio items
		// are in Volt and in no series.
		if b, ok := facet(res, "series", "Volt"); !ok || b.Count != 1 {
			t.Errorf("series facet Volt = %+v, want 1", b)
		}
		if _, ok := facet(res, "series", "Karrewiet"); ok {
			t.Errorf("series facet counts Karrewiet, which has no audio: %+v", res.Facets["series"])
		}
		// Other facets count under both filters.
		if b, ok := facet(res, "language", "nl"); !ok || b.Count != 1 {
			t.Errorf("language facet nl = %+v, want 1", b)
		}
		// Concept facets carry the vocabulary's labels.
		all := run(t, ctx, edu, search.Request{})
		if b, ok := facet(all, "level", structure+"secundair-onderwijs"); !ok || b.Label != "secundair onderwijs" || b.Count != 5 {
			t.Errorf("level facet secundair onderwijs = %+v, want label and 5", b)
		}
		if b, ok := facet(all, "level", structure+"basisonderwijs"); !ok || b.Count != 2 {
			t.Errorf("level facet basisonderwijs = %+v, want 2", b)
		}
	})

	t.Run("an all-values facet narrows itself", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Filters: map[string][]string{"keyword": {"fiets"}}})
		if b, ok := facet(res, "keyword", "sport"); !ok || b.Count != 1 {
			t.Errorf("keyword facet sport = %+v, want 1", b)
		}
		if _, ok := facet(res, "keyword", "klimaat"); ok {
			t.Errorf("keyword facet counts klimaat, which no fiets item has")
		}
	})

	t.Run("searchable facet", func(t *testing.T) {
		bs, err := edu.Facet(ctx, search.Request{}, "series", "vol")
		if err != nil || len(bs) != 1 || bs[0].Value != "Volt" || bs[0].Count != 2 {
			t.Errorf("series facet 'vol' = %+v, %v", bs, err)
		}
		bs, err = edu.Facet(ctx, search.Request{}, "level", "secundair")
		if err != nil || len(bs) != 1 || bs[0].Value != structure+"secundair-onderwijs" {
			t.Errorf("level facet 'secundair' = %+v, %v", bs, err)
		}
	})

	t.Run("sorts", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Sort: search.Broadcast, Size: 100})
		want := []string{"html1", "dossier1", "belgie1", "klimaat1", "fiets1", "kleuter1", "english1", "legacy1"}
		if !slices.Equal(ids(res), want) {
			t.Errorf("broadcast desc: %v, want %v", ids(res), want)
		}
		res = run(t, ctx, edu, search.Request{Sort: search.Broadcast, Order: "asc", Size: 100})
		rev := slices.Clone(want)
		slices.Reverse(rev)
		if got := ids(res); !slices.Equal(got, rev) {
			t.Errorf("broadcast asc: %v", got)
		}
		res = run(t, ctx, edu, search.Request{Sort: search.Created, Size: 3})
		if !slices.Equal(ids(res), []string{"belgie1", "klimaat1", "fiets1"}) {
			t.Errorf("created: %v", ids(res))
		}
		res = run(t, ctx, edu, search.Request{Sort: search.Updated, Size: 100})
		if res.Total != 8 {
			t.Errorf("updated: %d hits", res.Total)
		}
	})

	t.Run("paging", func(t *testing.T) {
		all := ids(run(t, ctx, edu, search.Request{Sort: search.Broadcast, Size: 100}))
		var paged []string
		for from := 0; from < 8; from += 3 {
			paged = append(paged, ids(run(t, ctx, edu, search.Request{Sort: search.Broadcast, From: from, Size: 3}))...)
		}
		if !slices.Equal(all, paged) {
			t.Errorf("pages %v, one page %v", paged, all)
		}
		if _, err := edu.Search(ctx, search.Request{From: 9990, Size: 20}); err == nil {
			t.Error("from 9990 + size 20 accepted")
		}
		if _, err := edu.Search(ctx, search.Request{From: 9980, Size: 20}); err != nil {
			t.Errorf("from 9980 + size 20: %v", err)
		}
	})

	t.Run("highlighting escapes the text", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Text: "fiets web"})
		var h *search.Highlight
		for _, hit := range res.Hits {
			if hit.ID == "html1" {
				h = hit.Highlight
			}
		}
		if h == nil || !strings.Contains(h.Title, "<mark>fiets") || !strings.Contains(h.Title, "&lt;b&gt;HTML&lt;&#x2F;b&gt;") {
			t.Errorf("highlight of html1: %+v", h)
		}
	})

	t.Run("suggestions", func(t *testing.T) {
		got, err := edu.Suggest(ctx, "fie", 10)
		if err != nil || !slices.Equal(got, []string{"fiets"}) {
			t.Errorf("suggest fie = %v, %v", got, err)
		}
		got, err = edu.Suggest(ctx, "b", 10)
		if err != nil || !slices.Equal(got, []string{"boerderij"}) {
			t.Errorf("suggest b = %v, %v", got, err)
		}
	})

	t.Run("related items", func(t *testing.T) {
		got, err := edu.Related(ctx, "fiets1", search.Request{Size: 3})
		if err != nil {
			t.Fatal(err)
		}
		var rel []string
		for _, h := range got {
			rel = append(rel, h.ID)
		}
		if len(rel) == 0 || slices.Contains(rel, "fiets1") || slices.Contains(rel, "hidden1") {
			t.Errorf("related to fiets1: %v", rel)
		}
		if !slices.Contains(rel, "english1") {
			t.Errorf("related to fiets1: %v, want english1 (same keyword)", rel)
		}
		if _, err := edu.Related(ctx, "hidden1", search.Request{}); !errors.Is(err, search.ErrNotFound) {
			t.Errorf("related to an unpublished item: %v, want not found", err)
		}
	})

	t.Run("item", func(t *testing.T) {
		h, err := edu.Item(ctx, "klimaat1", "")
		if err != nil || h.Title != "Klimaat en energie" || !slices.Contains(h.Subjects, "fysica") || !slices.Contains(h.Levels, "secundair onderwijs") {
			t.Errorf("item klimaat1: %+v, %v", h, err)
		}
		if _, err := edu.Item(ctx, "hidden1", ""); !errors.Is(err, search.ErrNotFound) {
			t.Errorf("unpublished item: %v", err)
		}
		if _, err := edu.Item(ctx, "dossier1", search.Pupil); !errors.Is(err, search.ErrNotFound) {
			t.Errorf("a collection in the pupil scope: %v", err)
		}
	})

	t.Run("pupil scope", func(t *testing.T) {
		res := run(t, ctx, edu, search.Request{Scope: search.Pupil, Size: 100})
		if got := ids(res); slices.Contains(got, "dossier1") || res.Total != 7 {
			t.Errorf("pupil: %v; want the 7 video and audio items", got)
		}
		for name := range res.Facets {
			if f, _ := search.FilterNamed(name); !f.Pupil {
				t.Errorf("pupil facets include %s", name)
			}
		}
		res = run(t, ctx, edu, search.Request{Scope: search.Pupil, Primary: true, Size: 100})
		if got := sorted(ids(res)); !slices.Equal(got, []string{"fiets1", "kleuter1"}) {
			t.Errorf("pupil primary: %v", got)
		}
		res = run(t, ctx, edu, search.Request{Scope: search.Pupil, Filters: map[string][]string{"type": {"collection"}}})
		if res.Total != 0 {
			t.Errorf("pupils asking for collections get %v", ids(res))
		}
		res = run(t, ctx, edu, search.Request{Scope: search.Pupil, Filters: map[string][]string{"series": {"Karrewiet"}}, BroadcastFrom: "2019"})
		if !slices.Equal(ids(res), []string{"fiets1"}) {
			t.Errorf("pupil series + date: %v", ids(res))
		}
		_, err := edu.Search(ctx, search.Request{Scope: search.Pupil, Filters: map[string][]string{"level": {"basisonderwijs"}}})
		var re *search.RequestError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), `filter "level" is not available to pupils`) {
			t.Errorf("level filter for pupils: %v", err)
		}
	})
}

// Validation refuses, with a message, what the API does not offer.
func TestValidation(t *testing.T) {
	bad := []struct {
		query string
		msg   string
	}{
		{"colour=red", `unknown parameter "colour"`},
		{"sort=popularity", `unknown sort "popularity"`},
		{"scope=admin", `unknown scope "admin"`},
		{"order=up&sort=broadcast", `unknown order "up"`},
		{"order=asc", "order asc applies to"},
		{"size=101", "size is at most 100"},
		{"from=9995&size=10", "from + size is at most 10000"},
		{"from=-1", "must not be negative"},
		{"from=ten", `parameter "from"`},
		{"broadcast_from=last+year", "broadcast_from"},
		{"primary=true", "primary applies to the pupil scope"},
		{"scope=pupil&subject=fysica", `filter "subject" is not available to pupils`},
		{"q=a&q=b", `"q" is given 2 times`},
		{"type=", `filter "type" has an empty value`},
	}
	for _, c := range bad {
		v, err := url.ParseQuery(c.query)
		if err != nil {
			t.Fatal(err)
		}
		// Validating twice is harmless: the defaults it fills in are valid.
		if r, err := search.ParseQuery(v); err == nil {
			if err := r.Validate(); err != nil {
				t.Errorf("%s: second validation: %v", c.query, err)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := search.ParseQuery(v); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v, want %q", c.query, err, c.msg)
		}
	}
	v, _ := url.ParseQuery("q=fiets&type=video&type=audio&keyword=a&keyword=b&sort=broadcast&order=asc&from=20&size=10&broadcast_from=2019")
	r, err := search.ParseQuery(v)
	if err != nil {
		t.Fatal(err)
	}
	if r.Text != "fiets" || !slices.Equal(r.Filters["type"], []string{"video", "audio"}) || len(r.Filters["keyword"]) != 2 ||
		r.Sort != "broadcast" || r.Order != "asc" || r.From != 20 || r.Size != 10 || r.BroadcastFrom != "2019" || r.Scope != search.Teacher {
		t.Errorf("parsed %+v", r)
	}
	v, _ = url.ParseQuery("scope=pupil&primary=true&series=Volt&provider=VRT&broadcast_until=2020-05")
	if r, err = search.ParseQuery(v); err != nil || r.Scope != search.Pupil || !r.Primary || r.BroadcastUntil != "2020-05" {
		t.Errorf("pupil request: %+v, %v", r, err)
	}
}
