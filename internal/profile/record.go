// Package profile holds the education profile: the Record every partner
// format maps to, the rules a record must meet, the education vocabularies
// it is resolved against, and when teachers may see it.
package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"time"
)

// MappingVersion is stamped on every mapped record, so a record can be traced to
// the mapping code that produced it and re-mapped when that changes.
const MappingVersion = "1"

// Record is one item in the education profile: what every partner format
// maps to, what S3 keeps under records/ and what the indices project.
type Record struct {
	// Identity
	ExternalID   string    `json:"external_id"` // archive PID, the Elasticsearch _id
	LocalIDs     []LocalID `json:"local_ids,omitempty"`
	OriginalCP   string    `json:"original_cp,omitempty"`    // provider name
	OriginalCPID string    `json:"original_cp_id,omitempty"` // OR-xxxxxxx

	// Descriptive
	Title           string   `json:"title"`
	Series          string   `json:"series,omitempty"`
	Season          string   `json:"season,omitempty"`
	Episode         string   `json:"episode,omitempty"`
	Programme       string   `json:"programme,omitempty"`
	Description     string   `json:"description,omitempty"`
	Issued          string   `json:"issued,omitempty"`  // broadcast date, EDTF
	Created         string   `json:"created,omitempty"` // creation date, EDTF
	DurationSeconds int      `json:"duration_seconds,omitempty"`
	Type            string   `json:"type,omitempty"` // video, audio, collection, ...
	Thumbnail       string   `json:"thumbnail,omitempty"`
	Languages       []string `json:"languages,omitempty"` // ISO 639-1
	Creators        []Agent  `json:"creators,omitempty"`
	Contributors    []Agent  `json:"contributors,omitempty"`
	Publishers      []Agent  `json:"publishers,omitempty"`
	Keywords        []string `json:"keywords,omitempty"`         // editorial (lom_keywords)
	PartnerKeywords []string `json:"partner_keywords,omitempty"` // the partner's own (dc_subjects)

	Education Education `json:"education"`
	Rights    Rights    `json:"rights"`

	// Media is the item's browse copy, when the partner keeps one beside
	// its metadata: what a signed-in teacher or pupil plays.
	Media *Media `json:"media,omitempty"`

	Provenance Provenance `json:"provenance"`
	// Warnings are problems that did not stop the record (unknown
	// vocabulary URI, an unparsable optional date): kept and reported.
	Warnings []string `json:"warnings,omitempty"`
}

// LocalID is a partner's own identifier for the item.
type LocalID struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Agent is a creator, contributor or publisher in a role.
type Agent struct {
	Role string `json:"role,omitempty"`
	Name string `json:"name"`
}

// Education holds the LOM-based education fields.
type Education struct {
	Levels   []Concept `json:"levels,omitempty"`
	Degrees  []Concept `json:"degrees,omitempty"`
	Subjects []Concept `json:"subjects,omitempty"`
	Themes   []Concept `json:"themes,omitempty"`
	// Free labels of older records that no vocabulary concept matched.
	Context         []string `json:"context,omitempty"`
	TypicalAgeRange []string `json:"typical_age_range,omitempty"`
	Classification  []string `json:"classification,omitempty"`
	EndUserRoles    []string `json:"end_user_roles,omitempty"`
	ResourceTypes   []string `json:"learning_resource_types,omitempty"`
}

// Concept is a vocabulary term: its URI and, once resolved, its label.
// Inferred concepts were not in the record but follow from it (the level
// of a degree, the category of a theme).
type Concept struct {
	URI      string `json:"uri,omitempty"`
	Label    string `json:"label,omitempty"`
	Inferred bool   `json:"inferred,omitempty"`
}

// Rights holds licences and publication state.
type Rights struct {
	Licenses        []string   `json:"licenses,omitempty"`
	RightsHolder    string     `json:"rights_holder,omitempty"`
	Published       bool       `json:"published"`
	Deleted         bool       `json:"deleted"`
	PublishAt       *time.Time `json:"publish_at,omitempty"`
	DepublishAt     *time.Time `json:"depublish_at,omitempty"`
	ExpiryDate      *time.Time `json:"expiry_date,omitempty"`
	DepublishReason string     `json:"depublish_reason,omitempty"`
	// EditorialAt is when editors last decided about the item: a harvest
	// reads their decisions only for items that have one.
	EditorialAt *time.Time `json:"editorial_at,omitempty"`
	// Sets are the published curated sets that hold the item: while one
	// does, the item is published whatever its own decision says.
	Sets []string `json:"sets,omitempty"`
}

// Media is where a browse copy lies in a partner's bucket. Its address is
// never shown: the player gets a short-lived presigned URL of it, and
// only for a signed-in teacher or pupil (the licence requires it).
type Media struct {
	// Source is the source whose S3 settings reach the bucket.
	Source string `json:"source"`
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// Type is the MIME type a browser plays it as (video/webm, video/mp4,
	// audio/mpeg).
	Type string `json:"type"`
}

// Provenance says where a record came from and how it was made.
type Provenance struct {
	Source string `json:"source"`
	Set    string `json:"set,omitempty"`
	Format string `json:"format"`
	// Identifier is the record's id at the source: the OAI identifier or the S3 key.
	Identifier string `json:"identifier"`
	Datestamp  string `json:"datestamp,omitempty"`  // OAI datestamp
	ETag       string `json:"etag,omitempty"`       // S3 ETag
	VersionID  string `json:"version_id,omitempty"` // S3 version, in a versioned bucket
	// ContentHash is ContentHash() of the record as mapped, before editors'
	// decisions: the same again means nothing to write.
	ContentHash string    `json:"content_hash,omitempty"`
	Raw         string    `json:"raw"`     // s3://bucket/key of the raw bytes
	Harvest     string    `json:"harvest"` // harvest run id
	Mapping     string    `json:"mapping_version"`
	MappedAt    time.Time `json:"mapped_at"`
}

var externalIDPattern = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// ValidExternalID reports whether s can be an archive PID (the document id).
func ValidExternalID(s string) bool { return externalIDPattern.MatchString(s) }

var edtfDate = regexp.MustCompile(`^[\dX]{4}(-[\dX]{2}(-[\dX]{2})?)?([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?[?~%]?$`)

// ValidDate accepts the EDTF level-0/1 forms partners send: a year, a
// month, a day, a date-time, optionally uncertain/approximate, with
// unspecified digits (X: "19XX", "XXXX"), and intervals.
func ValidDate(s string) bool {
	if a, b, ok := strings.Cut(s, "/"); ok {
		return (a == ".." || a == "" || edtfDate.MatchString(a)) && (b == ".." || b == "" || edtfDate.MatchString(b))
	}
	return edtfDate.MatchString(s)
}

// ContentHash digests what the mapping made of a source record: the record
// without what says when and from which harvest or page it was made (and
// without the set it was seen in, which a record in two sets would
// otherwise flip between), but with the mapping version, so that a new
// mapping writes everything again.
func (r Record) ContentHash() string {
	p := r.Provenance
	r.Provenance = Provenance{Source: p.Source, Format: p.Format, Identifier: p.Identifier, Mapping: p.Mapping}
	b, err := json.Marshal(r)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// PlayedSeconds is how long an item of duration seconds plays from start
// to end (either nil: its beginning, its end), rounded to the second.
func PlayedSeconds(start, end *float64, duration int) int {
	from, to := 0.0, float64(duration)
	if start != nil {
		from = *start
	}
	if end != nil && (duration == 0 || *end < to) {
		to = *end
	}
	if to <= from {
		return 0
	}
	return int(to - from + 0.5)
}
