package manifest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/manifest"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func write(t *testing.T, ctx context.Context, st *s3store.Store, prefix string, size int, es []manifest.Entry) manifest.Index {
	t.Helper()
	w := manifest.NewWriter(st, prefix, size)
	for _, e := range es {
		if err := w.Add(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	idx, err := w.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return idx
}

func readAll(t *testing.T, ctx context.Context, st *s3store.Store, idx manifest.Index) []manifest.Entry {
	t.Helper()
	out := []manifest.Entry{}
	if err := manifest.Each(ctx, st, idx, func(e manifest.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// Keys come back as written, whatever characters they hold, chunk by
// chunk; a writer refuses keys out of order.
func TestRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := testenv.Store(t, testenv.Config(t))
	es := []manifest.Entry{
		{Key: "a\tb", ETag: `"e1"`, Size: 10, Modified: 1700000000},
		{Key: "a\nb\\c", ETag: `"e2"`, Size: 0, Modified: 1},
		{Key: "b/België.xml", ETag: `"e3"`, Size: 5},
		{Key: "b/x.xml", ETag: `"e4"`, Size: 7, Modified: 2, Media: "b/x\t1.webm"},
		{Key: "id-only"},
		{Key: "media-only", Media: "media-only.mp4"},
		{Key: "z"},
	}
	slices.SortFunc(es, func(a, b manifest.Entry) int { return cmp(a.Key, b.Key) })
	idx := write(t, ctx, st, "m/", 2, es)
	if idx.Count != 7 || len(idx.Chunks) != 4 || idx.Chunks[0].First != es[0].Key || idx.Chunks[3].Last != "z" {
		t.Fatalf("index %+v", idx)
	}
	if got := readAll(t, ctx, st, idx); !slices.Equal(got, es) {
		t.Errorf("read back %+v, want %+v", got, es)
	}
	chunk, err := manifest.ReadChunk(ctx, st, idx, 1)
	if err != nil || !slices.Equal(chunk, es[2:4]) {
		t.Errorf("chunk 1: %+v %v", chunk, err)
	}
	w := manifest.NewWriter(st, "bad/", 10)
	_ = w.Add(ctx, manifest.Entry{Key: "b"})
	if err := w.Add(ctx, manifest.Entry{Key: "a"}); !errors.Is(err, manifest.ErrUnsorted) {
		t.Errorf("a after b: %v", err)
	}
	if err := w.Add(ctx, manifest.Entry{Key: "b"}); !errors.Is(err, manifest.ErrUnsorted) {
		t.Errorf("b twice: %v", err)
	}
	if got := readAll(t, ctx, st, manifest.Index{}); len(got) != 0 {
		t.Errorf("empty manifest read %v", got)
	}
}

func cmp(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// The streaming comparison says of every key what a comparison of two
// maps says, for random lists.
func TestDifferAgreesWithMaps(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := testenv.Store(t, testenv.Config(t))
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		old, cur := map[string]string{}, map[string]string{}
		for i := range 400 {
			k := fmt.Sprintf("k%04d", rng.IntN(600))
			switch rng.IntN(5) {
			case 0:
				old[k] = "a"
			case 1:
				cur[k] = "a"
			case 2:
				old[k], cur[k] = "a", "a"
			case 3:
				old[k], cur[k] = "a", fmt.Sprint("b", i)
			default:
				// The same object, but a browse copy came beside it.
				old[k], cur[k] = "a", "a|"+k+".webm"
			}
		}
		sorted := func(m map[string]string) []manifest.Entry {
			var es []manifest.Entry
			for k, v := range m {
				etag, media, _ := strings.Cut(v, "|")
				es = append(es, manifest.Entry{Key: k, ETag: etag, Size: int64(len(etag)), Media: media})
			}
			slices.SortFunc(es, func(a, b manifest.Entry) int { return cmp(a.Key, b.Key) })
			return es
		}
		idx := write(t, ctx, st, fmt.Sprintf("d%d/", round), 37, sorted(old))
		got := map[string]manifest.Change{}
		var order []string
		d := manifest.NewDiffer(manifest.Open(st, idx), func(c manifest.Change, e manifest.Entry) error {
			if _, dup := got[e.Key]; dup {
				t.Fatalf("%s reported twice", e.Key)
			}
			got[e.Key] = c
			order = append(order, e.Key)
			return nil
		})
		for _, e := range sorted(cur) {
			if err := d.Push(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(order) {
			t.Errorf("changes not reported in key order")
		}
		all := maps.Clone(old)
		maps.Copy(all, cur)
		for k := range all {
			var want manifest.Change
			o, inOld := old[k]
			c, inCur := cur[k]
			switch {
			case !inOld:
				want = manifest.Added
			case !inCur:
				want = manifest.Removed
			case o != c:
				want = manifest.Changed
			default:
				want = manifest.Unchanged
			}
			if got[k] != want {
				t.Errorf("round %d key %s: %s, want %s", round, k, got[k], want)
			}
		}
		if len(got) != len(all) {
			t.Errorf("%d keys reported, want %d", len(got), len(all))
		}
	}
}

// Merge reads several sorted lists as one, keys held by several once
// from each, in order.
func TestMerge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := testenv.Store(t, testenv.Config(t))
	lists := [][]string{{"a", "d", "g"}, {"b", "d"}, {}, {"c", "h"}}
	var readers []*manifest.Reader
	for i, l := range lists {
		var es []manifest.Entry
		for _, k := range l {
			es = append(es, manifest.Entry{Key: k})
		}
		readers = append(readers, manifest.Open(st, write(t, ctx, st, fmt.Sprintf("g%d/", i), 2, es)))
	}
	var got []string
	err := manifest.Merge(ctx, readers, func(src int, e manifest.Entry) error {
		got = append(got, fmt.Sprintf("%s%d", e.Key, src))
		return nil
	})
	want := []string{"a0", "b1", "c3", "d0", "d1", "g0", "h3"}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("merged %v %v, want %v", got, err, want)
	}
}
