package sources

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/archiefvooronderwijs/avo/internal/manifest"
)

// pair runs keys (sorted here, as a listing gives them) through a Pairer,
// .xml keys being the metadata, and returns "key=media" per entry.
func pair(t *testing.T, keys ...string) []string {
	t.Helper()
	sort.Strings(keys)
	var out []string
	p := NewPairer(func(e manifest.Entry) error {
		out = append(out, e.Key+"="+e.Media)
		return nil
	})
	for _, k := range keys {
		var e *manifest.Entry
		if strings.HasSuffix(k, ".xml") {
			e = &manifest.Entry{Key: k, ETag: "e-" + k}
		}
		if err := p.Add(k, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPairerFindsTheBrowseCopyBesideTheMetadata(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
		want []string
	}{
		{"a sidecar after its mp4", []string{"s/a.mp4", "s/a.xml"}, []string{"s/a.xml=s/a.mp4"}},
		{"a sidecar before its webm", []string{"s/a.xml", "s/a.webm"}, []string{"s/a.xml=s/a.webm"}},
		{"webm is preferred to mp4, a master is no browse copy", []string{"s/a.mxf", "s/a.mp4", "s/a.webm", "s/a.xml"}, []string{"s/a.xml=s/a.webm"}},
		{"only a master: none", []string{"s/a.mxf", "s/a.xml"}, []string{"s/a.xml="}},
		{"named after the essence", []string{"s/a.mp4", "s/a.mp4.xml", "s/a.webm"}, []string{"s/a.mp4.xml=s/a.mp4"}},
		{"case of the extension", []string{"s/a.MP4", "s/a.xml"}, []string{"s/a.xml=s/a.MP4"}},
		{"neighbours are no family", []string{"s/a-1.mp4", "s/a.xml", "s/a/b.mp4", "s/ab.webm", "s/b.xml"}, []string{"s/a.xml=", "s/b.xml="}},
		{"audio", []string{"s/a.mp3", "s/a.xml"}, []string{"s/a.xml=s/a.mp3"}},
		{"several families in order", []string{"s/a.mp4", "s/a.xml", "s/b.xml", "s/c.webm", "s/c.xml", "t/a.xml"},
			[]string{"s/a.xml=s/a.mp4", "s/b.xml=", "s/c.xml=s/c.webm", "t/a.xml="}},
		{"a key without a dot", []string{"s/a", "s/a.mp4", "s/a.xml"}, []string{"s/a.xml=s/a.mp4"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := pair(t, c.keys...); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// A family too large to hold is passed on in order, without browse
// copies past the bound; nothing is lost.
func TestPairerBoundsAFamily(t *testing.T) {
	keys := []string{"s/a.0000.mp4"}
	for i := range maxFamily + 500 {
		keys = append(keys, fmt.Sprintf("s/a.%04d.xml", i+1))
	}
	keys = append(keys, "s/b.xml")
	got := pair(t, keys...)
	if len(got) != maxFamily+501 || !slices.IsSorted(got) {
		t.Fatalf("%d entries (sorted %v), want %d in order", len(got), slices.IsSorted(got), maxFamily+501)
	}
	if got[0] != "s/a.0001.xml=s/a.0000.mp4" || !strings.HasSuffix(got[len(got)-2], ".xml=") {
		t.Errorf("first %s, last of the family %s", got[0], got[len(got)-2])
	}
}

func TestBrowseType(t *testing.T) {
	for key, want := range map[string]string{"a.webm": "video/webm", "a/B.MP4": "video/mp4", "a.mp3": "audio/mpeg", "a.mxf": "", "a.xml": "", "a": ""} {
		if got := BrowseType(key); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
}
