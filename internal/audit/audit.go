// Package audit keeps the change log of what editors and teachers change
// (curated sets, decisions about items): one S3 object per revision, never
// overwritten, beside the document it is about.
package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Entry is one change: who made it, when, what it was, and the versions
// (S3 ETags) of the document before and after it.
type Entry struct {
	Revision int       `json:"revision"`
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Action   string    `json:"action"`
	Comment  string    `json:"comment,omitempty"`
	Changes  []string  `json:"changes,omitempty"`
	Before   string    `json:"version_before,omitempty"`
	After    string    `json:"version_after,omitempty"`
}

// Append logs e as revision e.Revision of kind/id. An entry is written
// once: if that revision is logged already (a retried write, or a log
// healed from the document), the log keeps what it has.
func Append(ctx context.Context, store *s3store.Store, kind, id string, e Entry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	_, err = store.PutIf(ctx, bucket.AuditKey(kind, id, e.Revision), b, "application/json", "")
	if err != nil && !s3store.IsConflict(err) {
		return fmt.Errorf("audit log of %s %s: %w", kind, id, err)
	}
	return nil
}

// Heal logs a document's last change if a crash kept it from the log:
// a document carries its last change, and version is the document's
// version now, which that change made.
func Heal(ctx context.Context, store *s3store.Store, kind, id string, last Entry, version string) error {
	if last.Revision == 0 {
		return nil
	}
	last.After = version
	return Append(ctx, store, kind, id, last)
}

// List returns the log of kind/id, oldest first; [] when nothing was logged.
func List(ctx context.Context, store *s3store.Store, kind, id string) ([]Entry, error) {
	objs, err := store.List(ctx, bucket.AuditLogPrefix(kind, id))
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(objs))
	for _, o := range objs {
		var e Entry
		if err := store.GetJSON(ctx, o.Key, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Revision < out[j].Revision })
	return out, nil
}
