// Package activities holds every piece of avo's work that touches the
// outside world: providers, S3 and Elasticsearch. Workflows call these
// through Temporal and only ever see keys and counts.
package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/archiefvooronderwijs/avo/internal/config"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
	"github.com/archiefvooronderwijs/avo/internal/sources"
	"github.com/archiefvooronderwijs/avo/mappings"
)

// Harvest holds the clients the harvest activities use.
type Harvest struct {
	Store *s3store.Store
	Index esindex.Indices
	// S3 is avo's own S3 configuration; partner buckets inherit its endpoint.
	S3        config.S3
	UserAgent string
	Logger    *slog.Logger
	// Now is the clock (tests pin it).
	Now func() time.Time
}

func (h *Harvest) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Counts are the tallies of a page or a run.
type Counts struct {
	Pages       int `json:"pages"`
	Records     int `json:"records"` // records received, deleted ones included
	Indexed     int `json:"indexed"`
	Deleted     int `json:"deleted"`
	Quarantined int `json:"quarantined"`
	Warnings    int `json:"warnings"` // records indexed with warnings
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Pages += o.Pages
	c.Records += o.Records
	c.Indexed += o.Indexed
	c.Deleted += o.Deleted
	c.Quarantined += o.Quarantined
	c.Warnings += o.Warnings
}

// PageInput asks for one page of a harvest.
type PageInput struct {
	Source    sources.Source `json:"source"`
	Set       string         `json:"set,omitempty"`
	HarvestID string         `json:"harvest_id"`
	Page      int            `json:"page"`   // 1-based, across the whole harvest
	Cursor    string         `json:"cursor"` // resumption or continuation token; empty for the first page
	From      string         `json:"from,omitempty"`
	Until     string         `json:"until,omitempty"`
}

// PageResult is what a page leaves behind: keys and counts.
type PageResult struct {
	Counts       Counts          `json:"counts"`
	Next         string          `json:"next,omitempty"` // empty when the list is complete
	RawKey       string          `json:"raw_key"`
	ResponseDate string          `json:"response_date,omitempty"`
	ListSize     int             `json:"list_size,omitempty"` // completeListSize, when the provider gives it
	Quarantine   []QuarantineRef `json:"quarantine,omitempty"`
}

// QuarantineRef points at a quarantined record.
type QuarantineRef struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Reason string `json:"reason"`
}

// Error types workflows tell apart.
const (
	ErrBadResumptionToken = "BadResumptionToken"
)

// HarvestPage fetches one page from the source, keeps it raw in S3, maps
// its records, keeps them in S3, indexes them and quarantines what fails.
func (h *Harvest) HarvestPage(ctx context.Context, in PageInput) (PageResult, error) {
	log := h.log().With("source", in.Source.ID, "set", in.Set, "page", in.Page)
	mapper, err := mappings.Lookup(in.Source.Mapping)
	if err != nil {
		return PageResult{}, temporal.NewNonRetryableApplicationError(err.Error(), "UnknownMapping", err)
	}
	var batch *rawBatch
	switch in.Source.Kind {
	case sources.KindOAIPMH:
		batch, err = h.fetchOAI(ctx, in)
	case sources.KindS3:
		batch, err = h.fetchS3(ctx, in)
	default:
		err = temporal.NewNonRetryableApplicationError("unknown source kind "+in.Source.Kind, "BadSource", nil)
	}
	if err != nil {
		return PageResult{}, err
	}
	activity.RecordHeartbeat(ctx, in.Page)
	res, err := h.process(ctx, in, mapper, batch)
	if err != nil {
		return PageResult{}, err
	}
	log.Info("page harvested", "records", res.Counts.Records, "indexed", res.Counts.Indexed,
		"deleted", res.Counts.Deleted, "quarantined", res.Counts.Quarantined, "next", res.Next != "")
	return res, nil
}

// rawBatch is a fetched page: its records and where the raw bytes went.
type rawBatch struct {
	rawKey       string
	next         string
	responseDate string
	listSize     int
	items        []rawItem
}

type rawItem struct {
	identifier string
	datestamp  string
	etag       string
	deleted    bool
	body       []byte
	// err is set when the item could not even be read.
	err error
}

func (h *Harvest) fetchOAI(ctx context.Context, in PageInput) (*rawBatch, error) {
	o := in.Source.OAI
	if o == nil {
		return nil, temporal.NewNonRetryableApplicationError("source has no oai section", "BadSource", nil)
	}
	timeout := time.Duration(o.Timeout)
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	client := &oaipmh.Client{BaseURL: o.URL, HTTP: oaipmh.NewHTTPClient(10*time.Second, timeout), UserAgent: h.UserAgent}
	if o.AuthHeader != "" {
		v, ok := os.LookupEnv(o.AuthEnv)
		if !ok {
			err := fmt.Errorf("source %s: environment variable %s (for the %s header) is not set on this worker", in.Source.ID, o.AuthEnv, o.AuthHeader)
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "BadSource", err)
		}
		client.Header = http.Header{o.AuthHeader: {v}}
	}
	args := oaipmh.ListArgs{MetadataPrefix: o.MetadataPrefix, Set: in.Set, From: in.From, Until: in.Until, Token: in.Cursor}
	page, body, err := client.ListRecords(ctx, args)
	if err != nil {
		return nil, classifyOAI(in, err)
	}
	b := &rawBatch{
		rawKey:       fmt.Sprintf("%s/page-%06d.xml.gz", runPrefix("raw", in), in.Page),
		next:         page.Token.Value,
		responseDate: page.ResponseDate,
		listSize:     page.Token.CompleteListSize,
	}
	if err := h.Store.PutGzip(ctx, b.rawKey, body, "text/xml"); err != nil {
		return nil, err
	}
	for i, r := range page.Records {
		it := rawItem{identifier: r.Header.Identifier, datestamp: r.Header.Datestamp, deleted: r.Header.Deleted, body: r.Metadata}
		if r.Problem != "" {
			it.err = errors.New(r.Problem)
			it.deleted = false
			if it.identifier == "" {
				it.identifier = fmt.Sprintf("(record %d of page %d)", i+1, in.Page)
			}
		}
		b.items = append(b.items, it)
	}
	return b, nil
}

// classifyOAI turns client errors into Temporal errors: permanent ones stop
// the run, Retry-After sets the next attempt's delay, the rest are retried
// by the activity's retry policy.
func classifyOAI(in PageInput, err error) error {
	var oe *oaipmh.Error
	if errors.As(err, &oe) {
		msg := fmt.Sprintf("source %s page %d: %v", in.Source.ID, in.Page, oe)
		switch {
		case oe.Code == oaipmh.BadResumptionToken:
			return temporal.NewNonRetryableApplicationError(msg, ErrBadResumptionToken, err)
		case oe.Permanent():
			return temporal.NewNonRetryableApplicationError(msg, "OAI-"+oe.Code, err)
		}
		return temporal.NewApplicationError(msg, "OAI-"+oe.Code, err)
	}
	var he *oaipmh.HTTPError
	if errors.As(err, &he) {
		msg := fmt.Sprintf("source %s page %d: %v", in.Source.ID, in.Page, he)
		if he.Permanent() {
			return temporal.NewNonRetryableApplicationError(msg, fmt.Sprintf("HTTP-%d", he.Status), err)
		}
		return temporal.NewApplicationErrorWithOptions(msg, fmt.Sprintf("HTTP-%d", he.Status), temporal.ApplicationErrorOptions{
			Cause: err, NextRetryDelay: he.RetryAfter,
		})
	}
	return fmt.Errorf("source %s page %d: %w", in.Source.ID, in.Page, err)
}

func (h *Harvest) fetchS3(ctx context.Context, in PageInput) (*rawBatch, error) {
	src := in.Source.S3
	if src == nil {
		return nil, temporal.NewNonRetryableApplicationError("source has no s3 section", "BadSource", nil)
	}
	partner, err := h.partnerStore(ctx, *src)
	if err != nil {
		return nil, err
	}
	objs, next, err := partner.ListPage(ctx, src.Prefix, in.Cursor, 100)
	if err != nil {
		if s3store.IsPermanent(err) {
			return nil, temporal.NewNonRetryableApplicationError(err.Error(), "S3", err)
		}
		return nil, err
	}
	b := &rawBatch{rawKey: fmt.Sprintf("%s/page-%06d.jsonl.gz", runPrefix("raw", in), in.Page), next: next}
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	for _, o := range objs {
		if !hasSuffix(o.Key, src.MetadataSuffixes()) {
			continue
		}
		item := rawItem{identifier: o.Key, etag: o.ETag}
		obj, err := partner.Get(ctx, o.Key, mappings.MaxRecordBytes)
		switch {
		case err == nil:
			item.body = obj.Body
		case s3store.IsNotFound(err):
			continue // removed between listing and reading
		case errors.Is(err, s3store.ErrTooLarge):
			item.err = err
		default:
			return nil, err
		}
		b.items = append(b.items, item)
		if err := enc.Encode(struct {
			Key  string `json:"key"`
			ETag string `json:"etag"`
			Body string `json:"body"`
		}{o.Key, o.ETag, string(item.body)}); err != nil {
			return nil, err
		}
		activity.RecordHeartbeat(ctx, in.Page)
	}
	if err := h.Store.PutGzip(ctx, b.rawKey, raw.Bytes(), "application/x-ndjson"); err != nil {
		return nil, err
	}
	return b, nil
}

func (h *Harvest) partnerStore(ctx context.Context, src sources.S3) (*s3store.Store, error) {
	c := h.S3
	c.Bucket = src.Bucket
	if src.Endpoint != "" {
		c.Endpoint = src.Endpoint
	}
	if src.Region != "" {
		c.Region = src.Region
	}
	if src.Profile != "" {
		c.Profile = src.Profile
	}
	return s3store.New(ctx, c)
}

func hasSuffix(key string, suffixes []string) bool {
	for _, s := range suffixes {
		if strings.HasSuffix(strings.ToLower(key), strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// process maps, stores and indexes the records of a batch.
func (h *Harvest) process(ctx context.Context, in PageInput, mapper mappings.Mapper, b *rawBatch) (PageResult, error) {
	res := PageResult{
		Counts: Counts{Pages: 1, Records: len(b.items)}, Next: b.next, RawKey: b.rawKey,
		ResponseDate: b.responseDate, ListSize: b.listSize,
	}
	now := h.now().UTC()
	var ops []esindex.Op
	opRecord := map[string]int{} // external id → index in items, for rejections
	quarantine := func(i int, kind string, errs error) error {
		ref, err := h.quarantine(ctx, in, i, b, kind, errs)
		if err != nil {
			return err
		}
		res.Quarantine = append(res.Quarantine, ref)
		res.Counts.Quarantined++
		return nil
	}
	for i, it := range b.items {
		recKey := RecordKey(in.Source.ID, it.identifier)
		if it.deleted {
			id, err := h.deleteRecord(ctx, recKey)
			if err != nil {
				return res, err
			}
			if id != "" {
				ops = append(ops, esindex.Op{ID: id})
			}
			res.Counts.Deleted++
			continue
		}
		if it.err != nil {
			if err := quarantine(i, "unreadable", it.err); err != nil {
				return res, err
			}
			continue
		}
		origin := mappings.Origin{
			Source: in.Source.ID, Set: in.Set, Identifier: it.identifier, Datestamp: it.datestamp,
			ETag: it.etag, Raw: h.Store.URI(b.rawKey) + "#" + it.identifier, Harvest: in.HarvestID, Now: now,
		}
		rec, err := mapRecord(mapper, it.body, origin)
		if err != nil {
			if err := quarantine(i, "unmappable", err); err != nil {
				return res, err
			}
			continue
		}
		if err := rec.Validate(); err != nil {
			if err := quarantine(i, "invalid", err); err != nil {
				return res, err
			}
			continue
		}
		if err := h.Store.PutJSON(ctx, recKey, rec); err != nil {
			return res, err
		}
		doc, err := json.Marshal(esindex.NewCatalogDoc(rec, h.Store.URI(recKey)))
		if err != nil {
			return res, err
		}
		if len(rec.Warnings) > 0 {
			res.Counts.Warnings++
		}
		opRecord[rec.ExternalID] = i
		ops = append(ops, esindex.Op{ID: rec.ExternalID, Doc: doc})
	}
	activity.RecordHeartbeat(ctx, in.Page)
	out, err := h.Index.Write(ctx, esindex.Catalog, ops)
	if err != nil {
		return res, err
	}
	if out.Retryable > 0 {
		// Nothing is lost by sending the page again: every write is idempotent.
		return res, fmt.Errorf("source %s page %d: %d of %d index writes need another attempt: %s",
			in.Source.ID, in.Page, out.Retryable, len(ops), out.RetryableReason)
	}
	for _, rej := range out.Rejected {
		if err := quarantine(opRecord[rej.ID], "index-rejected", fmt.Errorf("elasticsearch refused document %s: HTTP %d %s", rej.ID, rej.Status, rej.Reason)); err != nil {
			return res, err
		}
	}
	res.Counts.Indexed = out.Indexed
	return res, nil
}

// mapRecord runs a mapper, turning a panic on hostile input into an error
// for that one record.
func mapRecord(m mappings.Mapper, raw []byte, o mappings.Origin) (rec mappings.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("mapping failed: %v", p)
		}
	}()
	if len(bytes.TrimSpace(raw)) == 0 {
		return rec, errors.New("the record has no metadata")
	}
	return m(raw, o)
}

// deleteRecord removes a record kept in S3 and returns its external id, or
// "" when avo never had it.
func (h *Harvest) deleteRecord(ctx context.Context, key string) (string, error) {
	var rec mappings.Record
	if err := h.Store.GetJSON(ctx, key, &rec); err != nil {
		if s3store.IsNotFound(err) {
			return "", nil
		}
		return "", err
	}
	return rec.ExternalID, h.Store.Delete(ctx, key)
}

// QuarantineEntry is what the quarantine keeps of a record: enough to see
// why without going back to the source.
type QuarantineEntry struct {
	Source     string    `json:"source"`
	Set        string    `json:"set,omitempty"`
	Harvest    string    `json:"harvest"`
	Page       int       `json:"page"`
	Identifier string    `json:"identifier"`
	Kind       string    `json:"kind"`
	Errors     []string  `json:"errors"`
	RawPage    string    `json:"raw_page"`
	Raw        string    `json:"raw"`
	At         time.Time `json:"at"`
}

func (h *Harvest) quarantine(ctx context.Context, in PageInput, i int, b *rawBatch, kind string, cause error) (QuarantineRef, error) {
	it := b.items[i]
	key := fmt.Sprintf("%s/p%06d-r%04d.json", runPrefix("quarantine", in), in.Page, i)
	var msgs []string
	for _, line := range strings.Split(cause.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			msgs = append(msgs, line)
		}
	}
	raw := it.body
	if len(raw) > 1<<20 {
		raw = raw[:1<<20] // the whole record stays in the raw page
	}
	e := QuarantineEntry{
		Source: in.Source.ID, Set: in.Set, Harvest: in.HarvestID, Page: in.Page, Identifier: it.identifier,
		Kind: kind, Errors: msgs, RawPage: h.Store.URI(b.rawKey), Raw: string(raw), At: h.now().UTC(),
	}
	if err := h.Store.PutJSON(ctx, key, e); err != nil {
		return QuarantineRef{}, err
	}
	h.log().Warn("record quarantined", "source", in.Source.ID, "identifier", it.identifier, "kind", kind, "reason", strings.Join(msgs, "; "))
	return QuarantineRef{Key: key, Kind: kind, Reason: strings.Join(msgs, "; ")}, nil
}

// RecordKey is where a source's mapped record lives: one object per source
// record, so a re-harvest overwrites rather than duplicates.
func RecordKey(source, identifier string) string {
	return "records/" + source + "/" + url.PathEscape(identifier) + ".json"
}

// runPrefix is the folder of one harvest run under area (raw, quarantine).
func runPrefix(area string, in PageInput) string {
	return fmt.Sprintf("%s/%s/%s/%s", area, in.Source.ID, setPath(in.Set), in.HarvestID)
}

func setPath(set string) string {
	if set == "" {
		return "_all"
	}
	return url.PathEscape(set)
}

func (h *Harvest) log() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	return slog.Default()
}
