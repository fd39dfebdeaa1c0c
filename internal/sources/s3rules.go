package sources

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Rule selects metadata objects of a partner bucket by glob and names the
// mapping that reads them: `**/*.xml` except `**/METS.xml` as MediaHaven
// sidecars, `**/metadata/descriptive/dc+schema.xml` as SIP records.
type Rule struct {
	// Match is a glob over the key below the prefix: * within a path
	// segment, ** across segments.
	Match string `yaml:"match" json:"match"`
	// Except are globs of keys Match takes that are no metadata.
	Except []string `yaml:"except,omitempty" json:"except,omitempty"`
	// Mapping reads the objects the rule selects.
	Mapping string `yaml:"mapping" json:"mapping"`
	// fold: a rule made of a suffix matches whatever the case.
	fold bool
}

// essence are the extensions of audiovisual and image files: a rule that
// could select them would have a harvest read the essence.
var essence = []string{
	".mp4", ".mxf", ".mov", ".mkv", ".avi", ".mpg", ".mpeg", ".m2ts", ".ts", ".webm", ".wmv", ".m4v",
	".wav", ".mp3", ".aac", ".flac", ".m4a", ".ogg", ".aif", ".aiff",
	".tif", ".tiff", ".jp2", ".jpg", ".jpeg", ".png", ".dpx", ".exr", ".pdf", ".zip", ".tar",
}

// Selector decides which keys of a bucket are metadata, and with which
// mapping they are read.
type Selector struct {
	prefixes []string
	rules    []Rule
}

// Selector returns how the source's keys are chosen: by its rules, or by
// its suffixes (default .xml) read with the source's mapping.
func (s S3) Selector(mapping string) Selector {
	if len(s.Rules) > 0 {
		return Selector{prefixes: s.AllPrefixes(), rules: s.Rules}
	}
	var rules []Rule
	for _, sfx := range s.MetadataSuffixes() {
		rules = append(rules, Rule{Match: "**/*" + strings.ToLower(sfx), Mapping: mapping, fold: true})
	}
	return Selector{prefixes: s.AllPrefixes(), rules: rules}
}

// Mapping returns the mapping of the first rule that takes key, and false
// when none does (the key is essence or anything else that is no
// metadata: it is never read).
func (sel Selector) Mapping(key string) (string, bool) {
	rel := key
	for _, p := range sel.prefixes {
		if r, ok := strings.CutPrefix(key, p); ok {
			rel = r
			break
		}
	}
	for _, r := range sel.rules {
		k := rel
		if r.fold {
			k = strings.ToLower(rel)
		}
		if match(r.Match, k) && !slices.ContainsFunc(r.Except, func(e string) bool { return match(e, k) }) {
			return r.Mapping, true
		}
	}
	return "", false
}

func match(glob, key string) bool {
	ok, err := doublestar.Match(glob, key)
	if err != nil {
		return false
	}
	if !ok && strings.HasPrefix(glob, "**/") {
		// ** matches no segment too: a key at the top of the prefix.
		ok, _ = doublestar.Match(strings.TrimPrefix(glob, "**/"), key)
	}
	return ok
}

// validateS3 checks a partner bucket's settings: a bucket, rules that
// name known mappings and select no essence, suffixes that select none.
func (s Source) validateS3(where string, known Mappings) []error {
	if s.S3 == nil || s.S3.Bucket == "" {
		return []error{fmt.Errorf("%s: kind s3 needs s3.bucket", where)}
	}
	var errs []error
	for _, sfx := range s.S3.Suffixes {
		if sfx == "" || !strings.HasPrefix(sfx, ".") && !strings.Contains(sfx, "/") {
			errs = append(errs, fmt.Errorf("%s: s3.suffixes %q would select more than metadata files: name an extension such as .xml", where, sfx))
		} else if isEssence(sfx) {
			errs = append(errs, fmt.Errorf("%s: s3.suffixes %q selects essence, which a harvest never reads", where, sfx))
		}
	}
	if s.S3.Prefix != "" && len(s.S3.Prefixes) > 0 {
		errs = append(errs, fmt.Errorf("%s: s3.prefix and s3.prefixes go not together: list every prefix under prefixes", where))
	}
	ps := s.S3.AllPrefixes()
	for i := 1; i < len(ps); i++ {
		if strings.HasPrefix(ps[i], ps[i-1]) {
			errs = append(errs, fmt.Errorf("%s: s3.prefixes %q holds %q: every key would be listed twice", where, ps[i-1], ps[i]))
		}
	}
	for name, v := range map[string]struct{ n, max int }{
		"concurrency": {s.S3.Concurrency, 256}, "batch": {s.S3.Batch, 10_000}, "parallel": {s.S3.Parallel, 64},
	} {
		if v.n < 0 || v.n > v.max {
			errs = append(errs, fmt.Errorf("%s: s3.%s %d: want 1 to %d (0 for the default)", where, name, v.n, v.max))
		}
	}
	if len(s.S3.Rules) > 0 && len(s.S3.Suffixes) > 0 {
		errs = append(errs, fmt.Errorf("%s: s3.rules and s3.suffixes go not together: rules say it all", where))
	}
	for i, r := range s.S3.Rules {
		rwhere := fmt.Sprintf("%s: s3.rules[%d] (%s)", where, i, r.Match)
		if r.Mapping == "" {
			errs = append(errs, fmt.Errorf("%s: no mapping", rwhere))
		} else if err := known(r.Mapping); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", rwhere, err))
		}
		for _, g := range append([]string{r.Match}, r.Except...) {
			if !doublestar.ValidatePattern(g) {
				errs = append(errs, fmt.Errorf("%s: %q is not a glob", rwhere, g))
			}
		}
		if ext := essenceTaken(r); ext != "" {
			errs = append(errs, fmt.Errorf("%s: would select essence (%s files), which a harvest never reads", rwhere, ext))
		}
	}
	return errs
}

func isEssence(name string) bool {
	return slices.Contains(essence, strings.ToLower(path.Ext(name)))
}

// essenceTaken returns an essence extension a rule would select, if any.
func essenceTaken(r Rule) string {
	for _, ext := range essence {
		for _, key := range []string{"a/b/file" + ext, "file" + ext, "A/FILE" + strings.ToUpper(ext)} {
			sel := Selector{rules: []Rule{r}}
			if _, ok := sel.Mapping(key); ok {
				return ext
			}
		}
	}
	return ""
}
