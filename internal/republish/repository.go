package republish

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Repository is the education index as an OAI-PMH repository: what
// teachers may see, each record stamped with the time its document was
// last written (oai_datestamp), listed in the order of those stamps.
type Repository struct {
	Indices esindex.Indices
	// BaseURL is the provider's address (Identify's baseURL).
	BaseURL string
	// Namespace makes identifiers oai:NAMESPACE:PID.
	Namespace string
	// Landing is the page of a record, for its identifier and location.
	Landing func(id string) string
	Admin   []string
}

// DefaultNamespace names avo's records in OAI identifiers
// (oai:onderwijs.hetarchief.be:PID), wherever avo is reached from.
const DefaultNamespace = "onderwijs.hetarchief.be"

// Set kinds: sets per type, per partner and per education level.
const (
	typeSet    = "type"
	partnerSet = "partner"
	levelSet   = "level"
)

var typeNames = map[string]string{
	"video": "Video", "audio": "Audio", "collectie": "Collecties", "bundel": "Bundels", "opdracht": "Opdrachten",
}

// Identify describes the repository.
func (r *Repository) Identify(ctx context.Context) (oaipmh.Identity, error) {
	earliest := "2000-01-01T00:00:00Z"
	var res struct {
		Aggregations struct {
			First struct {
				Value *float64 `json:"value"`
			} `json:"first"`
		} `json:"aggregations"`
	}
	q := map[string]any{"size": 0, "aggs": map[string]any{"first": map[string]any{"min": map[string]any{"field": esindex.FieldOAIDatestamp}}}}
	if err := esindex.Do(ctx, r.Indices.ES, http.MethodPost, r.both(), q, &res); err != nil {
		return oaipmh.Identity{}, err
	}
	if v := res.Aggregations.First.Value; v != nil {
		earliest = time.UnixMilli(int64(*v)).UTC().Format(stampLayout)
	}
	return oaipmh.Identity{
		RepositoryName: "Archief voor Onderwijs", BaseURL: r.BaseURL, ProtocolVersion: "2.0", AdminEmails: r.Admin,
		EarliestDatestamp: earliest, DeletedRecord: "persistent", Granularity: "YYYY-MM-DDThh:mm:ssZ",
	}, nil
}

const stampLayout = "2006-01-02T15:04:05Z"

// Formats are oai_dc and lom.
func (r *Repository) Formats(context.Context) ([]oaipmh.MetadataFormat, error) {
	return []oaipmh.MetadataFormat{
		{Prefix: "oai_dc", Schema: DCSchema, Namespace: DCNamespace},
		{Prefix: "lom", Schema: LOMSchema, Namespace: LOMNamespace},
	}, nil
}

// Sets are the types, the partners with a visible record, and the
// education levels of the vocabulary.
func (r *Repository) Sets(ctx context.Context) ([]oaipmh.Set, error) {
	var out []oaipmh.Set
	types := make([]string, 0, len(typeNames))
	for t := range typeNames {
		types = append(types, t)
	}
	sort.Strings(types)
	for _, t := range types {
		out = append(out, oaipmh.Set{Spec: typeSet + ":" + t, Name: typeNames[t]})
	}
	var res struct {
		Aggregations struct {
			Partners struct {
				Buckets []struct {
					Key  string `json:"key"`
					Name struct {
						Hits struct {
							Hits []struct {
								Source esindex.Doc `json:"_source"`
							} `json:"hits"`
						} `json:"hits"`
					} `json:"name"`
				} `json:"buckets"`
			} `json:"partners"`
		} `json:"aggregations"`
	}
	q := map[string]any{"size": 0, "aggs": map[string]any{"partners": map[string]any{
		"terms": map[string]any{"field": esindex.FieldProviderID, "size": 1000, "order": map[string]any{"_key": "asc"}},
		"aggs":  map[string]any{"name": map[string]any{"top_hits": map[string]any{"size": 1, "_source": []string{esindex.FieldProvider}}}},
	}}}
	if err := esindex.Do(ctx, r.Indices.ES, http.MethodPost, "/"+r.Indices.Alias(esindex.Education)+"/_search", q, &res); err != nil {
		return nil, err
	}
	for _, b := range res.Aggregations.Partners.Buckets {
		name := b.Key
		if h := b.Name.Hits.Hits; len(h) > 0 && h[0].Source.OriginalCP != "" {
			name = h[0].Source.OriginalCP
		}
		out = append(out, oaipmh.Set{Spec: partnerSet + ":" + b.Key, Name: name})
	}
	v, err := profile.Vocabularies()
	if err != nil {
		return nil, err
	}
	var levels []oaipmh.Set
	for _, c := range v.Search(profile.StructureScheme, "") {
		if c.In(profile.LevelCollection) || c.In(profile.SubLevelCollection) {
			levels = append(levels, oaipmh.Set{Spec: levelSet + ":" + slug(c.URI), Name: c.Label})
		}
	}
	sort.Slice(levels, func(i, j int) bool { return levels[i].Spec < levels[j].Spec })
	return append(out, levels...), nil
}

func slug(uri string) string { return uri[strings.LastIndexByte(uri, '/')+1:] }

// setSpecs are the sets a document belongs to.
func setSpecs(d esindex.Doc) []string {
	var out []string
	if d.AdministrativeType != "" {
		out = append(out, typeSet+":"+d.AdministrativeType)
	}
	if d.OriginalCPID != "" {
		out = append(out, partnerSet+":"+d.OriginalCPID)
	}
	for _, l := range d.LevelIDs {
		out = append(out, levelSet+":"+slug(l))
	}
	return out
}

// setFilter is the query of a set ("" for none).
func setFilter(spec string) (map[string]any, error) {
	kind, value, ok := strings.Cut(spec, ":")
	if !ok || value == "" {
		return nil, fmt.Errorf("no set %s", spec)
	}
	switch kind {
	case typeSet:
		return map[string]any{"term": map[string]any{esindex.FieldType: value}}, nil
	case partnerSet:
		return map[string]any{"term": map[string]any{esindex.FieldProviderID: value}}, nil
	case levelSet:
		return map[string]any{"term": map[string]any{esindex.FieldLevelIDs: profile.StructureScheme + "/" + value}}, nil
	}
	return nil, fmt.Errorf("no set %s", spec)
}

// position is where a list stands: the last record's stamp and id.
type position struct {
	Stamp int64  `json:"t"`
	ID    string `json:"i"`
}

// List returns a page of records in the order of their stamps, then ids;
// a position is a key (search_after), so records that change while a
// client pages are neither skipped nor repeated within [From, Until].
func (r *Repository) List(ctx context.Context, q oaipmh.ListQuery) (oaipmh.ListPage, error) {
	var after *position
	if q.After != "" {
		var p position
		if err := json.Unmarshal([]byte(q.After), &p); err != nil || p.ID == "" {
			return oaipmh.ListPage{}, oaipmh.ErrBadPosition
		}
		after = &p
	}
	filter := []any{}
	window := map[string]any{}
	if q.From != "" {
		t, ok := parseStamp(q.From, false)
		if !ok {
			return oaipmh.ListPage{}, fmt.Errorf("from %q", q.From)
		}
		window["gte"] = t.UnixMilli()
	}
	if q.Until != "" {
		t, ok := parseStamp(q.Until, true)
		if !ok {
			return oaipmh.ListPage{}, fmt.Errorf("until %q", q.Until)
		}
		window["lte"] = t.UnixMilli()
	}
	if len(window) > 0 {
		window["format"] = "epoch_millis"
		filter = append(filter, map[string]any{"range": map[string]any{esindex.FieldOAIDatestamp: window}})
	}
	if q.Set != "" {
		f, err := setFilter(q.Set)
		if err != nil {
			return oaipmh.ListPage{Total: 0}, nil // no such set: no records match
		}
		filter = append(filter, f)
	}
	body := map[string]any{
		"query":            map[string]any{"bool": map[string]any{"filter": filter}},
		"sort":             []any{map[string]any{esindex.FieldOAIDatestamp: "asc"}, map[string]any{esindex.FieldExternalID: "asc"}},
		"size":             q.Limit + 1,
		"track_total_hits": true,
	}
	if after != nil {
		body["search_after"] = []any{after.Stamp, after.ID}
	}
	var res struct {
		Hits struct {
			Total struct {
				Value int `json:"value"`
			} `json:"total"`
			Hits []struct {
				Source esindex.Doc `json:"_source"`
			} `json:"hits"`
		} `json:"hits"`
	}
	if err := esindex.Do(ctx, r.Indices.ES, http.MethodPost, r.both(), body, &res); err != nil {
		return oaipmh.ListPage{}, err
	}
	page := oaipmh.ListPage{Total: res.Hits.Total.Value}
	hits := res.Hits.Hits
	more := len(hits) > q.Limit
	if more {
		hits = hits[:q.Limit]
	}
	// A tombstone whose document is in the education index again (its
	// delete failed, or it came back before the tombstone went) is not
	// a deletion.
	var buried []string
	for _, h := range hits {
		if h.Source.Deleted {
			buried = append(buried, h.Source.ExternalID)
		}
	}
	live, err := r.Indices.Docs(ctx, esindex.Education, buried, esindex.FieldExternalID)
	if err != nil {
		return oaipmh.ListPage{}, err
	}
	for _, h := range hits {
		if _, ok := live[h.Source.ExternalID]; ok && h.Source.Deleted {
			continue
		}
		rec, err := r.record(q.Prefix, h.Source)
		if err != nil {
			return oaipmh.ListPage{}, err
		}
		page.Records = append(page.Records, rec)
	}
	if more {
		last := hits[len(hits)-1].Source
		b, _ := json.Marshal(position{Stamp: last.OAIDatestamp.UnixMilli(), ID: last.ExternalID})
		page.Next = string(b)
	}
	return page, nil
}

// Get returns the record of an identifier oai:NAMESPACE:PID.
func (r *Repository) Get(ctx context.Context, prefix, identifier string) (oaipmh.Record, bool, error) {
	id, ok := strings.CutPrefix(identifier, "oai:"+r.Namespace+":")
	if !ok || id == "" {
		return oaipmh.Record{}, false, nil
	}
	docs, err := r.Indices.Docs(ctx, esindex.Education, []string{id})
	if err != nil {
		return oaipmh.Record{}, false, err
	}
	d, ok := docs[id]
	if !ok {
		// Gone from the education index: a deleted record, if it was ever there.
		var res struct {
			Hits struct {
				Hits []struct {
					Source esindex.Doc `json:"_source"`
				} `json:"hits"`
			} `json:"hits"`
		}
		q := map[string]any{"size": 1, "query": map[string]any{"ids": map[string]any{"values": []string{id}}}}
		if err := esindex.Do(ctx, r.Indices.ES, http.MethodPost, "/"+r.Indices.Gone()+"/_search?ignore_unavailable=true", q, &res); err != nil {
			return oaipmh.Record{}, false, err
		}
		if len(res.Hits.Hits) == 0 {
			return oaipmh.Record{}, false, nil
		}
		d = res.Hits.Hits[0].Source
	}
	rec, err := r.record(prefix, d)
	return rec, err == nil, err
}

// both is the search of the education index and its tombstones.
func (r *Repository) both() string {
	return "/" + r.Indices.Alias(esindex.Education) + "," + r.Indices.Gone() + "/_search?ignore_unavailable=true"
}

// record is a document as a record of format prefix.
func (r *Repository) record(prefix string, d esindex.Doc) (oaipmh.Record, error) {
	stamp := d.UpdatedAt
	if d.OAIDatestamp != nil {
		stamp = *d.OAIDatestamp
	}
	rec := oaipmh.Record{Header: oaipmh.Header{
		Identifier: "oai:" + r.Namespace + ":" + d.ExternalID,
		Datestamp:  stamp.UTC().Format(stampLayout),
		SetSpecs:   setSpecs(d),
		Deleted:    d.Deleted,
	}}
	if d.Deleted {
		return rec, nil
	}
	landing := ""
	if r.Landing != nil {
		landing = r.Landing(d.ExternalID)
	}
	var err error
	switch prefix {
	case "oai_dc":
		rec.Metadata, err = DC(d, landing)
	case "lom":
		v, verr := profile.Vocabularies()
		if verr != nil {
			return rec, verr
		}
		rec.Metadata, err = LOM(d, landing, "oai:"+r.Namespace, v)
	default:
		err = fmt.Errorf("format %s", prefix)
	}
	return rec, err
}

// parseStamp reads a datestamp of either granularity; read as the end of
// a window it covers its whole second, or day: stamps have milliseconds.
func parseStamp(s string, end bool) (time.Time, bool) {
	if t, err := time.Parse(stampLayout, s); err == nil {
		if end {
			t = t.Add(time.Second - time.Millisecond)
		}
		return t, true
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, false
	}
	if end {
		t = t.Add(24*time.Hour - time.Millisecond)
	}
	return t, true
}
