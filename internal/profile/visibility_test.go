package profile

import (
	"strings"
	"testing"
	"time"
)

// Each branch of the education-visibility rule keeps teachers from an
// item; removing any one of them makes its case visible and this fail.
func TestVisibilityBranches(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	visible := Rights{Licenses: []string{EducationLicence}, Published: true}
	cases := []struct {
		name string
		edit func(*Rights)
		why  string // "" when visible
	}{
		{"education licence, published", func(*Rights) {}, ""},
		{"fragment licence", func(r *Rights) { r.Licenses = []string{FragmentLicence} }, ""},
		{"other licence", func(r *Rights) { r.Licenses = []string{"VIAA-PUBLIEK-METADATA-ALL"} }, "no education licence"},
		{"no licence", func(r *Rights) { r.Licenses = nil }, "no education licence"},
		{"deleted", func(r *Rights) { r.Deleted = true }, "deleted"},
		{"not published", func(r *Rights) { r.Published = false }, "not published"},
		{"window not open", func(r *Rights) { r.PublishAt = &future }, "published from"},
		{"window open", func(r *Rights) { r.PublishAt = &past }, ""},
		{"window closed", func(r *Rights) { r.DepublishAt = &past }, "depublished at"},
		{"window closes later", func(r *Rights) { r.DepublishAt = &future }, ""},
		{"window closes now", func(r *Rights) { r.DepublishAt = &now }, "depublished at"},
		{"expired", func(r *Rights) { r.ExpiryDate = &past }, "expired at"},
		{"expires later", func(r *Rights) { r.ExpiryDate = &future }, ""},
	}
	for _, c := range cases {
		rt := visible
		c.edit(&rt)
		r := Record{Rights: rt}
		why := r.Invisibility(now)
		if (why == "") != (c.why == "") || !strings.HasPrefix(why, c.why) {
			t.Errorf("%s: invisibility %q, want %q", c.name, why, c.why)
		}
		if r.VisibleToTeachers(now) != (c.why == "") {
			t.Errorf("%s: visible %v", c.name, r.VisibleToTeachers(now))
		}
	}
}
