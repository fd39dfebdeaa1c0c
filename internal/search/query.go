package search

import (
	"regexp"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

type obj = map[string]any

// Text fields and their boosts, after the current Archive for Education:
// title first, then keywords and series, then the description. The
// .exact fields (accent-folded, not stemmed) reward the very words.
var (
	phraseFields = []string{
		esindex.FieldTitle + "^20", esindex.FieldTitle + esindex.Exact + "^20", esindex.FieldKeywords + "^10",
		esindex.FieldSeries + "^10", esindex.FieldAbstract, esindex.FieldAbstract + esindex.Exact,
	}
	wordFields  = []string{esindex.FieldTitle + "^20", esindex.FieldKeywords + "^10", esindex.FieldSeries + "^10", esindex.FieldAbstract}
	fuzzyFields = []string{esindex.FieldTitle + "^4", esindex.FieldKeywords + "^2", esindex.FieldSeries + "^2"}
)

// sourceFields are what a hit shows.
var sourceFields = []string{
	esindex.FieldExternalID, esindex.FieldTitle, esindex.FieldSeries, esindex.FieldType, esindex.FieldProvider,
	esindex.FieldIssued, esindex.FieldIssuedEDTF, esindex.FieldDuration, esindex.FieldThumbnail, esindex.FieldAbstract,
	esindex.FieldKeywords, esindex.FieldLevelLabels, esindex.FieldDegreeLabels, esindex.FieldSubjectLabels,
	esindex.FieldThemeLabels, esindex.FieldLanguages, esindex.FieldSource, esindex.FieldOwnerName, esindex.FieldItemCount,
}

// textQuery scores documents on the search text: a phrase (words close
// together) counts most, then most of the words anywhere, then words
// spelt slightly differently.
func textQuery(text string) obj {
	return obj{"bool": obj{
		"should":               append(wordClauses(text), obj{"multi_match": obj{"query": text, "type": "best_fields", "operator": "and", "fuzziness": "AUTO", "prefix_length": 1, "boost": 0.3, "fields": fuzzyFields}}),
		"minimum_should_match": 1,
	}}
}

// wordClauses match the words themselves (stemmed or exact). They also
// drive highlighting: marking fuzzy matches costs the highlighter ten
// times the search (measured), for marks a reader hardly needs.
func wordClauses(text string) []any {
	return []any{
		obj{"multi_match": obj{"query": text, "type": "phrase", "slop": 5, "boost": 5, "fields": phraseFields}},
		obj{"multi_match": obj{"query": text, "type": "cross_fields", "operator": "or", "minimum_should_match": "2<80%", "boost": 2, "fields": wordFields}},
	}
}

// scopeFilters are what the scope allows, whatever the user chooses.
func scopeFilters(r Request) []any {
	var out []any
	if r.Scope == Pupil {
		out = append(out, obj{"terms": obj{esindex.FieldType: PupilTypes}})
		if r.Primary {
			out = append(out, obj{"terms": obj{esindex.FieldLevelIDs: PrimaryLevels}})
		}
	}
	return out
}

// filterClauses are the clauses of one filter: one clause matching any of
// the values, or, for an all-values filter, one clause per value.
func filterClauses(f Filter, values []string, vocab *profile.Vocabulary) []any {
	if len(values) == 0 {
		return nil
	}
	if f.All {
		out := make([]any, 0, len(values))
		for _, v := range values {
			out = append(out, obj{"term": obj{f.Field: v}})
		}
		return out
	}
	if f.Scheme == "" {
		return []any{obj{"terms": obj{f.Field: values}}}
	}
	// A concept filter takes URIs or labels: a label the vocabulary knows
	// becomes its concepts; records that only carry the label match too.
	var uris, labels []string
	for _, v := range values {
		if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") {
			uris = append(uris, v)
			continue
		}
		labels = append(labels, v)
		if vocab != nil {
			for _, c := range vocab.ByLabel(f.Scheme, v) {
				uris = append(uris, c.URI)
			}
		}
	}
	var should []any
	if len(uris) > 0 {
		should = append(should, obj{"terms": obj{f.Field: uris}})
	}
	if len(labels) > 0 {
		should = append(should, obj{"terms": obj{f.LabelField: labels}})
	}
	if len(should) == 1 {
		return should
	}
	return []any{obj{"bool": obj{"should": should, "minimum_should_match": 1}}}
}

// dateClause bounds the broadcast date; a year or month as upper bound
// takes in all of it.
func dateClause(r Request) []any {
	if r.BroadcastFrom == "" && r.BroadcastUntil == "" {
		return nil
	}
	rng := obj{"format": "yyyy||yyyy-MM||yyyy-MM-dd"}
	if r.BroadcastFrom != "" {
		rng["gte"] = r.BroadcastFrom + "||/" + dateUnit(r.BroadcastFrom)
	}
	if r.BroadcastUntil != "" {
		rng["lte"] = r.BroadcastUntil + "||/" + dateUnit(r.BroadcastUntil)
	}
	return []any{obj{"range": obj{esindex.FieldIssued: rng}}}
}

func dateUnit(d string) string {
	switch len(d) {
	case 4:
		return "y"
	case 7:
		return "M"
	}
	return "d"
}

// userFilters returns the clauses of every chosen filter but except.
func userFilters(r Request, except string, vocab *profile.Vocabulary) []any {
	out := dateClause(r)
	for _, f := range Filters {
		if f.Name != except {
			out = append(out, filterClauses(f, r.Filters[f.Name], vocab)...)
		}
	}
	return out
}

func filterQuery(clauses []any) obj {
	if len(clauses) == 0 {
		return obj{"match_all": obj{}}
	}
	return obj{"bool": obj{"filter": clauses}}
}

// facetFilters are the filters whose counts a request shows.
func facetFilters(r Request) []Filter {
	var out []Filter
	for _, f := range Filters {
		if r.Scope != Pupil || f.Pupil {
			out = append(out, f)
		}
	}
	return out
}

// Body builds the Elasticsearch request for r (validated). The text and
// the scope make the query; the user's filters go into post_filter, so
// each facet can count the results under every other filter: a facet
// never narrows itself, and its values stay OR-able. An all-values filter
// (keywords) does narrow its own facet, since picking one more keyword
// narrows the results.
func Body(r Request, vocab *profile.Vocabulary) obj {
	query := obj{"bool": obj{"filter": scopeFilters(r)}}
	if r.Text != "" {
		query["bool"].(obj)["must"] = textQuery(r.Text)
	}
	aggs := obj{}
	for _, f := range facetFilters(r) {
		except := f.Name
		if f.All {
			except = ""
		}
		aggs["f_"+f.Name] = obj{
			"filter": filterQuery(userFilters(r, except, vocab)),
			"aggs":   obj{"v": obj{"terms": obj{"field": f.Field, "size": FacetBuckets}}},
		}
	}
	body := obj{
		"query":            query,
		"post_filter":      filterQuery(userFilters(r, "", vocab)),
		"aggs":             aggs,
		"from":             r.From,
		"size":             r.Size,
		"track_total_hits": true,
		"sort":             sortClause(r),
		"_source":          sourceFields,
	}
	if r.Text != "" {
		body["highlight"] = obj{
			"highlight_query": obj{"bool": obj{"should": wordClauses(r.Text), "minimum_should_match": 1}},
			"encoder":         "html", // the text is escaped; only the marks are markup
			"pre_tags":        []string{"<mark>"},
			"post_tags":       []string{"</mark>"},
			"fields": obj{
				esindex.FieldTitle:    obj{"number_of_fragments": 0},
				esindex.FieldAbstract: obj{"fragment_size": 160, "number_of_fragments": 2},
			},
		}
	}
	return body
}

func sortClause(r Request) []any {
	tie := obj{esindex.FieldExternalID: "asc"} // stable order across pages
	if r.Sort == Relevance {
		return []any{obj{"_score": "desc"}, tie}
	}
	return []any{obj{sortFields[r.Sort]: obj{"order": r.Order, "missing": "_last"}}, obj{"_score": "desc"}, tie}
}

// FacetBody counts the values of one filter that contain text (ignoring
// case), under the request's other filters: the searchable facet.
func FacetBody(r Request, name, text string, vocab *profile.Vocabulary) (obj, bool) {
	f, ok := FilterNamed(name)
	if !ok || (r.Scope == Pupil && !f.Pupil) {
		return nil, false
	}
	query := obj{"bool": obj{"filter": scopeFilters(r)}}
	if r.Text != "" {
		query["bool"].(obj)["must"] = textQuery(r.Text)
	}
	except := f.Name
	if f.All {
		except = ""
	}
	terms := obj{"field": f.Field, "size": FacetBuckets}
	if text != "" {
		if f.Scheme != "" {
			// URIs say little: match the labels in the vocabulary.
			var uris []string
			if vocab != nil {
				for _, c := range vocab.Search(f.Scheme, text) {
					uris = append(uris, c.URI)
				}
			}
			if len(uris) == 0 {
				uris = []string{""} // matches nothing
			}
			terms["include"] = uris
		} else {
			terms["include"] = ".*" + caseless(text) + ".*"
		}
	}
	return obj{
		"query": query,
		"size":  0,
		"aggs": obj{"f_" + f.Name: obj{
			"filter": filterQuery(userFilters(r, except, vocab)),
			"aggs":   obj{"v": obj{"terms": terms}},
		}},
	}, true
}

// caseless turns text into a Lucene regular expression matching it in
// any case, every other character escaped.
func caseless(text string) string {
	var b strings.Builder
	for _, r := range text {
		lo, up := strings.ToLower(string(r)), strings.ToUpper(string(r))
		switch {
		case lo != up:
			b.WriteString("[" + lo + up + "]")
		case regexp.QuoteMeta(string(r)) != string(r) || strings.ContainsRune(`"<>#@&~`, r):
			b.WriteString(`\` + string(r))
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// SuggestBody asks for keywords that start with prefix.
func SuggestBody(prefix string, size int) obj {
	return obj{
		"_source": false,
		"suggest": obj{"kw": obj{
			"prefix":     prefix,
			"completion": obj{"field": "lom_keywords.suggest", "size": size, "skip_duplicates": true},
		}},
	}
}

// RelatedBody finds items like the one with id, within the scope.
func RelatedBody(r Request, id string) obj {
	return obj{
		"query": obj{"bool": obj{
			"must": obj{"more_like_this": obj{
				"fields":               []string{"dc_title", "lom_keywords", "dc_titles_serie", "dcterms_abstract"},
				"like":                 []any{obj{"_id": id}},
				"min_term_freq":        1,
				"min_doc_freq":         1,
				"max_query_terms":      25,
				"minimum_should_match": "20%",
			}},
			"filter": scopeFilters(r),
		}},
		"size":    r.Size,
		"_source": sourceFields,
	}
}
