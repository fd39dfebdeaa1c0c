package esindex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Gone is the index of the education index's removals: a document that
// leaves the education index (depublished, deleted by its partner, made
// private, out of its window or licence) leaves a tombstone there, with
// when and the fields its OAI-PMH sets are made of, so partners
// harvesting incrementally learn of it. It is not versioned: rebuilds
// and rollbacks of the education index keep it.
func (ix Indices) Gone() string { return ix.Prefix + "-oai-gone" }

// goneBatch is how many deletes wait for their tombstones at most.
const goneBatch = 200

// goneLog keeps the tombstones of writers sharing a request stream: a
// delete's tombstone is written before the delete (a crash between them
// leaves a tombstone of a document still there, which readers ignore),
// and a document written again takes its tombstone away.
type goneLog struct {
	ix Indices
	// A page's writes add from many goroutines at once.
	mu      sync.Mutex
	deletes []waitingDelete
	written []string
}

// waitingDelete is a delete waiting for its tombstone, and the writer
// that answers for it.
type waitingDelete struct {
	op Op
	w  *Writer
}

// note keeps what op (of writer w) means for the tombstones: a write takes
// its document's away at Close; a delete waits for its tombstone (wait),
// and when goneBatch deletes wait, they are returned to be entombed.
func (g *goneLog) note(op Op, w *Writer) (batch []waitingDelete, wait bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if op.Doc != nil {
		g.written = append(g.written, op.ID)
		return nil, false
	}
	g.deletes = append(g.deletes, waitingDelete{op, w})
	if len(g.deletes) < goneBatch {
		return nil, true
	}
	batch, g.deletes = g.deletes, nil
	return batch, true
}

// waiting takes the deletes that wait for their tombstones.
func (g *goneLog) waiting() []waitingDelete {
	g.mu.Lock()
	defer g.mu.Unlock()
	batch := g.deletes
	g.deletes = nil
	return batch
}

// setupGone installs the template the tombstones index is made from
// (the items mapping), so that the first tombstone creates it.
func (ix Indices) setupGone(ctx context.Context, body map[string]any) error {
	tmpl := map[string]any{
		"index_patterns": []string{ix.Gone()},
		"priority":       200,
		"template":       map[string]any{"settings": body["settings"], "mappings": body["mappings"]},
		"_meta":          map[string]any{"managed_by": "avo"},
	}
	if err := ix.do(ctx, http.MethodPut, "/_index_template/"+ix.Gone(), tmpl, nil); err != nil {
		return fmt.Errorf("install index template %s: %w", ix.Gone(), err)
	}
	return nil
}

// entomb writes the tombstones of the documents of deletes that the
// education index holds, then lets the deletes go.
func (g *goneLog) entomb(ctx context.Context, deletes []waitingDelete) error {
	if len(deletes) == 0 {
		return nil
	}
	ids := make([]string, len(deletes))
	for i, d := range deletes {
		ids[i] = d.op.ID
	}
	live, err := g.ix.Docs(ctx, Education, ids, FieldExternalID, FieldType, FieldProviderID, FieldLevelIDs)
	if err != nil {
		return err
	}
	if len(live) > 0 {
		now := time.Now().UTC().Truncate(time.Millisecond)
		var body bytes.Buffer
		for _, id := range ids {
			d, ok := live[id]
			if !ok {
				continue
			}
			t := Doc{ExternalID: id, AdministrativeType: d.AdministrativeType, OriginalCPID: d.OriginalCPID, LevelIDs: d.LevelIDs,
				Deleted: true, OAIDatestamp: &now, UpdatedAt: now}
			doc, err := json.Marshal(t)
			if err != nil {
				return err
			}
			fmt.Fprintf(&body, `{"index":{"_id":%q}}`+"\n", id)
			body.Write(doc)
			body.WriteByte('\n')
		}
		if err := g.ix.Bulk(ctx, g.ix.Gone(), body.Bytes()); err != nil {
			return fmt.Errorf("tombstones of %d documents: %w", len(live), err)
		}
	}
	for _, d := range deletes {
		if err := d.w.send(ctx, d.op); err != nil {
			return err
		}
	}
	return nil
}

// unbury takes away the tombstones of documents written again.
func (g *goneLog) unbury(ctx context.Context) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.written) == 0 {
		return nil
	}
	for chunk := range slices.Chunk(g.written, 1000) {
		var res hits
		q := map[string]any{"size": len(chunk), "_source": false, "query": map[string]any{"ids": map[string]any{"values": chunk}}}
		if err := g.ix.do(ctx, http.MethodPost, "/"+g.ix.Gone()+"/_search?ignore_unavailable=true", q, &res); err != nil {
			return fmt.Errorf("tombstones of documents written again: %w", err)
		}
		if len(res.Hits.Hits) == 0 {
			continue
		}
		var body bytes.Buffer
		for _, h := range res.Hits.Hits {
			fmt.Fprintf(&body, `{"delete":{"_id":%q}}`+"\n", h.ID)
		}
		if err := g.ix.Bulk(ctx, g.ix.Gone(), body.Bytes()); err != nil {
			return err
		}
	}
	g.written = g.written[:0]
	return nil
}

// Bulk sends a _bulk body made ahead to index, in one request, and checks
// every item (a delete of what is not there is fine).
func (ix Indices) Bulk(ctx context.Context, index string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "/"+index+"/_bulk", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	res, err := ix.ES.Perform(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	var out struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		return fmt.Errorf("bulk %s: HTTP %d: %w", index, res.StatusCode, err)
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("bulk %s: HTTP %d", index, res.StatusCode)
	}
	for _, it := range out.Items {
		for action, r := range it {
			if r.Status >= 300 && !(action == "delete" && r.Status == http.StatusNotFound) {
				return fmt.Errorf("bulk %s: %s: HTTP %d %s: %s", index, action, r.Status, r.Error.Type, r.Error.Reason)
			}
		}
	}
	return nil
}
