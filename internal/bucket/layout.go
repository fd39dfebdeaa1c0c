// Package bucket is the layout of avo's own S3 bucket, the system of
// record: every key avo writes, and the shapes of the reports, watermarks,
// quarantine entries and state kept there. Nothing else builds a key.
//
//	records/SOURCE/ID.json                      mapped records (profile.Record), one per source record
//	editorial/PID.json                          editors' decisions about an item
//	sets/ID.json                                a curated set (curation.Set)
//	content/ID.json                             a teacher's collection, bundle or assignment (content.Piece)
//	people/USER/content/ID                      marks a piece a teacher owns or shares (USER: a hash of the user id)
//	invitations/EMAIL/ID                        marks an invitation to a piece (EMAIL: a hash of the address)
//	state/content-pending/ID                    a piece whose search document may lag behind it (until written)
//	audit/KIND/ID/NNNNNNNNNN.json               the change log of a set, a piece or an item's decisions, one object per revision
//	raw/SOURCE/SET/HARVEST/page-NNNNNN.EXT.gz   pages as fetched
//	runs/SOURCE/SET/HARVEST/seen/page-NNNNNN/  identifiers a page saw, a manifest (for the sweep)
//	runs/SOURCE/SET/HARVEST/listing.json        a bucket run's listing: its manifest, work and removals
//	runs/SOURCE/SET/HARVEST/NAME/chunk-NNNNNN.tsv.gz manifests of a run (listing, work, removed, members, gone)
//	runs/SOURCE/SET/HARVEST/retry/batch-NNNNNN.json keys a batch could not read, for the next run
//	quarantine/SOURCE/SET/HARVEST/pNNNNNN-rNNNN.json records that could not be used
//	quarantine/SOURCE/_rebuild/INDEX/ID.json    documents a rebuilt index refused
//	reports/SOURCE/SET/HARVEST.json, latest.json run reports
//	tombstones/ID.json                          documents whose records the sources deleted
//	state/watermarks/SOURCE/SET.json            where the next incremental harvest starts
//	state/members/SOURCE/SET.txt.gz             identifiers a set held (before manifests)
//	state/manifests/SOURCE/SET.json             the manifest of the last completed run
//	state/rebuild/INDEX/visible-NNNNNN.txt      a rebuild's manifests
//	state/rebuild/INDEX/rejected/ID             documents the rebuilt index refused
//
// SET is "_all" for a harvest of the whole repository; identifiers and
// sets are path-escaped.
package bucket

import (
	"github.com/archiefvooronderwijs/avo/internal/manifest"

	"fmt"
	"net/url"
	"strings"
)

// Top-level areas of the bucket.
const (
	RecordsPrefix    = "records/"
	EditorialPrefix  = "editorial/"
	QuarantinePrefix = "quarantine/"
	TombstonePrefix  = "tombstones/"
	SetsPrefix       = "sets/"
	AuditPrefix      = "audit/"
	ContentPrefix    = "content/"
)

// ContentKey is where a teacher's piece (collection, bundle, assignment) is kept.
func ContentKey(id string) string { return ContentPrefix + id + ".json" }

// ContentID is the piece a content key is about ("" when key is not one).
func ContentID(key string) string {
	rest, ok := strings.CutPrefix(key, ContentPrefix)
	if !ok || strings.Contains(rest, "/") {
		return ""
	}
	id, _ := strings.CutSuffix(rest, ".json")
	return id
}

// PersonContentPrefix holds the marks of the pieces a person owns or
// shares: one empty object per piece, so a teacher's own are listed
// without reading every piece. person is a hash of the user id (ids are
// any string an identity provider chooses).
func PersonContentPrefix(person string) string { return "people/" + person + "/content/" }

// InvitationPrefix holds the marks of the invitations sent to an e-mail
// address (a hash of it).
func InvitationPrefix(email string) string { return "invitations/" + email + "/" }

// ContentPendingPrefix holds the marks of pieces whose search documents
// may lag behind them: written before a change, removed once the
// document follows; the visibility schedule settles those left behind.
const ContentPendingPrefix = "state/content-pending/"

// ContentPendingKey marks a piece whose document may lag behind.
func ContentPendingKey(id string) string { return ContentPendingPrefix + id }

// MarkID is the piece a person's or an invitation's mark is about.
func MarkID(key string) string { return key[strings.LastIndexByte(key, '/')+1:] }

// SetKey is where a curated set is kept.
func SetKey(id string) string { return SetsPrefix + id + ".json" }

// SetID is the set a set key is about ("" when key is not one).
func SetID(key string) string {
	rest, ok := strings.CutPrefix(key, SetsPrefix)
	if !ok || strings.Contains(rest, "/") {
		return ""
	}
	id, _ := strings.CutSuffix(rest, ".json")
	return id
}

// Kinds of things whose changes the audit log keeps.
const (
	AuditSets    = "sets"
	AuditItems   = "items"
	AuditContent = "content"
)

// AuditLogPrefix holds the change log of one set or item.
func AuditLogPrefix(kind, id string) string { return AuditPrefix + kind + "/" + id + "/" }

// AuditKey is one revision's entry; zero-padded so a listing is in order.
func AuditKey(kind, id string, revision int) string {
	return fmt.Sprintf("%s%010d.json", AuditLogPrefix(kind, id), revision)
}

// TombstoneKey is where the deletion of a document is noted: an index
// that missed it (a rollback's) replays it.
func TombstoneKey(id string) string { return TombstonePrefix + url.PathEscape(id) + ".json" }

// RecordKey is where a source's mapped record lives: one object per source
// record, so a re-harvest, or the same record in another set, overwrites
// rather than duplicates.
func RecordKey(source, identifier string) string {
	return RecordsPrefix + source + "/" + url.PathEscape(identifier) + ".json"
}

// EditorialKey is where the editors' decisions about an item are kept.
func EditorialKey(pid string) string { return EditorialPrefix + pid + ".json" }

// EditorialPID is the item an editorial key is about ("" when key is not one).
func EditorialPID(key string) string {
	rest, ok := strings.CutPrefix(key, EditorialPrefix)
	if !ok {
		return ""
	}
	return strings.TrimSuffix(rest, ".json")
}

// SetPath is a set as a path segment.
func SetPath(set string) string {
	if set == "" {
		return "_all"
	}
	return url.PathEscape(set)
}

// Run names one harvest run of a source and set: the folders its raw
// pages, seen lists and quarantine entries go to.
type Run struct {
	Source, Set, Harvest string
}

func (r Run) prefix(area string) string {
	return fmt.Sprintf("%s/%s/%s/%s", area, r.Source, SetPath(r.Set), r.Harvest)
}

// RawPageKey is where a page is kept as fetched (gzipped); ext names its
// format: "xml" for OAI-PMH, "jsonl" for a listing of partner objects.
func (r Run) RawPageKey(page int, ext string) string {
	return fmt.Sprintf("%s/page-%06d.%s.gz", r.prefix("raw"), page, ext)
}

// SeenPrefix holds the identifiers the run's pages saw.
func (r Run) SeenPrefix() string { return r.prefix("runs") + "/seen/" }

// SeenKey is where the identifiers one page saw are kept, a manifest
// whose ETag column says "+" (present) or "-" (deleted).
func (r Run) SeenKey(page int) string { return fmt.Sprintf("%spage-%06d/", r.SeenPrefix(), page) }

// ListingKey holds what a run of a partner bucket listed: its manifest,
// the work it hands out and the keys that vanished.
func (r Run) ListingKey() string { return r.prefix("runs") + "/listing.json" }

// ManifestPrefix is where the run's manifest called name is kept in chunks.
func (r Run) ManifestPrefix(name string) string { return r.prefix("runs") + "/" + name + "/" }

// RetryKey lists the keys a batch could not read: the next run reads them
// again even when the listing says they did not change.
func (r Run) RetryKey(batch int) string {
	return fmt.Sprintf("%s/retry/batch-%06d.json", r.prefix("runs"), batch)
}

// RetryPrefix holds the run's retry lists.
func (r Run) RetryPrefix() string { return r.prefix("runs") + "/retry/" }

// RunPrefix holds everything of the run under runs/.
func (r Run) RunPrefix() string { return r.prefix("runs") + "/" }

// PartialKey holds what the attempts of a page that failed wrote anyway.
func (r Run) PartialKey(page int) string {
	return fmt.Sprintf("%s/partial/page-%06d.json", r.prefix("runs"), page)
}

// QuarantineKey is where the seq-th record of a page that could not be
// used is kept.
func (r Run) QuarantineKey(page, seq int) string {
	return fmt.Sprintf("%s/p%06d-r%04d.json", r.prefix("quarantine"), page, seq)
}

// RebuildQuarantineKey is where a document a rebuilt index refused is kept.
func RebuildQuarantineKey(source, index, id string) string {
	if source == "" {
		source = "_unknown"
	}
	return fmt.Sprintf("%s%s/_rebuild/%s/%s.json", QuarantinePrefix, source, index, id)
}

// ReportKey is where the report of a run is kept.
func ReportKey(source, set, harvestID string) string {
	return fmt.Sprintf("reports/%s/%s/%s.json", source, SetPath(set), harvestID)
}

// LatestReportKey holds a copy of the newest report of a source and set.
func LatestReportKey(source, set string) string {
	return fmt.Sprintf("reports/%s/%s/latest.json", source, SetPath(set))
}

// WatermarkKey is where the watermark of a source and set is kept.
func WatermarkKey(source, set string) string {
	return fmt.Sprintf("state/watermarks/%s/%s.json", source, SetPath(set))
}

// MembersKey holds the identifiers a source's set held after its last run.
func MembersKey(source, set string) string {
	return fmt.Sprintf("state/members/%s/%s.txt.gz", source, SetPath(set))
}

// ManifestKey holds the manifest of a source and set's last completed
// run: what the partner bucket held, or which identifiers the set held.
func ManifestKey(source, set string) string {
	return fmt.Sprintf("state/manifests/%s/%s.json", source, SetPath(set))
}

// RebuildPrefix holds the state of a rebuild of index.
func RebuildPrefix(index string) string { return "state/rebuild/" + index + "/" }

// RebuildRejectedPrefix holds a marker per document a rebuild of index
// had refused: the count check expects them to be missing.
func RebuildRejectedPrefix(index string) string { return RebuildPrefix(index) + "rejected/" }

// RebuildManifestKey is where a rebuild of the education index notes which
// records of a load page it found visible, in key order.
func RebuildManifestKey(index string, page int) string {
	return fmt.Sprintf("%svisible-%06d.txt", RebuildPrefix(index), page)
}

// Listing is what a run of a partner bucket listed (at Run.ListingKey).
type Listing struct {
	// Manifest is every metadata object listed; Work the ones to read,
	// a chunk a batch; Removed the ones the last run had and this one
	// did not list.
	Manifest manifest.Index `json:"manifest"`
	Work     manifest.Index `json:"work"`
	Removed  manifest.Index `json:"removed"`
}

// Current is the manifest of a source and set's last completed run (at
// ManifestKey).
type Current struct {
	Harvest  string         `json:"harvest"`
	Manifest manifest.Index `json:"manifest"`
	// Retry are keys the run could not read: the next run reads them.
	Retry manifest.Index `json:"retry"`
}
