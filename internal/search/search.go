// Package search builds and runs the queries over avo's indices; the CLI
// and the search API share it, so both behave the same.
package search

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/elastic/go-elasticsearch/v8"
)

// Request is a search as a user states it.
type Request struct {
	Text string `json:"q"`
	From int    `json:"from"`
	Size int    `json:"size"`
}

// MaxWindow is how deep results can be paged (the index's max_result_window).
const MaxWindow = 10000

// Validate checks paging bounds.
func (r Request) Validate() error {
	if r.From < 0 || r.Size < 0 {
		return errors.New("from and size must not be negative")
	}
	if r.Size > 100 {
		return errors.New("size is at most 100")
	}
	if r.From+r.Size > MaxWindow {
		return fmt.Errorf("from + size is at most %d", MaxWindow)
	}
	return nil
}

// textFields are searched by free text, title first: the boosts of the
// current Archive for Education search.
var textFields = []string{
	"dc_title^4", "dc_title.exact^2",
	"lom_keywords^3",
	"dc_titles_serie^2",
	"dcterms_abstract", "dc_subjects", "original_cp",
}

// Body builds the Elasticsearch request body.
func Body(r Request) map[string]any {
	size := r.Size
	if size == 0 {
		size = 10
	}
	query := map[string]any{"match_all": map[string]any{}}
	if r.Text != "" {
		query = map[string]any{
			"multi_match": map[string]any{
				"query":  r.Text,
				"type":   "best_fields",
				"fields": textFields,
			},
		}
	}
	return map[string]any{
		"query":            query,
		"from":             r.From,
		"size":             size,
		"track_total_hits": true,
		"_source": []string{
			"external_id", "dc_title", "dc_titles_serie", "administrative_type", "original_cp",
			"dcterms_issued", "lom_keywords", "source_id",
		},
	}
}

// Hit is one result.
type Hit struct {
	ID       string   `json:"id"`
	Score    float64  `json:"score"`
	Title    string   `json:"title"`
	Series   string   `json:"series,omitempty"`
	Type     string   `json:"type,omitempty"`
	Provider string   `json:"provider,omitempty"`
	Issued   string   `json:"issued,omitempty"`
	Keywords []string `json:"keywords,omitempty"`
	Source   string   `json:"source"`
}

// Response is a page of results.
type Response struct {
	Total int   `json:"total"`
	Took  int   `json:"took_ms"`
	Hits  []Hit `json:"hits"`
}

// Run sends r to index (an alias) and reads the results.
func Run(ctx context.Context, es *elasticsearch.Client, index string, r Request) (*Response, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(Body(r))
	if err != nil {
		return nil, err
	}
	res, err := es.Search(es.Search.WithContext(ctx), es.Search.WithIndex(index), es.Search.WithBody(bytes.NewReader(body)))
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", index, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, err
	}
	if res.IsError() {
		return nil, fmt.Errorf("search %s: %s: %s", index, res.Status(), b)
	}
	var raw struct {
		Took int `json:"took"`
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				ID     string  `json:"_id"`
				Score  float64 `json:"_score"`
				Source struct {
					Title    string   `json:"dc_title"`
					Series   string   `json:"dc_titles_serie"`
					Type     string   `json:"administrative_type"`
					Provider string   `json:"original_cp"`
					Issued   string   `json:"dcterms_issued"`
					Keywords []string `json:"lom_keywords"`
					Source   string   `json:"source_id"`
				} `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("search %s: read response: %w", index, err)
	}
	out := &Response{Total: raw.Hits.Total.Value, Took: raw.Took, Hits: make([]Hit, 0, len(raw.Hits.Hits))}
	for _, h := range raw.Hits.Hits {
		s := h.Source
		out.Hits = append(out.Hits, Hit{
			ID: h.ID, Score: h.Score, Title: s.Title, Series: s.Series, Type: s.Type,
			Provider: s.Provider, Issued: s.Issued, Keywords: s.Keywords, Source: s.Source,
		})
	}
	return out, nil
}
