package search

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Searcher runs searches on one index (an alias).
type Searcher struct {
	ES    *elasticsearch.Client
	Index string
	Vocab *profile.Vocabulary
}

// NewSearcher returns a searcher on index with the shipped vocabularies.
func NewSearcher(es *elasticsearch.Client, index string) (*Searcher, error) {
	v, err := profile.Vocabularies()
	if err != nil {
		return nil, err
	}
	return &Searcher{ES: es, Index: index, Vocab: v}, nil
}

// Hit is one result.
type Hit struct {
	ID          string   `json:"id"`
	Score       float64  `json:"score,omitempty"`
	Title       string   `json:"title"`
	Series      string   `json:"series,omitempty"`
	Type        string   `json:"type,omitempty"`
	Provider    string   `json:"provider,omitempty"`
	Broadcast   string   `json:"broadcast,omitempty"`
	Duration    int      `json:"duration_seconds,omitempty"`
	Thumbnail   string   `json:"thumbnail,omitempty"`
	Description string   `json:"description,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
	Languages   []string `json:"languages,omitempty"`
	// Education labels: levels, degrees, subjects, themes.
	Levels   []string `json:"levels,omitempty"`
	Degrees  []string `json:"degrees,omitempty"`
	Subjects []string `json:"subjects,omitempty"`
	Themes   []string `json:"themes,omitempty"`
	Source   string   `json:"source,omitempty"`
	// A curated set's or teacher's piece: its owner's name, and how many
	// items (a bundle: collections and assignments) teachers can see.
	Owner     string `json:"owner,omitempty"`
	ItemCount int    `json:"item_count,omitempty"`
	// Highlight holds HTML: the text escaped, the matches in <mark>.
	Highlight *Highlight `json:"highlight,omitempty"`
}

// Highlight shows where the text matched.
type Highlight struct {
	Title       string   `json:"title,omitempty"`
	Description []string `json:"description,omitempty"`
}

// Bucket is one value of a facet.
type Bucket struct {
	Value    string `json:"value"`
	Label    string `json:"label"`
	Count    int    `json:"count"`
	Selected bool   `json:"selected,omitempty"`
}

// Response is a page of results with the facets.
type Response struct {
	Total  int                 `json:"total"`
	Took   int                 `json:"took_ms"`
	From   int                 `json:"from"`
	Size   int                 `json:"size"`
	Hits   []Hit               `json:"hits"`
	Facets map[string][]Bucket `json:"facets"`
}

type rawHit struct {
	ID        string              `json:"_id"`
	Score     *float64            `json:"_score"`
	Source    esindex.Doc         `json:"_source"`
	Highlight map[string][]string `json:"highlight"`
}

// maxDescription bounds the description a hit shows, in characters.
const maxDescription = 300

// hitOf is what a hit shows of a document: the full description, or
// (full false) its beginning.
func hitOf(d esindex.Doc, full bool) Hit {
	h := Hit{
		ID: d.ExternalID, Title: d.Title, Series: d.Series, Type: d.AdministrativeType, Provider: d.OriginalCP,
		Broadcast: d.Issued, Duration: d.DurationSeconds, Thumbnail: d.Thumbnail, Description: d.Abstract,
		Keywords: d.Keywords, Languages: d.Languages, Source: d.SourceID, Owner: d.OwnerName, ItemCount: d.ItemCount,
		Levels: dedupe(d.Context), Degrees: dedupe(d.TypicalAgeRange), Subjects: dedupe(d.Classification), Themes: dedupe(d.ThemeLabels),
	}
	if d.IssuedEDTF != "" {
		h.Broadcast = d.IssuedEDTF
	}
	if !full && utf8.RuneCountInString(h.Description) > maxDescription {
		h.Description = string([]rune(h.Description)[:maxDescription]) + "…"
	}
	return h
}

// dedupe drops labels that differ from an earlier one only in case
// (a legacy label beside its concept's).
func dedupe(labels []string) []string {
	var out []string
	for _, l := range labels {
		if !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, l) }) {
			out = append(out, l)
		}
	}
	return out
}

// ErrNotFound is returned for an item the index does not hold.
var ErrNotFound = errors.New("not found")

// Search runs a request (validated here) and reads the page and facets.
func (s *Searcher) Search(ctx context.Context, r Request) (*Response, error) {
	if err := r.Validate(); err != nil {
		return nil, &RequestError{err}
	}
	var raw struct {
		Took int `json:"took"`
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []rawHit `json:"hits"`
		} `json:"hits"`
		Aggs map[string]struct {
			V struct {
				Buckets []struct {
					Key   string `json:"key"`
					Count int    `json:"doc_count"`
				} `json:"buckets"`
			} `json:"v"`
		} `json:"aggregations"`
	}
	if err := s.post(ctx, "_search", Body(r, s.Vocab), &raw); err != nil {
		return nil, err
	}
	out := &Response{Total: raw.Hits.Total.Value, Took: raw.Took, From: r.From, Size: r.Size, Hits: make([]Hit, 0, len(raw.Hits.Hits)), Facets: map[string][]Bucket{}}
	for _, rh := range raw.Hits.Hits {
		h := hitOf(rh.Source, false)
		if rh.Score != nil {
			h.Score = *rh.Score
		}
		if len(rh.Highlight) > 0 {
			hl := &Highlight{Description: rh.Highlight[esindex.FieldAbstract]}
			if t := rh.Highlight[esindex.FieldTitle]; len(t) > 0 {
				hl.Title = t[0]
			}
			h.Highlight = hl
		}
		out.Hits = append(out.Hits, h)
	}
	for _, f := range facetFilters(r) {
		buckets := []Bucket{}
		for _, b := range raw.Aggs["f_"+f.Name].V.Buckets {
			buckets = append(buckets, Bucket{Value: b.Key, Label: s.label(f, b.Key), Count: b.Count, Selected: slices.Contains(r.Filters[f.Name], b.Key)})
		}
		out.Facets[f.Name] = buckets
	}
	return out, nil
}

// label names a facet value: a concept's label, else the value itself.
func (s *Searcher) label(f Filter, value string) string {
	if f.Scheme != "" && s.Vocab != nil {
		if c, ok := s.Vocab.Concept(value); ok {
			return c.Label
		}
	}
	return value
}

// Facet counts the values of one filter containing text.
func (s *Searcher) Facet(ctx context.Context, r Request, name, text string) ([]Bucket, error) {
	if err := r.Validate(); err != nil {
		return nil, &RequestError{err}
	}
	body, ok := FacetBody(r, name, text, s.Vocab)
	if !ok {
		return nil, &RequestError{fmt.Errorf("no facet %q in the %s scope: want one of %s", name, r.Scope, filterNames(r.Scope))}
	}
	var raw struct {
		Aggs map[string]struct {
			V struct {
				Buckets []struct {
					Key   string `json:"key"`
					Count int    `json:"doc_count"`
				} `json:"buckets"`
			} `json:"v"`
		} `json:"aggregations"`
	}
	if err := s.post(ctx, "_search", body, &raw); err != nil {
		return nil, err
	}
	f, _ := FilterNamed(name)
	out := []Bucket{}
	for _, b := range raw.Aggs["f_"+name].V.Buckets {
		out = append(out, Bucket{Value: b.Key, Label: s.label(f, b.Key), Count: b.Count, Selected: slices.Contains(r.Filters[name], b.Key)})
	}
	return out, nil
}

// Suggest returns up to size keywords starting with prefix.
func (s *Searcher) Suggest(ctx context.Context, prefix string, size int) ([]string, error) {
	prefix = strings.TrimSpace(prefix)
	if prefix == "" {
		return []string{}, nil
	}
	if size <= 0 || size > 20 {
		size = 10
	}
	var raw struct {
		Suggest map[string][]struct {
			Options []struct {
				Text string `json:"text"`
			} `json:"options"`
		} `json:"suggest"`
	}
	if err := s.post(ctx, "_search", SuggestBody(prefix, size), &raw); err != nil {
		return nil, err
	}
	out := []string{}
	for _, e := range raw.Suggest["kw"] {
		for _, o := range e.Options {
			if !slices.ContainsFunc(out, func(x string) bool { return strings.EqualFold(x, o.Text) }) {
				out = append(out, o.Text)
			}
		}
	}
	return out, nil
}

// Item returns one item as the scope may see it.
func (s *Searcher) Item(ctx context.Context, id, scope string) (*Hit, error) {
	d, err := s.doc(ctx, id, scope, sourceFields)
	if err != nil {
		return nil, err
	}
	h := hitOf(d, true)
	return &h, nil
}

// Browse returns an item and where its browse copy lies (nil when its
// partner keeps none), for a caller in scope.
func (s *Searcher) Browse(ctx context.Context, id, scope string) (*Hit, *profile.Media, error) {
	d, err := s.doc(ctx, id, scope, append(slices.Clip(sourceFields), "media"))
	if err != nil {
		return nil, nil, err
	}
	h := hitOf(d, true)
	return &h, d.Media, nil
}

// doc reads the fields of one document a caller in scope may see.
func (s *Searcher) doc(ctx context.Context, id, scope string, fields []string) (esindex.Doc, error) {
	r := Request{Scope: scope}
	if err := r.Validate(); err != nil {
		return esindex.Doc{}, &RequestError{err}
	}
	var raw struct {
		Source esindex.Doc `json:"_source"`
	}
	err := s.do(ctx, http.MethodGet, "_doc/"+url.PathEscape(id)+"?_source_includes="+strings.Join(fields, ","), nil, &raw)
	if err != nil {
		return esindex.Doc{}, err
	}
	if r.Scope == Pupil && !slices.Contains(PupilTypes, raw.Source.AdministrativeType) {
		return esindex.Doc{}, fmt.Errorf("%w: item %s", ErrNotFound, id)
	}
	return raw.Source, nil
}

// Related returns items like the one with id.
func (s *Searcher) Related(ctx context.Context, id string, r Request) ([]Hit, error) {
	if r.Size == 0 {
		r.Size = 6
	}
	if err := r.Validate(); err != nil {
		return nil, &RequestError{err}
	}
	if _, err := s.Item(ctx, id, r.Scope); err != nil {
		return nil, err
	}
	var raw struct {
		Hits struct {
			Hits []rawHit `json:"hits"`
		} `json:"hits"`
	}
	if err := s.post(ctx, "_search", RelatedBody(r, id), &raw); err != nil {
		return nil, err
	}
	out := make([]Hit, 0, len(raw.Hits.Hits))
	for _, rh := range raw.Hits.Hits {
		h := hitOf(rh.Source, false)
		if rh.Score != nil {
			h.Score = *rh.Score
		}
		out = append(out, h)
	}
	return out, nil
}

// RequestError is a request the user must change (a 400).
type RequestError struct{ Err error }

func (e *RequestError) Error() string { return e.Err.Error() }
func (e *RequestError) Unwrap() error { return e.Err }

func (s *Searcher) post(ctx context.Context, path string, body, out any) error {
	return s.do(ctx, http.MethodPost, path, body, out)
}

// do sends one request to the index; a 404 of a GET is ErrNotFound.
func (s *Searcher) do(ctx context.Context, method, path string, body, out any) error {
	err := esindex.Do(ctx, s.ES, method, "/"+s.Index+"/"+path, body, out)
	if method == http.MethodGet && esindex.IsStatus(err, http.StatusNotFound) {
		return fmt.Errorf("%w: %s", ErrNotFound, path)
	}
	if err != nil {
		return fmt.Errorf("search %s: %w", s.Index, err)
	}
	return nil
}

// Run searches index once with a new Searcher.
func Run(ctx context.Context, es *elasticsearch.Client, index string, r Request) (*Response, error) {
	s, err := NewSearcher(es, index)
	if err != nil {
		return nil, err
	}
	return s.Search(ctx, r)
}
