// Package search builds and runs the searches over avo's indices. The
// search API and the CLI share it, so both accept the same requests and
// answer alike; no client ever hands Elasticsearch a query of its own.
package search

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Request is a search as a user states it.
type Request struct {
	Text string `json:"q,omitempty"`
	// Filters maps a filter name to the values chosen: a result matches
	// one of a filter's values (all of them, for keywords) and every
	// filter.
	Filters map[string][]string `json:"filters,omitempty"`
	// BroadcastFrom and BroadcastUntil bound the broadcast date: a year,
	// a month (2019-10) or a day, both ends included.
	BroadcastFrom  string `json:"broadcast_from,omitempty"`
	BroadcastUntil string `json:"broadcast_until,omitempty"`
	Sort           string `json:"sort,omitempty"`
	Order          string `json:"order,omitempty"`
	From           int    `json:"from,omitempty"`
	Size           int    `json:"size,omitempty"`
	Scope          string `json:"scope,omitempty"`
	// Primary restricts pupils to material for primary education.
	Primary bool `json:"primary,omitempty"`
}

// Scopes: teachers see all that is published for them; pupils see video
// and audio, with fewer filters.
const (
	Teacher = "teacher"
	Pupil   = "pupil"
)

// Sorts, each newest first unless the order says otherwise.
const (
	Relevance = "relevance"
	Broadcast = "broadcast"
	Created   = "created"
	Updated   = "updated"
)

var sortFields = map[string]string{Broadcast: esindex.FieldIssued, Created: esindex.FieldCreated, Updated: esindex.FieldUpdatedAt}

// Sorts lists the sorts a request may ask for.
var Sorts = []string{Relevance, Broadcast, Created, Updated}

// Paging limits.
const (
	// MaxWindow is how deep results can be paged (the index's max_result_window).
	MaxWindow   = 10000
	MaxSize     = 100
	DefaultSize = 20
	// FacetBuckets is how many values a facet shows.
	FacetBuckets = 40
)

// Filter is one filter a request may use.
type Filter struct {
	Name string `json:"name"`
	// Field holds the values filtered and counted: keywords, or concept URIs
	// with their ancestors.
	Field string `json:"-"`
	// LabelField holds the labels of older records not resolved to
	// concepts; Scheme is the vocabulary of concept filters.
	LabelField string `json:"-"`
	Scheme     string `json:"-"`
	// All: a result must match all the values (keywords), not one.
	All bool `json:"all,omitempty"`
	// Pupil: the filter exists in the pupil scope.
	Pupil bool `json:"pupil,omitempty"`
}

// Filters are the filters in the order facets are shown.
var Filters = []Filter{
	{Name: "type", Field: esindex.FieldType, Pupil: true},
	{Name: "level", Field: esindex.FieldLevelIDs, LabelField: esindex.FieldLevelLabels + esindex.Filter, Scheme: profile.StructureScheme},
	{Name: "degree", Field: esindex.FieldDegreeIDs, LabelField: esindex.FieldDegreeLabels + esindex.Filter, Scheme: profile.StructureScheme},
	{Name: "subject", Field: esindex.FieldSubjectIDs, LabelField: esindex.FieldSubjectLabels + esindex.Filter, Scheme: profile.SubjectScheme},
	{Name: "theme", Field: esindex.FieldThemeIDs, LabelField: esindex.FieldThemeLabels + esindex.Filter, Scheme: profile.ThemeScheme},
	{Name: "series", Field: esindex.FieldSeries + esindex.Filter, Pupil: true},
	{Name: "provider", Field: esindex.FieldProvider + esindex.Filter, Pupil: true},
	{Name: "language", Field: esindex.FieldLanguages},
	{Name: "keyword", Field: esindex.FieldKeywords + esindex.Filter, All: true},
}

// FilterNamed returns the filter with the name.
func FilterNamed(name string) (Filter, bool) {
	for _, f := range Filters {
		if f.Name == name {
			return f, true
		}
	}
	return Filter{}, false
}

// PupilTypes are what pupils may see.
var PupilTypes = []string{"video", "audio"}

// PrimaryLevels are the levels of primary education; their sub-levels and
// degrees carry them as ancestors.
var PrimaryLevels = []string{
	profile.StructureScheme + "/basisonderwijs",
	profile.StructureScheme + "/buitengewoon-basisonderwijs",
}

// filterNames lists the filters of a scope, for messages.
func filterNames(scope string) string {
	var names []string
	for _, f := range Filters {
		if scope != Pupil || f.Pupil {
			names = append(names, f.Name)
		}
	}
	return strings.Join(names, ", ")
}

var dateRE = regexp.MustCompile(`^\d{4}(-\d{2}(-\d{2})?)?$`)

// Validate checks a request and fills in its defaults; its error is for
// the user (a 400).
func (r *Request) Validate() error {
	if r.Scope == "" {
		r.Scope = Teacher
	}
	if r.Scope != Teacher && r.Scope != Pupil {
		return fmt.Errorf("unknown scope %q: want %s or %s", r.Scope, Teacher, Pupil)
	}
	if r.Primary && r.Scope != Pupil {
		return errors.New("primary applies to the pupil scope only")
	}
	if r.Sort == "" {
		r.Sort = Relevance
	}
	if !slices.Contains(Sorts, r.Sort) {
		return fmt.Errorf("unknown sort %q: want one of %s", r.Sort, strings.Join(Sorts, ", "))
	}
	switch r.Order {
	case "", "desc":
		r.Order = "desc" // relevance too: best first
	case "asc":
		if r.Sort == Relevance {
			return errors.New("order asc applies to the sorts broadcast, created and updated, not to relevance")
		}
	default:
		return fmt.Errorf("unknown order %q: want asc or desc", r.Order)
	}
	if r.From < 0 || r.Size < 0 {
		return errors.New("from and size must not be negative")
	}
	if r.Size == 0 {
		r.Size = DefaultSize
	}
	if r.Size > MaxSize {
		return fmt.Errorf("size is at most %d", MaxSize)
	}
	if r.From+r.Size > MaxWindow {
		return fmt.Errorf("from + size is at most %d: refine the search to see further", MaxWindow)
	}
	for _, d := range []struct{ name, v string }{{"broadcast_from", r.BroadcastFrom}, {"broadcast_until", r.BroadcastUntil}} {
		if d.v != "" && !dateRE.MatchString(d.v) {
			return fmt.Errorf("%s %q: want a year (2019), a month (2019-10) or a day (2019-10-23)", d.name, d.v)
		}
	}
	if r.BroadcastFrom != "" && r.BroadcastUntil != "" && lowerBound(r.BroadcastFrom) > upperBound(r.BroadcastUntil) {
		return fmt.Errorf("broadcast_from %s is after broadcast_until %s", r.BroadcastFrom, r.BroadcastUntil)
	}
	if len(r.Text) > 1000 {
		return errors.New("the search text is longer than 1000 characters")
	}
	names := make([]string, 0, len(r.Filters))
	for name := range r.Filters {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, ok := FilterNamed(name)
		if !ok {
			return fmt.Errorf("unknown filter %q: want one of %s", name, filterNames(Teacher))
		}
		if r.Scope == Pupil && !f.Pupil && len(r.Filters[name]) > 0 {
			return fmt.Errorf("filter %q is not available to pupils: want one of %s, broadcast_from, broadcast_until", name, filterNames(Pupil))
		}
		if len(r.Filters[name]) > 100 {
			return fmt.Errorf("filter %q has more than 100 values", name)
		}
		for _, v := range r.Filters[name] {
			if strings.TrimSpace(v) == "" {
				return fmt.Errorf("filter %q has an empty value", name)
			}
		}
	}
	return nil
}

// params the query string may hold besides the filters.
var params = []string{"q", "sort", "order", "from", "size", "scope", "primary", "broadcast_from", "broadcast_until"}

// ParseQuery reads a request from URL query parameters: q, sort, order,
// from, size, scope, primary, broadcast_from, broadcast_until, and one
// parameter per filter, repeated for several values. Anything else is an
// error, so a mistyped filter never silently widens a search.
func ParseQuery(v url.Values) (Request, error) {
	var r Request
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		vals := v[k]
		if _, ok := FilterNamed(k); ok {
			if r.Filters == nil {
				r.Filters = map[string][]string{}
			}
			r.Filters[k] = append(r.Filters[k], vals...)
			continue
		}
		if !slices.Contains(params, k) {
			return r, fmt.Errorf("unknown parameter %q: want one of %s, or a filter: %s", k, strings.Join(params, ", "), filterNames(Teacher))
		}
		if len(vals) > 1 {
			return r, fmt.Errorf("parameter %q is given %d times", k, len(vals))
		}
		val := vals[0]
		var err error
		switch k {
		case "q":
			r.Text = val
		case "sort":
			r.Sort = val
		case "order":
			r.Order = val
		case "scope":
			r.Scope = val
		case "broadcast_from":
			r.BroadcastFrom = val
		case "broadcast_until":
			r.BroadcastUntil = val
		case "from":
			r.From, err = strconv.Atoi(val)
		case "size":
			r.Size, err = strconv.Atoi(val)
			if err == nil && r.Size < 1 {
				return r, fmt.Errorf("parameter \"size\": %q: want 1 to %d", val, MaxSize)
			}
		case "primary":
			r.Primary, err = strconv.ParseBool(val)
		}
		if err != nil {
			return r, fmt.Errorf("parameter %q: %q is not a valid value", k, val)
		}
	}
	return r, r.Validate()
}

// lowerBound and upperBound give the first and the last day a year, month
// or day stands for, as comparable strings.
func lowerBound(d string) string { return d + "-01-01"[len(d)-4:] }
func upperBound(d string) string { return d + "-12-31"[len(d)-4:] }
