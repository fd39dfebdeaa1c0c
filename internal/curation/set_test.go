package curation

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/refused"
)

// TestStepsFollowTheReview walks every step from every status: only the
// moves the review allows are taken, and each refusal names the status.
func TestStepsFollowTheReview(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	allowed := map[string][]Status{
		ActionReview:    {Draft},
		ActionApprove:   {InReview},
		ActionReject:    {InReview},
		ActionPublish:   {Draft, InReview, Approved, Depublished},
		ActionWithdraw:  {Draft, InReview, Approved},
		ActionDepublish: {Draft, InReview, Approved, Published},
	}
	after := map[string]Status{ActionReview: InReview, ActionApprove: Approved, ActionReject: Draft}
	for action, from := range allowed {
		for _, st := range []Status{Draft, InReview, Approved, Published, Depublished} {
			s := &Set{ID: "set-t", Status: st, PublishAt: &later}
			step := Step{Action: action, Comment: "c", Reason: "r", At: &later}
			_, err := step.take(s, "e", now)
			if ok := slices.Contains(from, st); ok != (err == nil) {
				t.Errorf("%s from %s: %v, want allowed=%v", action, st, err, ok)
				continue
			}
			if err != nil {
				if !strings.Contains(err.Error(), "is "+string(st)+": it cannot "+action) || !errors.Is(err, refused.Err) {
					t.Errorf("%s from %s: %v", action, st, err)
				}
				continue
			}
			if want, ok := after[action]; ok && s.Status != want {
				t.Errorf("%s from %s: %s, want %s", action, st, s.Status, want)
			}
		}
	}
	s := &Set{ID: "set-t", Status: InReview}
	if _, err := (Step{Action: ActionReject}).take(s, "e", now); err == nil || s.Status != InReview {
		t.Errorf("a rejection without a comment: %v, status %s", err, s.Status)
	}
	s = &Set{ID: "set-t", Status: Published}
	if _, err := (Step{Action: ActionDepublish}).take(s, "e", now); err == nil {
		t.Error("a depublication without a reason was taken")
	}
}

// TestDueWaitsForApprovalAndDates: a set is published only once approved
// and at its date, and depublished at its end.
func TestDueWaitsForApprovalAndDates(t *testing.T) {
	now := time.Date(2026, 9, 1, 8, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Minute), now.Add(time.Hour)
	for _, c := range []struct {
		name           string
		s              Set
		pub, dep, wake bool
		pending        bool
	}{
		{"draft, date passed", Set{Status: Draft, PublishAt: &past}, false, false, false, true},
		{"approved, no date", Set{Status: Approved}, false, false, false, false},
		{"approved, date to come", Set{Status: Approved, PublishAt: &future}, false, false, true, true},
		{"approved, date passed", Set{Status: Approved, PublishAt: &past}, true, false, false, true},
		{"published, no end", Set{Status: Published, PublishAt: &past}, false, false, false, false},
		{"published, end to come", Set{Status: Published, DepublishAt: &future}, false, false, true, true},
		{"published, end passed", Set{Status: Published, DepublishAt: &past}, false, true, false, true},
		{"depublished", Set{Status: Depublished, PublishAt: &past, DepublishAt: &past}, false, false, false, false},
	} {
		pub, dep, wake := c.s.Due(now)
		if pub != c.pub || dep != c.dep || (wake != nil) != c.wake || c.s.Pending() != c.pending {
			t.Errorf("%s: publish %v depublish %v wake %v pending %v", c.name, pub, dep, wake, c.s.Pending())
		}
	}
}

// TestEditItems adds, removes and moves items, refusing what is not there.
func TestEditItems(t *testing.T) {
	s := &Set{ID: "set-t", Items: []Item{{ExternalID: "a"}, {ExternalID: "b"}}}
	what, err := Edit{Add: []Item{{ExternalID: "c"}}, Remove: []string{"a"}, Move: &Move{ExternalID: "c", To: 0}}.apply(s)
	if err != nil || !slices.Equal(s.IDs(), []string{"c", "b"}) || len(what) != 3 {
		t.Fatalf("%v %v %v", s.IDs(), what, err)
	}
	if _, err := (Edit{Remove: []string{"zz"}}).apply(s); err == nil || err.Error() != "item zz is not in set set-t" {
		t.Errorf("removing what is not there: %v", err)
	}
	if _, err := (Edit{Move: &Move{ExternalID: "b", To: 5}}).apply(s); err == nil {
		t.Error("a move past the end was taken")
	}
	if what, _ := (Edit{Title: new(string)}).apply(&Set{}); len(what) != 0 {
		t.Errorf("an unchanged title is a change: %v", what)
	}
}
