// Package editorial holds what editors decide about items, kept apart from
// the mapped records so that a re-harvest never undoes it, and the
// operations that record and apply those decisions.
package editorial

import (
	"time"

	"github.com/archiefvooronderwijs/avo/internal/profile"
)

// Editorial is what editors decide about an item, kept apart from the
// mapped record (S3 editorial/PID.json) so that a re-harvest never undoes it.
type Editorial struct {
	Published       bool       `json:"published"`
	PublishAt       *time.Time `json:"publish_at,omitempty"`
	DepublishAt     *time.Time `json:"depublish_at,omitempty"`
	DepublishReason string     `json:"depublish_reason,omitempty"`
	By              string     `json:"by,omitempty"`
	At              time.Time  `json:"at"`
}

// Apply puts editorial decisions on a mapped record.
func (e Editorial) Apply(r *profile.Record) {
	r.Rights.Published = e.Published
	r.Rights.PublishAt, r.Rights.DepublishAt = e.PublishAt, e.DepublishAt
	r.Rights.DepublishReason = e.DepublishReason
}
