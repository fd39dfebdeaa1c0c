// Package sources reads the sources file: which partners avo harvests, how
// to reach them, and which mapping their records take.
package sources

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/archiefvooronderwijs/avo/internal/config"
)

// Kinds of source.
const (
	KindOAIPMH = "oai-pmh"
	KindS3     = "s3"
)

// Source is one partner source. It travels in workflow inputs, so a run's
// history records exactly the settings it ran with; secrets stay out of it
// (only the names of the environment variables that hold them).
type Source struct {
	ID      string `yaml:"id" json:"id"`
	Name    string `yaml:"name" json:"name,omitempty"`
	Kind    string `yaml:"kind" json:"kind"`
	Mapping string `yaml:"mapping" json:"mapping"`
	OAI     *OAI   `yaml:"oai,omitempty" json:"oai,omitempty"`
	S3      *S3    `yaml:"s3,omitempty" json:"s3,omitempty"`
}

// OAI configures an OAI-PMH source.
type OAI struct {
	URL            string `yaml:"url" json:"url"`
	MetadataPrefix string `yaml:"metadata_prefix" json:"metadata_prefix"`
	// Sets to harvest, each its own harvest; empty harvests the whole repository.
	Sets []string `yaml:"sets,omitempty" json:"sets,omitempty"`
	// AuthHeader is sent with every request; its value is read from the
	// environment variable AuthEnv on the worker.
	AuthHeader string `yaml:"auth_header,omitempty" json:"auth_header,omitempty"`
	AuthEnv    string `yaml:"auth_env,omitempty" json:"auth_env,omitempty"`
	// Delay between requests, for providers that ask for politeness.
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	// HostRequests bounds the requests in flight to the provider's host
	// at once, across every harvest and worker (default 1).
	HostRequests int `yaml:"host_requests,omitempty" json:"host_requests,omitempty"`
	// Timeout bounds each request (default 60s).
	Timeout Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	// MaxRequests stops a harvest that needs more pages than this (a
	// provider whose list never ends); MaxEmptyPages one that keeps
	// answering empty pages with a new token.
	MaxRequests   int `yaml:"max_requests,omitempty" json:"max_requests,omitempty"`
	MaxEmptyPages int `yaml:"max_empty_pages,omitempty" json:"max_empty_pages,omitempty"`
	// Parallel bounds the fetched pages being mapped, stored and indexed
	// at once, on any worker, while the next page is fetched (default 8).
	Parallel int `yaml:"parallel,omitempty" json:"parallel,omitempty"`
}

// DefaultOAIParallel is how many pages of a harvest are processed at once
// when the source does not say: two activities of four pages, so that
// one worker keeps its cores busy while one of them ends and the next
// begins, and two workers share a set.
const DefaultOAIParallel = 8

// Pipeline returns how many of the source's fetched pages are processed at
// once.
func (o OAI) Pipeline() int {
	if o.Parallel <= 0 {
		return DefaultOAIParallel
	}
	return o.Parallel
}

// S3 configures a partner bucket of metadata files.
type S3 struct {
	Bucket string `yaml:"bucket" json:"bucket"`
	Prefix string `yaml:"prefix,omitempty" json:"prefix,omitempty"`
	// Prefixes name several parts of the bucket instead of Prefix; none
	// may hold another.
	Prefixes []string `yaml:"prefixes,omitempty" json:"prefixes,omitempty"`
	// Suffixes select the metadata objects (default .xml), read with the
	// source's mapping; the essence next to them is never read.
	Suffixes []string `yaml:"suffixes,omitempty" json:"suffixes,omitempty"`
	// Rules select metadata objects by glob instead, each with its mapping.
	Rules []Rule `yaml:"rules,omitempty" json:"rules,omitempty"`
	// Endpoint, Region and Profile default to avo's own S3 settings.
	Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
	Region   string `yaml:"region,omitempty" json:"region,omitempty"`
	Profile  string `yaml:"profile,omitempty" json:"profile,omitempty"`
	// PathStyle addresses the bucket in the path (MinIO, Ceph, versitygw)
	// rather than the host name; default avo's own setting.
	PathStyle *bool `yaml:"path_style,omitempty" json:"path_style,omitempty"`
	// Concurrency bounds the objects one batch reads at once (default
	// 16); Batch is how many changed objects one activity takes (default
	// 1000); Parallel how many batches run at once across every worker
	// (default 4).
	Concurrency int `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`
	Batch       int `yaml:"batch,omitempty" json:"batch,omitempty"`
	Parallel    int `yaml:"parallel,omitempty" json:"parallel,omitempty"`
}

// Defaults of a partner bucket's harvest.
const (
	DefaultS3Concurrency = 16
	DefaultS3Batch       = 1000
	DefaultS3Parallel    = 4
)

// AllPrefixes returns the parts of the bucket to list, in key order
// ("" for the whole bucket).
func (s S3) AllPrefixes() []string {
	if len(s.Prefixes) == 0 {
		return []string{s.Prefix}
	}
	out := slices.Clone(s.Prefixes)
	slices.Sort(out)
	return out
}

// Config is how the partner bucket is reached: avo's own S3 settings
// with the source's bucket and whatever else it sets.
func (s S3) Config(own config.S3) config.S3 {
	c := own
	c.Bucket = s.Bucket
	if s.Endpoint != "" {
		c.Endpoint = s.Endpoint
	}
	if s.Region != "" {
		c.Region = s.Region
	}
	if s.Profile != "" {
		c.Profile = s.Profile
	}
	if s.PathStyle != nil {
		c.PathStyle = *s.PathStyle
	}
	return c
}

// Limits returns the source's concurrency, batch size and parallel
// batches, with defaults.
func (s S3) Limits() (concurrency, batch, parallel int) {
	concurrency, batch, parallel = s.Concurrency, s.Batch, s.Parallel
	if concurrency <= 0 {
		concurrency = DefaultS3Concurrency
	}
	if batch <= 0 {
		batch = DefaultS3Batch
	}
	if parallel <= 0 {
		parallel = DefaultS3Parallel
	}
	return concurrency, batch, parallel
}

// Duration reads "6h" or "500ms" in YAML.
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration (like 500ms or 2s)", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// File is a parsed sources file.
type File struct {
	Sources []Source `yaml:"sources"`
}

// Mappings says whether a mapping name is known: mappings.Lookup.
type Mappings func(name string) error

// Load reads a sources file. ${VAR} references are replaced from the
// environment; a reference to an unset variable is an error, as is a
// mapping that known does not know.
func Load(path string, known Mappings) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sources file: %w", err)
	}
	f, err := Parse(b, os.LookupEnv, known)
	if err != nil {
		return nil, fmt.Errorf("sources file %s: %w", path, err)
	}
	return f, nil
}

// Parse parses a sources file's content.
func Parse(b []byte, lookup func(string) (string, bool), known Mappings) (*File, error) {
	var missing []string
	expanded := os.Expand(string(b), func(name string) string {
		v, ok := lookup(name)
		if !ok {
			missing = append(missing, name)
		}
		return v
	})
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment variables not set: %s", strings.Join(missing, ", "))
	}
	dec := yaml.NewDecoder(bytes.NewReader([]byte(expanded)))
	dec.KnownFields(true)
	var f File
	if err := dec.Decode(&f); err != nil {
		return nil, err
	}
	if err := f.Validate(known); err != nil {
		return nil, err
	}
	return &f, nil
}

var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks every source and reports all problems at once.
func (f *File) Validate(known Mappings) error {
	var errs []error
	seen := map[string]bool{}
	for i, s := range f.Sources {
		where := fmt.Sprintf("source %d (%s)", i+1, s.ID)
		if !idPattern.MatchString(s.ID) {
			errs = append(errs, fmt.Errorf("%s: id must be lower-case letters, digits, - and _", where))
		}
		if seen[s.ID] {
			errs = append(errs, fmt.Errorf("%s: id used twice", where))
		}
		seen[s.ID] = true
		// A bucket read by rules names a mapping per rule.
		if s.Kind != KindS3 || s.S3 == nil || len(s.S3.Rules) == 0 || s.Mapping != "" {
			if err := known(s.Mapping); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", where, err))
			}
		}
		switch s.Kind {
		case KindOAIPMH:
			errs = append(errs, s.validateOAI(where)...)
		case KindS3:
			errs = append(errs, s.validateS3(where, known)...)
		default:
			errs = append(errs, fmt.Errorf("%s: kind %q: want %s or %s", where, s.Kind, KindOAIPMH, KindS3))
		}
	}
	return errors.Join(errs...)
}

func (s Source) validateOAI(where string) []error {
	if s.OAI == nil {
		return []error{fmt.Errorf("%s: kind oai-pmh needs an oai section", where)}
	}
	var errs []error
	u, err := url.Parse(s.OAI.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("%s: oai.url %q is not an http(s) URL", where, s.OAI.URL))
	}
	if s.OAI.MetadataPrefix == "" {
		errs = append(errs, fmt.Errorf("%s: oai.metadata_prefix is empty", where))
	}
	if s.OAI.Parallel < 0 || s.OAI.Parallel > 64 {
		errs = append(errs, fmt.Errorf("%s: oai.parallel %d: want 1 to 64 (0 for the default)", where, s.OAI.Parallel))
	}
	if s.OAI.HostRequests < 0 {
		errs = append(errs, fmt.Errorf("%s: oai.host_requests must not be negative", where))
	}
	if (s.OAI.AuthHeader == "") != (s.OAI.AuthEnv == "") {
		errs = append(errs, fmt.Errorf("%s: oai.auth_header and oai.auth_env go together", where))
	}
	return errs
}

// Get returns the source with the id.
func (f *File) Get(id string) (Source, error) {
	for _, s := range f.Sources {
		if s.ID == id {
			return s, nil
		}
	}
	ids := make([]string, 0, len(f.Sources))
	for _, s := range f.Sources {
		ids = append(ids, s.ID)
	}
	sort.Strings(ids)
	return Source{}, fmt.Errorf("no source %q in the sources file (have: %s)", id, strings.Join(ids, ", "))
}

// Host is the provider's host (and port), lower-cased: harvests of every
// source there share its request limit.
func (o OAI) Host() string {
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" {
		return o.URL
	}
	return strings.ToLower(u.Host)
}

// MetadataSuffixes returns the suffixes that select metadata objects.
func (s S3) MetadataSuffixes() []string {
	if len(s.Suffixes) == 0 {
		return []string{".xml"}
	}
	return s.Suffixes
}
