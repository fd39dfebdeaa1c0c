package profile

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
func (r Record) VisibleToTeachers(now time.Time) bool { return r.Invisibility(now) == "" }

// Invisibility says why teachers do not see a record at now; "" when they do.
func (r Record) Invisibility(now time.Time) string {
	rt := r.Rights
	switch {
	case !slices.Contains(rt.Licenses, EducationLicence) && !slices.Contains(rt.Licenses, FragmentLicence):
		return "no education licence (" + EducationLicence + " or " + FragmentLicence + ")"
	case rt.Deleted:
		return "deleted"
	case !rt.Published:
		return "not published"
	case rt.PublishAt != nil && now.Before(*rt.PublishAt):
		return "published from " + rt.PublishAt.UTC().Format(time.RFC3339)
	case rt.DepublishAt != nil && !now.Before(*rt.DepublishAt):
		return "depublished at " + rt.DepublishAt.UTC().Format(time.RFC3339)
	case rt.ExpiryDate != nil && !now.Before(*rt.ExpiryDate):
		return "expired at " + rt.ExpiryDate.UTC().Format(time.RFC3339)
	}
	return ""
}
