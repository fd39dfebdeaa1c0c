package esindex

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Doc is an item as both indices hold it: what the pipeline writes and
// what search reads, one type for both. Field names follow the current
// Archive for Education index (flat snake_case, with .filter keyword
// sub-fields in the mapping), so its frontend can move over as is; code
// that names a field in a query uses the Field constants below.
type Doc struct {
	ExternalID         string   `json:"external_id"`
	AdministrativeType string   `json:"administrative_type,omitempty"`
	Title              string   `json:"dc_title"`
	Series             string   `json:"dc_titles_serie,omitempty"`
	Season             string   `json:"dc_titles_seizoen,omitempty"`
	Episode            string   `json:"dc_titles_episode,omitempty"`
	Programme          string   `json:"dc_titles_programma,omitempty"`
	Abstract           string   `json:"dcterms_abstract,omitempty"`
	Issued             string   `json:"dcterms_issued,omitempty"`
	IssuedEDTF         string   `json:"dcterms_issued_edtf,omitempty"`
	Created            string   `json:"dcterms_created,omitempty"`
	CreatedEDTF        string   `json:"dcterms_created_edtf,omitempty"`
	DurationSeconds    int      `json:"duration_seconds,omitempty"`
	Thumbnail          string   `json:"thumbnail_path,omitempty"`
	OriginalCP         string   `json:"original_cp,omitempty"`
	OriginalCPID       string   `json:"original_cp_id,omitempty"`
	Languages          []string `json:"lom_languages,omitempty"`
	Keywords           []string `json:"lom_keywords,omitempty"`
	Subjects           []string `json:"dc_subjects,omitempty"`
	Creators           []string `json:"dc_creators,omitempty"`
	Contributors       []string `json:"dc_contributors,omitempty"`
	Publishers         []string `json:"dc_publishers,omitempty"`
	Context            []string `json:"lom_context,omitempty"`
	TypicalAgeRange    []string `json:"lom_typical_age_range,omitempty"`
	Classification     []string `json:"lom_classification,omitempty"`
	ThemeLabels        []string `json:"lom_thema,omitempty"`
	LevelIDs           []string `json:"lom_education_level_ids,omitempty"`
	DegreeIDs          []string `json:"lom_education_degree_ids,omitempty"`
	SubjectIDs         []string `json:"lom_subject_ids,omitempty"`
	ThemeIDs           []string `json:"lom_theme_ids,omitempty"`
	EndUserRoles       []string `json:"lom_intended_enduser_role,omitempty"`
	ResourceTypes      []string `json:"lom_learning_resource_type,omitempty"`
	CuratedSets        []string `json:"curated_sets,omitempty"`
	// ItemCount is how many visible items a curated set or a teacher's
	// collection or assignment holds (a bundle: its visible collections
	// and assignments).
	ItemCount int `json:"item_count,omitempty"`
	// A teacher's piece: its owner's name, what its blocks point at (items,
	// and a bundle's collections and assignments), its questions.
	OwnerName     string     `json:"owner_name,omitempty"`
	ContentRefs   []string   `json:"content_refs,omitempty"`
	HasQuestions  bool       `json:"has_questions,omitempty"`
	QuestionCount int        `json:"question_count,omitempty"`
	Licenses      []string   `json:"licenses,omitempty"`
	RightsHolder  string     `json:"rights_holder,omitempty"`
	Published     bool       `json:"is_published"`
	Deleted       bool       `json:"is_deleted"`
	PublishAt     *time.Time `json:"publish_at,omitempty"`
	EditorialAt   *time.Time `json:"editorial_at,omitempty"`
	DepublishAt   *time.Time `json:"depublish_at,omitempty"`
	ExpiryDate    *time.Time `json:"expiry_date,omitempty"`
	SourceID      string     `json:"source_id"`
	// Media is where the browse copy lies: kept, never searched, and
	// never shown (the API hands out presigned URLs of it).
	Media      *profile.Media `json:"media,omitempty"`
	Provenance DocProvenance  `json:"provenance"`
	Warnings   []string       `json:"validation_warnings,omitempty"`
	// OAIDatestamp is when the document was last written: what partner
	// platforms harvesting over OAI-PMH select and order by.
	OAIDatestamp *time.Time `json:"oai_datestamp,omitempty"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// DocProvenance says where an item's document came from.
type DocProvenance struct {
	Set            string `json:"set,omitempty"`
	Format         string `json:"format"`
	Identifier     string `json:"identifier"`
	Datestamp      string `json:"datestamp,omitempty"`
	ETag           string `json:"etag,omitempty"`
	VersionID      string `json:"version_id,omitempty"`
	ContentHash    string `json:"content_hash,omitempty"`
	Raw            string `json:"raw"`
	Record         string `json:"record,omitempty"`
	Harvest        string `json:"harvest"`
	MappingVersion string `json:"mapping_version"`
}

// Names of the fields of Doc that queries use (and sub-fields of the
// mapping in schemas/elasticsearch/items.json): TestFieldsAreDocFields
// keeps them and the type in step.
const (
	FieldExternalID    = "external_id"
	FieldType          = "administrative_type"
	FieldTitle         = "dc_title"
	FieldSeries        = "dc_titles_serie"
	FieldAbstract      = "dcterms_abstract"
	FieldIssued        = "dcterms_issued"
	FieldIssuedEDTF    = "dcterms_issued_edtf"
	FieldCreated       = "dcterms_created"
	FieldDuration      = "duration_seconds"
	FieldThumbnail     = "thumbnail_path"
	FieldProvider      = "original_cp"
	FieldProviderID    = "original_cp_id"
	FieldLanguages     = "lom_languages"
	FieldKeywords      = "lom_keywords"
	FieldLevelLabels   = "lom_context"
	FieldDegreeLabels  = "lom_typical_age_range"
	FieldSubjectLabels = "lom_classification"
	FieldThemeLabels   = "lom_thema"
	FieldLevelIDs      = "lom_education_level_ids"
	FieldDegreeIDs     = "lom_education_degree_ids"
	FieldSubjectIDs    = "lom_subject_ids"
	FieldThemeIDs      = "lom_theme_ids"
	FieldPublishAt     = "publish_at"
	FieldDepublishAt   = "depublish_at"
	FieldExpiryDate    = "expiry_date"
	FieldSource        = "source_id"
	FieldRecord        = "provenance.record"
	FieldIdentifier    = "provenance.identifier"
	FieldContentHash   = "provenance.content_hash"
	FieldDatestamp     = "provenance.datestamp"
	FieldHarvest       = "provenance.harvest"
	FieldEditorialAt   = "editorial_at"
	FieldCuratedSets   = "curated_sets"
	FieldItemCount     = "item_count"
	FieldOwnerName     = "owner_name"
	FieldContentRefs   = "content_refs"
	FieldUpdatedAt     = "updated_at"
	FieldOAIDatestamp  = "oai_datestamp"
)

// Sub-fields the mapping adds to text fields.
const (
	// Exact is accent-folded, not stemmed: it rewards the very words.
	Exact = ".exact"
	// Filter is the keyword sub-field that filters and facets use.
	Filter = ".filter"
)

// NewDoc projects a mapped record; recordURI is where the record itself is
// kept in S3.
func NewDoc(r profile.Record, recordURI string) Doc {
	d := Doc{
		ExternalID: r.ExternalID, AdministrativeType: r.Type, Title: r.Title,
		Series: r.Series, Season: r.Season, Episode: r.Episode, Programme: r.Programme,
		Abstract: r.Description, DurationSeconds: r.DurationSeconds, Thumbnail: r.Thumbnail,
		OriginalCP: r.OriginalCP, OriginalCPID: r.OriginalCPID,
		Languages: r.Languages, Keywords: r.Keywords, Subjects: r.PartnerKeywords,
		Creators: names(r.Creators), Contributors: names(r.Contributors), Publishers: names(r.Publishers),
		EndUserRoles: r.Education.EndUserRoles, ResourceTypes: r.Education.ResourceTypes,
		CuratedSets: r.Rights.Sets, Licenses: r.Rights.Licenses, RightsHolder: r.Rights.RightsHolder,
		Published: r.Rights.Published, Deleted: r.Rights.Deleted,
		PublishAt: r.Rights.PublishAt, DepublishAt: r.Rights.DepublishAt, ExpiryDate: r.Rights.ExpiryDate, EditorialAt: r.Rights.EditorialAt,
		SourceID: r.Provenance.Source, Media: r.Media,
		Provenance: DocProvenance{
			Set: r.Provenance.Set, Format: r.Provenance.Format, Identifier: r.Provenance.Identifier,
			Datestamp: r.Provenance.Datestamp, ETag: r.Provenance.ETag, VersionID: r.Provenance.VersionID, ContentHash: r.Provenance.ContentHash, Raw: r.Provenance.Raw,
			Record: recordURI, Harvest: r.Provenance.Harvest, MappingVersion: r.Provenance.Mapping,
		},
		Warnings:  r.Warnings,
		UpdatedAt: r.Provenance.MappedAt,
	}
	d.Issued, d.IssuedEDTF = edtfLowerBound(r.Issued)
	d.Created, d.CreatedEDTF = edtfLowerBound(r.Created)
	// URI fields hold inferred ancestors too, so a filter on a level finds
	// what is tagged with one of its degrees; the label fields the current
	// frontend filters on get the concepts' labels and the legacy labels.
	e := r.Education
	var labels []string
	d.LevelIDs, labels = split(e.Levels)
	d.Context = Union(e.Context, labels)
	d.DegreeIDs, labels = split(e.Degrees)
	d.TypicalAgeRange = Union(e.TypicalAgeRange, labels)
	d.SubjectIDs, labels = split(e.Subjects)
	d.Classification = Union(e.Classification, labels)
	d.ThemeIDs, d.ThemeLabels = split(e.Themes)
	return d
}

// Union joins lists of values into a new one, in order, each value once
// and no empty one: the values of several items or fields as one field.
func Union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, v := range l {
			if v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}

func names(agents []profile.Agent) []string {
	var out []string
	for _, a := range agents {
		out = append(out, a.Name)
	}
	return out
}

// split returns the URIs and the labels of concepts.
func split(cs []profile.Concept) (uris, labels []string) {
	for _, c := range cs {
		if c.URI != "" {
			uris = append(uris, c.URI)
		}
		if c.Label != "" {
			labels = append(labels, c.Label)
		}
	}
	return uris, labels
}

// edtfLowerBound turns an EDTF date into the earliest date it allows, for
// the date field (range filters and sorting), and returns the original
// too when it said more than that date does (uncertain, approximate, an
// interval).
func edtfLowerBound(v string) (date, original string) {
	if v == "" {
		return "", ""
	}
	d := v
	if a, b, ok := strings.Cut(d, "/"); ok {
		d = a
		if a == "" || a == ".." {
			d = b
		}
	}
	d = strings.TrimRight(d, "?~%")
	d = strings.Replace(d, " ", "T", 1)
	if strings.Contains(d, "X") {
		// Unspecified digits: no date to filter on, only the text.
		return "", v
	}
	if d == v {
		return d, ""
	}
	return d, v
}

// Project turns a record into its writes: always into the catalog; into
// the education index when teachers may see it at now, else out of it.
func Project(r profile.Record, recordURI string, now time.Time) (catalog, education Op, err error) {
	d := NewDoc(r, recordURI)
	stamp := now.UTC().Truncate(time.Millisecond)
	d.OAIDatestamp = &stamp
	doc, err := json.Marshal(d)
	if err != nil {
		return Op{}, Op{}, err
	}
	ref := r.Provenance.Identifier
	catalog = Op{ID: r.ExternalID, Doc: doc, Ref: ref}
	education = Op{ID: r.ExternalID, Ref: ref}
	if r.VisibleToTeachers(now) {
		education.Doc = doc
	}
	return catalog, education, nil
}
