// Package curation holds editors' curated sets: what a set is, the steps
// from draft through review to publication, the set's versions and change
// log in S3 (the system of record), and what a published set puts into the
// education index.
package curation

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/editorial"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/refused"
)

// Status is where a set is on its way to teachers.
type Status string

// The statuses of a set: a draft goes to review, is approved (or sent back
// to draft with a comment), is published by its publication workflow at
// its date, and is depublished.
const (
	Draft       Status = "draft"
	InReview    Status = "in_review"
	Approved    Status = "approved"
	Published   Status = "published"
	Depublished Status = "depublished"
)

// Set is a curated set as S3 keeps it (sets/ID.json).
type Set struct {
	ID          string   `json:"id"`
	Title       string   `json:"title"`
	Description string   `json:"description,omitempty"`
	Thumbnail   string   `json:"thumbnail,omitempty"`
	Owners      []string `json:"owners"`
	Items       []Item   `json:"items"`
	Status      Status   `json:"status"`
	// PublishAt is when the set is to go live once approved (set by a
	// publish request); DepublishAt when it comes down again.
	PublishAt       *time.Time `json:"publish_at,omitempty"`
	DepublishAt     *time.Time `json:"depublish_at,omitempty"`
	DepublishReason string     `json:"depublish_reason,omitempty"`
	// ReplacedBy is a set or item that takes a depublished set's place.
	ReplacedBy  string     `json:"replaced_by,omitempty"`
	Review      *Review    `json:"review,omitempty"`
	PublishedAt *time.Time `json:"published_at,omitempty"`
	// Refused lists the items that kept the last publication from happening.
	Refused   []string  `json:"refused,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// Revision counts the changes; Change is the last one, also in the
	// audit log (a log entry a crash lost is written again from here).
	Revision int          `json:"revision"`
	Change   *audit.Entry `json:"change,omitempty"`
}

// Item is an archive item in a set, optionally a fragment of it, with the
// education fields the editors give it there.
type Item struct {
	ExternalID string               `json:"external_id"`
	Start      *float64             `json:"start,omitempty"`
	End        *float64             `json:"end,omitempty"`
	Overrides  *editorial.Overrides `json:"overrides,omitempty"`
}

// Review is the last verdict on a set.
type Review struct {
	Verdict string    `json:"verdict"` // approved, rejected
	By      string    `json:"by"`
	At      time.Time `json:"at"`
	Comment string    `json:"comment,omitempty"`
}

// IDs returns the external ids of the set's items, in order.
func (s *Set) IDs() []string {
	out := make([]string, len(s.Items))
	for i, it := range s.Items {
		out[i] = it.ExternalID
	}
	return out
}

var idPattern = regexp.MustCompile(`^set-[a-z0-9][a-z0-9-]{0,62}$`)

// ValidID reports whether id can name a set: "set-" and lower-case
// letters, digits and dashes, so no set id is ever an item's PID.
func ValidID(id string) bool { return idPattern.MatchString(id) }

func problemf(format string, args ...any) error { return refused.Errorf(format, args...) }

// check validates what an editor can write: a title, items without
// repeats, fragments that make sense, overrides from the vocabularies.
func (s *Set) check(v *profile.Vocabulary) error {
	if strings.TrimSpace(s.Title) == "" {
		return problemf("a set needs a title")
	}
	seen := map[string]bool{}
	for _, it := range s.Items {
		if !profile.ValidExternalID(it.ExternalID) {
			return problemf("item %q is not an archive id", it.ExternalID)
		}
		if seen[it.ExternalID] {
			return problemf("item %s is in the set twice", it.ExternalID)
		}
		seen[it.ExternalID] = true
		if it.Start != nil && *it.Start < 0 || it.End != nil && *it.End <= 0 {
			return problemf("item %s: a fragment's start and end are seconds from the beginning", it.ExternalID)
		}
		if it.Start != nil && it.End != nil && *it.End <= *it.Start {
			return problemf("item %s: the fragment ends (%gs) before it starts (%gs)", it.ExternalID, *it.End, *it.Start)
		}
		if err := it.Overrides.Check(v); err != nil {
			return problemf("item %s: %v", it.ExternalID, err)
		}
	}
	if s.PublishAt != nil && s.DepublishAt != nil && !s.PublishAt.Before(*s.DepublishAt) {
		return problemf("the set would be depublished (%s) before it is published (%s)",
			s.DepublishAt.UTC().Format(time.RFC3339), s.PublishAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// Edit is a change of a set's content; nil fields stay as they are.
type Edit struct {
	Title       *string  `json:"title,omitempty"`
	Description *string  `json:"description,omitempty"`
	Thumbnail   *string  `json:"thumbnail,omitempty"`
	Owners      []string `json:"owners,omitempty"`
	// Items replaces the items (their order too).
	Items *[]Item `json:"items,omitempty"`
	// Add appends items; Remove takes items out; Move puts an item at a
	// position (0 is the first).
	Add    []Item   `json:"add,omitempty"`
	Remove []string `json:"remove,omitempty"`
	Move   *Move    `json:"move,omitempty"`
}

// Move puts an item at a position.
type Move struct {
	ExternalID string `json:"external_id"`
	To         int    `json:"to"`
}

// apply makes the edit and says what changed; nil when nothing did.
func (e Edit) apply(s *Set) ([]string, error) {
	var what []string
	str := func(name string, dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst = *v
			what = append(what, name)
		}
	}
	str("title", &s.Title, e.Title)
	str("description", &s.Description, e.Description)
	str("thumbnail", &s.Thumbnail, e.Thumbnail)
	if e.Owners != nil && !slices.Equal(e.Owners, s.Owners) {
		s.Owners = e.Owners
		what = append(what, "owners: "+strings.Join(e.Owners, ", "))
	}
	before := s.IDs()
	if e.Items != nil {
		s.Items = slices.Clone(*e.Items)
		what = append(what, "items: "+strings.Join(s.IDs(), " "))
	}
	for _, it := range e.Add {
		s.Items = append(s.Items, it)
		what = append(what, "added "+it.ExternalID)
	}
	for _, id := range e.Remove {
		i := slices.IndexFunc(s.Items, func(it Item) bool { return it.ExternalID == id })
		if i < 0 {
			return nil, problemf("item %s is not in set %s", id, s.ID)
		}
		s.Items = slices.Delete(s.Items, i, i+1)
		what = append(what, "removed "+id)
	}
	if m := e.Move; m != nil {
		i := slices.IndexFunc(s.Items, func(it Item) bool { return it.ExternalID == m.ExternalID })
		if i < 0 {
			return nil, problemf("item %s is not in set %s", m.ExternalID, s.ID)
		}
		if m.To < 0 || m.To >= len(s.Items) {
			return nil, problemf("position %d is outside the set (0 to %d)", m.To, len(s.Items)-1)
		}
		it := s.Items[i]
		s.Items = slices.Insert(slices.Delete(s.Items, i, i+1), m.To, it)
		if i != m.To {
			what = append(what, fmt.Sprintf("moved %s to %d", m.ExternalID, m.To))
		}
	}
	if e.Items != nil && slices.Equal(before, s.IDs()) && len(what) == 1 {
		what = what[:0] // same items in the same order (overrides may differ)
		what = append(what, "items")
	}
	return what, nil
}

// Step is a move along a set's way: review, verdicts, publication.
type Step struct {
	Action string `json:"-"`
	// Comment goes with a verdict; Reason with a depublication.
	Comment string `json:"comment,omitempty"`
	// At and Until: when a publication is to begin and end.
	At    *time.Time `json:"publish_at,omitempty"`
	Until *time.Time `json:"depublish_at,omitempty"`
	// Reason and ReplacedBy go with a depublication.
	Reason     string `json:"reason,omitempty"`
	ReplacedBy string `json:"replaced_by,omitempty"`
}

// The steps.
const (
	ActionReview    = "review"
	ActionApprove   = "approve"
	ActionReject    = "reject"
	ActionPublish   = "publish"
	ActionDepublish = "depublish"
	ActionWithdraw  = "withdraw"
)

// Steps are the actions Take knows.
var Steps = []string{ActionReview, ActionApprove, ActionReject, ActionPublish, ActionDepublish, ActionWithdraw}

// take makes a step at now by who; an error says why the set cannot take it.
func (st Step) take(s *Set, who string, now time.Time) ([]string, error) {
	from := s.Status
	refuse := func() ([]string, error) {
		return nil, problemf("set %s is %s: it cannot %s", s.ID, from, st.Action)
	}
	switch st.Action {
	case ActionReview:
		if from != Draft {
			return refuse()
		}
		s.Status = InReview
	case ActionApprove, ActionReject:
		if from != InReview {
			return refuse()
		}
		if st.Action == ActionReject && strings.TrimSpace(st.Comment) == "" {
			return nil, problemf("a rejection needs a comment saying what to fix")
		}
		s.Status, s.Review = Approved, &Review{Verdict: "approved", By: who, At: now, Comment: st.Comment}
		if st.Action == ActionReject {
			s.Status, s.Review.Verdict = Draft, "rejected"
		}
	case ActionPublish:
		// A publication may be asked for before the approval: it waits for it.
		if from == Published && st.Until == nil {
			return refuse()
		}
		at := now
		if st.At != nil {
			at = *st.At
		}
		if from != Published {
			s.PublishAt = &at
		}
		s.DepublishAt, s.DepublishReason, s.ReplacedBy, s.Refused = st.Until, "", "", nil
		if from == Depublished {
			s.Status = Draft // a set comes back through review
		}
	case ActionWithdraw:
		if from == Published || from == Depublished || s.PublishAt == nil {
			return refuse()
		}
		s.PublishAt, s.DepublishAt = nil, nil
	case ActionDepublish:
		// A published set, or one whose publication is planned.
		if from == Depublished || from != Published && s.PublishAt == nil {
			return refuse()
		}
		if strings.TrimSpace(st.Reason) == "" {
			return nil, problemf("a depublication needs a reason")
		}
		at := now
		if st.At != nil {
			at = *st.At
		}
		s.DepublishAt, s.DepublishReason, s.ReplacedBy = &at, st.Reason, st.ReplacedBy
		if from != Published {
			s.PublishAt = nil
		}
	default:
		return nil, problemf("no step %q (steps: %s)", st.Action, strings.Join(Steps, ", "))
	}
	what := []string{fmt.Sprintf("status: %s → %s", from, s.Status)}
	if s.Status == from {
		what = what[:0]
	}
	if st.Comment != "" {
		what = append(what, "comment: "+st.Comment)
	}
	if st.Action == ActionPublish || st.Action == ActionDepublish || st.Action == ActionWithdraw {
		what = append(what, "window: "+stamp(s.PublishAt)+" to "+stamp(s.DepublishAt))
	}
	if st.Reason != "" {
		what = append(what, "reason: "+st.Reason)
	}
	if st.ReplacedBy != "" {
		what = append(what, "replaced by: "+st.ReplacedBy)
	}
	return what, nil
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Due says what a set's publication must do at now: publish it (approved
// and its date has come), depublish it (published and its end has come),
// or nothing yet; wake is when to look again (nil: nothing is pending).
func (s *Set) Due(now time.Time) (publish, depublish bool, wake *time.Time) {
	switch {
	case s.Status == Approved && s.PublishAt != nil:
		if !now.Before(*s.PublishAt) {
			return true, false, nil
		}
		return false, false, s.PublishAt
	case s.Status == Published && s.DepublishAt != nil:
		if !now.Before(*s.DepublishAt) {
			return false, true, nil
		}
		return false, false, s.DepublishAt
	}
	return false, false, nil
}

// Pending reports whether the set's publication has something to wait for:
// an approval or a date.
func (s *Set) Pending() bool {
	return s.PublishAt != nil && s.Status != Published && s.Status != Depublished ||
		s.Status == Published && s.DepublishAt != nil
}
