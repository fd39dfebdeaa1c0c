package mappings

import (
	"slices"
	"time"
)

// Licences that allow education use: the education licence, and fragments only.
const (
	EducationLicence = "VIAA-ONDERWIJS"
	FragmentLicence  = "ONDERWIJS-FRAGMENT"
)

// VisibleToTeachers reports whether a record belongs in the education
// index at now: a licence allows education use, an editor published it, it
// is not deleted, and now lies in its publish window and before its expiry.
func (r Record) VisibleToTeachers(now time.Time) bool {
	rt := r.Rights
	if !slices.Contains(rt.Licenses, EducationLicence) && !slices.Contains(rt.Licenses, FragmentLicence) {
		return false
	}
	if !rt.Published || rt.Deleted {
		return false
	}
	if rt.PublishAt != nil && now.Before(*rt.PublishAt) {
		return false
	}
	if rt.DepublishAt != nil && !now.Before(*rt.DepublishAt) {
		return false
	}
	if rt.ExpiryDate != nil && !now.Before(*rt.ExpiryDate) {
		return false
	}
	return true
}

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
func (e Editorial) Apply(r *Record) {
	r.Rights.Published = e.Published
	r.Rights.PublishAt, r.Rights.DepublishAt = e.PublishAt, e.DepublishAt
	r.Rights.DepublishReason = e.DepublishReason
}
