package esindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// NextAlias points at the index a rebuild is filling; writers write there
// too while it exists.
func (ix Indices) NextAlias(kind string) string { return ix.Alias(kind) + "-next" }

// PhysicalIndex is one index behind (or once behind) an alias.
type PhysicalIndex struct {
	Name     string `json:"name"`
	Docs     int    `json:"docs"`
	Bytes    int64  `json:"bytes"`
	Health   string `json:"health"`
	Current  bool   `json:"current"`  // the alias points here
	Building bool   `json:"building"` // a rebuild is filling it
}

// Physical lists the physical indices of kind, oldest first.
func (ix Indices) Physical(ctx context.Context, kind string) ([]PhysicalIndex, error) {
	pattern := ix.Alias(kind) + "-2*" // names end in a timestamp
	var cat []struct {
		Index  string `json:"index"`
		Docs   string `json:"docs.count"`
		Health string `json:"health"`
		Store  string `json:"store.size"`
	}
	err := ix.do(ctx, http.MethodGet, "/_cat/indices/"+pattern+"?format=json&bytes=b&h=index,docs.count,health,store.size&expand_wildcards=open", nil, &cat)
	if err != nil && !IsStatus(err, http.StatusNotFound) {
		return nil, fmt.Errorf("list indices of %s: %w", ix.Alias(kind), err)
	}
	aliases := map[string]map[string]any{}
	if len(cat) > 0 {
		var resp map[string]struct {
			Aliases map[string]any `json:"aliases"`
		}
		if err := ix.do(ctx, http.MethodGet, "/"+pattern+"/_alias", nil, &resp); err != nil && !IsStatus(err, http.StatusNotFound) {
			return nil, err
		}
		for name, a := range resp {
			aliases[name] = a.Aliases
		}
	}
	out := make([]PhysicalIndex, 0, len(cat))
	for _, c := range cat {
		p := PhysicalIndex{Name: c.Index, Health: c.Health}
		p.Docs, _ = strconv.Atoi(c.Docs)
		p.Bytes, _ = strconv.ParseInt(c.Store, 10, 64)
		_, p.Current = aliases[c.Index][ix.Alias(kind)]
		_, p.Building = aliases[c.Index][ix.NextAlias(kind)]
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ErrBuilding is returned when a rebuild of the kind is already filling an index.
var ErrBuilding = errors.New("a rebuild is already filling an index")

// BeginBuild creates a new physical index for kind, tuned for loading
// (no refresh, no replicas), reachable through the -next alias.
func (ix Indices) BeginBuild(ctx context.Context, kind string) (string, error) {
	exists, err := ix.aliasExists(ctx, ix.NextAlias(kind))
	if err != nil {
		return "", err
	}
	if exists {
		return "", fmt.Errorf("%w: %s", ErrBuilding, ix.NextAlias(kind))
	}
	name := ix.newName(kind)
	body := map[string]any{
		"settings": map[string]any{"index": map[string]any{"refresh_interval": "-1", "number_of_replicas": 0}},
		"aliases":  map[string]any{ix.NextAlias(kind): map[string]any{}},
	}
	if err := ix.do(ctx, http.MethodPut, "/"+name, body, nil); err != nil {
		return "", fmt.Errorf("create index %s: %w", name, err)
	}
	return name, nil
}

// FinishBuild restores the index's serving settings (those of the
// template) and makes everything loaded visible.
func (ix Indices) FinishBuild(ctx context.Context, kind, name string) error {
	body, err := Body(kind)
	if err != nil {
		return err
	}
	replicas := any(nil) // the cluster's default unless the definition names one
	if s, ok := body["settings"].(map[string]any); ok {
		if i, ok := s["index"].(map[string]any); ok {
			if r, ok := i["number_of_replicas"]; ok {
				replicas = r
			}
		}
	}
	settings := map[string]any{"index": map[string]any{"refresh_interval": nil, "number_of_replicas": replicas}}
	if err := ix.do(ctx, http.MethodPut, "/"+name+"/_settings", settings, nil); err != nil {
		return fmt.Errorf("restore settings of %s: %w", name, err)
	}
	return ix.do(ctx, http.MethodPost, "/"+name+"/_refresh", nil, nil)
}

// CountIndex returns the number of documents in a physical index.
func (ix Indices) CountIndex(ctx context.Context, name string) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	err := ix.do(ctx, http.MethodGet, "/"+name+"/_count", nil, &out)
	return out.Count, err
}

// Swap points the alias of kind at name in one _aliases call (searches
// never see a moment without it) and ends the rebuild's -next alias. It
// returns the indices the alias left.
func (ix Indices) Swap(ctx context.Context, kind, name string) ([]string, error) {
	phys, err := ix.Physical(ctx, kind)
	if err != nil {
		return nil, err
	}
	var actions []map[string]any
	var previous []string
	for _, p := range phys {
		if p.Current && p.Name != name {
			previous = append(previous, p.Name)
			actions = append(actions, map[string]any{"remove": map[string]any{"index": p.Name, "alias": ix.Alias(kind)}})
		}
		if p.Building {
			actions = append(actions, map[string]any{"remove": map[string]any{"index": p.Name, "alias": ix.NextAlias(kind)}})
		}
	}
	actions = append(actions, map[string]any{"add": map[string]any{"index": name, "alias": ix.Alias(kind), "is_write_index": true}})
	if err := ix.do(ctx, http.MethodPost, "/_aliases", map[string]any{"actions": actions}, nil); err != nil {
		return nil, fmt.Errorf("swap %s to %s: %w", ix.Alias(kind), name, err)
	}
	return previous, nil
}

// Rollback points the alias of kind back at the newest index older than
// the current one.
func (ix Indices) Rollback(ctx context.Context, kind string) (from, to string, err error) {
	phys, err := ix.Physical(ctx, kind)
	if err != nil {
		return "", "", err
	}
	for _, p := range phys {
		if p.Current {
			from = p.Name
		}
	}
	if from == "" {
		return "", "", fmt.Errorf("%s points at no index", ix.Alias(kind))
	}
	for _, p := range phys {
		if p.Name < from && !p.Building {
			to = p.Name
		}
	}
	if to == "" {
		return from, "", fmt.Errorf("no index older than %s to roll back to", from)
	}
	_, err = ix.Swap(ctx, kind, to)
	return from, to, err
}

// Prune deletes the indices of kind that the alias left, but the newest
// keep of them; the current and a building index are never touched.
func (ix Indices) Prune(ctx context.Context, kind string, keep int) ([]string, error) {
	phys, err := ix.Physical(ctx, kind)
	if err != nil {
		return nil, err
	}
	var old []string
	for _, p := range phys {
		if !p.Current && !p.Building {
			old = append(old, p.Name)
		}
	}
	var deleted []string
	for i := 0; i < len(old)-keep; i++ {
		if err := ix.do(ctx, http.MethodDelete, "/"+old[i], nil, nil); err != nil {
			return deleted, fmt.Errorf("delete %s: %w", old[i], err)
		}
		deleted = append(deleted, old[i])
	}
	return deleted, nil
}

// Abandon deletes an index a failed rebuild was filling, unless the alias
// of kind points at it by then (the swap went through): that one stays.
func (ix Indices) Abandon(ctx context.Context, kind, name string) error {
	phys, err := ix.Physical(ctx, kind)
	if err != nil {
		return err
	}
	for _, p := range phys {
		if p.Name == name && p.Current {
			return nil
		}
	}
	err = ix.do(ctx, http.MethodDelete, "/"+name, nil, nil)
	if IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// RecordURI returns where the catalog says the record of an item is kept
// in S3, "" when the catalog does not hold the item.
func (ix Indices) RecordURI(ctx context.Context, id string) (string, error) {
	var doc hit
	err := ix.do(ctx, http.MethodGet, "/"+ix.Alias(Catalog)+"/_doc/"+url.PathEscape(id)+"?_source_includes="+FieldRecord, nil, &doc)
	if IsStatus(err, http.StatusNotFound) {
		return "", nil
	}
	return doc.Source.Provenance.Record, err
}

func (ix Indices) newName(kind string) string {
	return ix.Alias(kind) + "-" + strings.ReplaceAll(time.Now().UTC().Format("20060102t150405.000"), ".", "")
}

// WindowItem is a catalog item whose visibility changes at a time.
type WindowItem struct {
	ID        string `json:"id"`
	RecordURI string `json:"record"`
}

// WindowEdges lists, a page at a time, the catalog items whose publish
// window opens or closes, or whose licence expires, in (from, to]: their
// place in the education index may have changed with the clock alone.
// after is the last ID of the previous page.
func (ix Indices) WindowEdges(ctx context.Context, from, to time.Time, after string, size int) ([]WindowItem, error) {
	between := map[string]any{"gt": from.UTC().Format(time.RFC3339Nano), "lte": to.UTC().Format(time.RFC3339Nano)}
	var should []any
	for _, f := range []string{FieldPublishAt, FieldDepublishAt, FieldExpiryDate} {
		should = append(should, map[string]any{"range": map[string]any{f: between}})
	}
	body := map[string]any{
		"query":   map[string]any{"bool": map[string]any{"should": should, "minimum_should_match": 1}},
		"sort":    []any{map[string]any{FieldExternalID: "asc"}},
		"size":    size,
		"_source": []string{FieldRecord},
	}
	if after != "" {
		body["search_after"] = []string{after}
	}
	var res hits
	if err := ix.do(ctx, http.MethodPost, "/"+ix.Alias(Catalog)+"/_search", body, &res); err != nil {
		return nil, fmt.Errorf("items with publish window edges: %w", err)
	}
	out := make([]WindowItem, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		out = append(out, WindowItem{ID: h.ID, RecordURI: h.Source.Provenance.Record})
	}
	return out, nil
}

// DocRef is a document and its record's identifier at the source.
type DocRef struct {
	ID         string
	Identifier string
}

// IDsOf returns the documents, in either index, of a source's records
// with these source identifiers: what a deletion must remove when S3 no
// longer says (a run stopped between its index and S3 writes).
func (ix Indices) IDsOf(ctx context.Context, source string, identifiers []string) ([]DocRef, error) {
	seen := map[string]bool{}
	var out []DocRef
	for chunk := range slices.Chunk(identifiers, 500) {
		body := map[string]any{
			"query": map[string]any{"bool": map[string]any{"filter": []any{
				map[string]any{"term": map[string]any{FieldSource: source}},
				map[string]any{"terms": map[string]any{FieldIdentifier: chunk}},
			}}},
			"size":    2 * len(chunk), // a document in each index
			"_source": []string{FieldIdentifier},
		}
		var res hits
		path := "/" + ix.Alias(Catalog) + "," + ix.Alias(Education) + "/_search?ignore_unavailable=true"
		if err := ix.do(ctx, http.MethodPost, path, body, &res); err != nil {
			return nil, fmt.Errorf("documents of %s records: %w", source, err)
		}
		for _, h := range res.Hits.Hits {
			if !seen[h.ID] {
				seen[h.ID] = true
				out = append(out, DocRef{ID: h.ID, Identifier: h.Source.Provenance.Identifier})
			}
		}
	}
	return out, nil
}

// RollbackPlan names the index the alias of kind points at (from), the
// newest older one (to), and since when to has missed writes: from the
// creation of the index after it, less lead (writers opened before it).
func (ix Indices) RollbackPlan(ctx context.Context, kind string, lead time.Duration) (from, to string, since time.Time, err error) {
	phys, err := ix.Physical(ctx, kind)
	if err != nil {
		return "", "", since, err
	}
	next := ""
	for _, p := range phys {
		if p.Current {
			from = p.Name
		}
	}
	if from == "" {
		return "", "", since, fmt.Errorf("%s points at no index", ix.Alias(kind))
	}
	for _, p := range phys {
		if p.Building {
			return from, "", since, fmt.Errorf("%w: %s (wait for it, or roll back after)", ErrBuilding, p.Name)
		}
		if p.Name < from {
			to = p.Name
		}
	}
	if to == "" {
		return from, "", since, fmt.Errorf("no index older than %s to roll back to", from)
	}
	for _, p := range phys {
		if p.Name > to && (next == "" || p.Name < next) {
			next = p.Name
		}
	}
	created, err := time.Parse("20060102t150405.000", insertDot(strings.TrimPrefix(next, ix.Alias(kind)+"-")))
	if err != nil {
		return from, to, since, fmt.Errorf("when %s began: %w", next, err)
	}
	return from, to, created.Add(-lead), nil
}

// insertDot puts the dot back into a name's milliseconds (newName takes it out).
func insertDot(ts string) string {
	if len(ts) < 4 {
		return ts
	}
	return ts[:len(ts)-3] + "." + ts[len(ts)-3:]
}

// Reopen points the -next alias of kind at an existing index, so that
// live writes reach it while it catches up.
func (ix Indices) Reopen(ctx context.Context, kind, name string) error {
	exists, err := ix.aliasExists(ctx, ix.NextAlias(kind))
	if err != nil {
		return err
	}
	if exists {
		return fmt.Errorf("%w: %s", ErrBuilding, ix.NextAlias(kind))
	}
	body := map[string]any{"actions": []any{map[string]any{"add": map[string]any{"index": name, "alias": ix.NextAlias(kind)}}}}
	return ix.do(ctx, http.MethodPost, "/_aliases", body, nil)
}

// Unopen takes the -next alias of kind off an index Reopen opened.
func (ix Indices) Unopen(ctx context.Context, kind, name string) error {
	body := map[string]any{"actions": []any{map[string]any{"remove": map[string]any{"index": name, "alias": ix.NextAlias(kind)}}}}
	err := ix.do(ctx, http.MethodPost, "/_aliases", body, nil)
	if IsStatus(err, http.StatusNotFound) {
		return nil
	}
	return err
}

// Holder names the source record whose document the catalog holds under
// id; found is false when it holds none.
func (ix Indices) Holder(ctx context.Context, id string) (source, identifier string, found bool, err error) {
	var doc hit
	path := "/" + ix.Alias(Catalog) + "/_doc/" + url.PathEscape(id) + "?_source_includes=" + FieldSource + "," + FieldIdentifier
	err = ix.do(ctx, http.MethodGet, path, nil, &doc)
	if IsStatus(err, http.StatusNotFound) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("holder of %s: %w", id, err)
	}
	return doc.Source.SourceID, doc.Source.Provenance.Identifier, true, nil
}

// hit is a document as a GET or a search answers it, its fields those of
// Doc that the request asked for.
type hit struct {
	ID     string `json:"_id"`
	Source Doc    `json:"_source"`
}

// hits is a search's answer.
type hits struct {
	Hits struct {
		Hits []hit `json:"hits"`
	} `json:"hits"`
}

// Known is what the catalog holds of a document that a harvest is about
// to write: whose it is, what it was made from, and whether editors
// decided about it.
type Known struct {
	Source, Identifier string
	ContentHash        string
	Editorial          bool
	// Harvest and Datestamp say which run wrote it, from which version
	// of the source record.
	Harvest, Datestamp string
}

// Lookup reads what the catalog holds of the documents ids, in one
// request (_mget); ids the catalog does not hold are missing from the map.
func (ix Indices) Lookup(ctx context.Context, ids []string) (map[string]Known, error) {
	docs, err := ix.Docs(ctx, Catalog, ids, FieldSource, FieldIdentifier, FieldContentHash, FieldEditorialAt, FieldHarvest, FieldDatestamp)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Known, len(docs))
	for id, d := range docs {
		out[id] = Known{Source: d.SourceID, Identifier: d.Provenance.Identifier,
			ContentHash: d.Provenance.ContentHash, Editorial: d.EditorialAt != nil,
			Harvest: d.Provenance.Harvest, Datestamp: d.Provenance.Datestamp}
	}
	return out, nil
}

// Docs reads the documents ids of kind in one request (_mget), only the
// fields named (all when none); ids the index does not hold are missing
// from the map.
func (ix Indices) Docs(ctx context.Context, kind string, ids []string, fields ...string) (map[string]Doc, error) {
	out := map[string]Doc{}
	if len(ids) == 0 {
		return out, nil
	}
	// Sources stay raw until found: most ids a harvest asks about are
	// not there, and a slice of whole documents grown for each answer was
	// 7 % of what a harvesting worker allocated.
	type answer struct {
		ID     string          `json:"_id"`
		Found  bool            `json:"found"`
		Source json.RawMessage `json:"_source"`
	}
	res := struct {
		Docs []answer `json:"docs"`
	}{Docs: make([]answer, 0, len(ids))}
	path := "/" + ix.Alias(kind) + "/_mget"
	if len(fields) > 0 {
		path += "?_source_includes=" + url.QueryEscape(strings.Join(fields, ","))
	}
	if err := ix.do(ctx, http.MethodPost, path, map[string][]string{"ids": ids}, &res); err != nil {
		return nil, fmt.Errorf("read %d documents of %s: %w", len(ids), ix.Alias(kind), err)
	}
	for _, d := range res.Docs {
		if !d.Found {
			continue
		}
		var doc Doc
		if err := json.Unmarshal(d.Source, &doc); err != nil {
			return nil, fmt.Errorf("document %s of %s: %w", d.ID, ix.Alias(kind), err)
		}
		out[d.ID] = doc
	}
	return out, nil
}

// Holding returns the ids of the catalog's items that curated set holds.
func (ix Indices) Holding(ctx context.Context, set string) ([]string, error) {
	var res hits
	q := map[string]any{"size": 10000, "_source": false, "query": map[string]any{"term": map[string]any{FieldCuratedSets: set}}}
	if err := ix.do(ctx, http.MethodPost, "/"+ix.Alias(Catalog)+"/_search", q, &res); err != nil {
		return nil, fmt.Errorf("items of set %s in %s: %w", set, ix.Alias(Catalog), err)
	}
	out := make([]string, 0, len(res.Hits.Hits))
	for _, h := range res.Hits.Hits {
		out = append(out, h.ID)
	}
	return out, nil
}

// Referring returns the ids of the education index's documents whose
// content_refs name any of ids: the public teachers' pieces that hold
// those items, or the bundles that hold those pieces.
func (ix Indices) Referring(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	if len(ids) == 0 {
		return out, nil
	}
	after := ""
	for {
		body := map[string]any{
			"query":   map[string]any{"terms": map[string]any{FieldContentRefs: ids}},
			"sort":    []any{map[string]any{FieldExternalID: "asc"}},
			"size":    1000,
			"_source": false,
		}
		if after != "" {
			body["search_after"] = []string{after}
		}
		var res hits
		if err := ix.do(ctx, http.MethodPost, "/"+ix.Alias(Education)+"/_search", body, &res); err != nil {
			return nil, fmt.Errorf("pieces holding %d documents in %s: %w", len(ids), ix.Alias(Education), err)
		}
		for _, h := range res.Hits.Hits {
			out = append(out, h.ID)
		}
		if len(res.Hits.Hits) < 1000 {
			return out, nil
		}
		after = res.Hits.Hits[len(res.Hits.Hits)-1].ID
	}
}
