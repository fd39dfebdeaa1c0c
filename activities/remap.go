package activities

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"go.temporal.io/sdk/activity"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/oaipmh"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/sources"
)

// remapPage is how many records one replay activity maps again.
const remapPage = 500

// RemapInput asks for one page of a source's records to be mapped again
// from the raw form a harvest kept, without asking the partner.
type RemapInput struct {
	Source   string `json:"source"`
	ReplayID string `json:"replay_id"`
	Page     int    `json:"page"`  // 1-based
	Token    string `json:"token"` // where the listing of records goes on
}

// RemapResult counts a replayed page.
type RemapResult struct {
	Counts bucket.Counts `json:"counts"`
	// Unreplayable records stay as they are: their raw form is no longer
	// kept (or never was), with a few examples.
	Unreplayable int                           `json:"unreplayable"`
	Examples     []string                      `json:"examples,omitempty"`
	Quarantine   map[string]bucket.KindSummary `json:"quarantine,omitempty"`
	Next         string                        `json:"next,omitempty"`
}

// RemapPage maps a page of a source's stored records again from their
// raw form (after a change of mapping, vocabulary or rules), and stores
// and indexes them as a harvest would: editors' decisions stay, a record
// that no longer passes is quarantined and its last good version kept.
// Each raw page is read once for all the records it holds.
func (h *Harvest) RemapPage(ctx context.Context, in RemapInput) (RemapResult, error) {
	var out RemapResult
	objs, next, err := h.Store.ListPage(ctx, bucket.RecordsPrefix+in.Source+"/", in.Token, remapPage)
	if err != nil {
		return out, err
	}
	out.Next = next
	res := &PageResult{}
	pin := PageInput{Source: sources.Source{ID: in.Source}, HarvestID: in.ReplayID, Page: in.Page}
	w, err := h.newPageWriter(ctx, pin, res)
	if err != nil {
		return out, err
	}
	w.rewrite = true
	// The records of the page, grouped by the raw page they came from.
	type replay struct {
		p     profile.Provenance
		media *profile.Media
	}
	byRaw := map[string][]replay{}
	var order []string
	for _, o := range objs {
		var rec profile.Record
		if err := h.Store.GetJSON(ctx, o.Key, &rec); err != nil {
			return out, w.fail(ctx, err)
		}
		p := rec.Provenance
		rawKey, ok := strings.CutSuffix(p.Raw, "#"+p.Identifier)
		rawKey, ok2 := strings.CutPrefix(rawKey, "s3://"+h.Store.Bucket+"/")
		if !ok || !ok2 {
			out.unreplayable(p.Identifier, "its raw form is not kept by avo ("+p.Raw+")")
			continue
		}
		if _, seen := byRaw[rawKey]; !seen {
			order = append(order, rawKey)
		}
		byRaw[rawKey] = append(byRaw[rawKey], replay{p, rec.Media})
	}
	for _, rawKey := range order {
		bodies, err := h.rawBodies(ctx, rawKey)
		if err != nil {
			for _, r := range byRaw[rawKey] {
				out.unreplayable(r.p.Identifier, err.Error())
			}
			continue
		}
		for _, r := range byRaw[rawKey] {
			p := r.p
			body, ok := bodies[p.Identifier]
			if !ok {
				out.unreplayable(p.Identifier, "not in its raw page "+rawKey)
				continue
			}
			w.rawKey = rawKey
			it := rawItem{identifier: p.Identifier, datestamp: p.Datestamp, etag: p.ETag, version: p.VersionID, body: body,
				mapping: p.Format, set: p.Set, raw: p.Raw, harvest: p.Harvest, media: r.media}
			if err := w.add(ctx, it); err != nil {
				return out, w.fail(ctx, err)
			}
		}
		activity.RecordHeartbeat(ctx, in.Page)
	}
	if err := w.finish(ctx); err != nil {
		return out, err
	}
	out.Counts, out.Quarantine = res.Counts, res.Quarantine
	if out.Unreplayable > 0 {
		h.log().Warn("records not replayed: their raw form is not at hand", "source", in.Source, "page", in.Page, "count", out.Unreplayable, "examples", out.Examples)
	}
	return out, nil
}

func (r *RemapResult) unreplayable(identifier, why string) {
	r.Unreplayable++
	if len(r.Examples) < 5 {
		r.Examples = append(r.Examples, identifier+": "+why)
	}
}

// fail ends a page writer that is abandoned and returns err.
func (w *pageWriter) fail(ctx context.Context, err error) error {
	w.abandon(ctx)
	return err
}

// rawBodies reads a raw page (an OAI-PMH response, or a partner bucket
// batch as JSON lines) and returns its records' bodies by identifier.
func (h *Harvest) rawBodies(ctx context.Context, rawKey string) (map[string][]byte, error) {
	body, err := h.Store.GetGzip(ctx, rawKey)
	if err != nil {
		return nil, fmt.Errorf("raw page %s: %w", rawKey, err)
	}
	out := map[string][]byte{}
	if strings.HasSuffix(rawKey, ".jsonl.gz") {
		sc := bufio.NewScanner(bytes.NewReader(body))
		sc.Buffer(make([]byte, 64<<10), 64<<20)
		for sc.Scan() {
			var line struct {
				Key  string `json:"key"`
				Body string `json:"body"`
			}
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				return nil, fmt.Errorf("raw page %s: %w", rawKey, err)
			}
			if line.Body != "" {
				out[line.Key] = []byte(line.Body)
			}
		}
		return out, sc.Err()
	}
	_, _, err = oaipmh.Read(bytes.NewReader(body), func(r oaipmh.Record) error {
		if r.Problem == "" && !r.Header.Deleted {
			out[r.Header.Identifier] = r.Metadata
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("raw page %s: %w", rawKey, err)
	}
	return out, nil
}
