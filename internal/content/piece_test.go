package content

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/refused"
)

func f(v float64) *float64 { return &v }

func TestRightsOfPeople(t *testing.T) {
	now := time.Now()
	p := &Piece{Owner: Person{ID: "leen"}, Shares: []Share{
		{Email: "cas@school.example", Right: Contributor, Status: Accepted, User: &Person{ID: "cas"}, Accepted: &now},
		{Email: "vera@school.example", Right: Viewer, Status: Accepted, User: &Person{ID: "vera"}, Accepted: &now},
		{Email: "tom@school.example", Right: Contributor, Status: Invited},
	}}
	for _, c := range []struct {
		user, email        string
		want               Right
		read, edit, manage bool
	}{
		{"leen", "", OwnerRight, true, true, true},
		{"cas", "", Contributor, true, true, false},
		{"vera", "", Viewer, true, false, false},
		{"tom", "TOM@school.example", invitedRight, true, false, false}, // reads before answering, by address
		{"tom", "", noRight, false, false, false},
		{"", "", noRight, false, false, false},
	} {
		r := p.RightOf(c.user, c.email)
		if r != c.want || r.CanRead() != c.read || r.CanEdit() != c.edit || r.CanManage() != c.manage {
			t.Errorf("%s %s: %q (read %v edit %v manage %v)", c.user, c.email, r, r.CanRead(), r.CanEdit(), r.CanManage())
		}
	}
	if got := p.Members(); strings.Join(got, ",") != "leen,cas,vera" {
		t.Errorf("members %v", got)
	}
	if got := p.Invitees(); strings.Join(got, ",") != "tom@school.example" {
		t.Errorf("invitees %v", got)
	}
	// A hand-over makes the contributor the owner and the owner a contributor.
	handOver(p, 0, "leen", now)
	if p.Owner.ID != "cas" || p.RightOf("leen", "") != Contributor || p.RightOf("cas", "") != OwnerRight {
		t.Errorf("after the hand-over: owner %s, leen %s", p.Owner.ID, p.RightOf("leen", ""))
	}
}

func TestWhatAPieceHolds(t *testing.T) {
	v, err := profile.Vocabularies()
	if err != nil {
		t.Fatal(err)
	}
	mc := Question{At: 20, Kind: MultipleChoice, Text: "Welke?", Options: []string{"a", "b"}, Answers: []string{"b"}}
	for _, c := range []struct {
		name string
		p    Piece
		want string // "" for none
	}{
		{"a collection of items and text", Piece{Kind: Collection, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01"}, {Type: TextBlock, Text: "x"}}}, ""},
		{"no title", Piece{Kind: Collection, Title: " "}, "needs a title"},
		{"a bundle in a collection", Piece{Kind: Collection, Title: "t", Blocks: []Block{{Type: CollectionBlock, Ref: "col-abcdef"}}}, "holds blocks of type item and text"},
		{"an item in a bundle", Piece{Kind: Bundle, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01"}}}, "holds blocks of type collection and assignment"},
		{"a bundle block naming an assignment as a collection", Piece{Kind: Bundle, Title: "t", Blocks: []Block{{Type: CollectionBlock, Ref: "opd-abcdef"}}}, "is not the id of a collectie"},
		{"a bundle holding itself", Piece{ID: "bun-abcdef", Kind: Bundle, Title: "t", Blocks: []Block{{Type: CollectionBlock, Ref: "col-abcdef"}, {Type: CollectionBlock, Ref: "bun-abcdef"}}}, "is not the id of a collectie"},
		{"an empty text", Piece{Kind: Collection, Title: "t", Blocks: []Block{{Type: TextBlock}}}, "needs text"},
		{"a fragment backwards", Piece{Kind: Collection, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01", Start: f(30), End: f(10)}}}, "ends (10s) before it starts (30s)"},
		{"a fragment on a text", Piece{Kind: Collection, Title: "t", Blocks: []Block{{Type: TextBlock, Text: "x", Start: f(3)}}}, "only an item block"},
		{"questions in a collection", Piece{Kind: Collection, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01", Questions: []Question{mc}}}}, "questions belong in an assignment"},
		{"a question", Piece{Kind: Assignment, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01", Start: f(10), End: f(30), Questions: []Question{mc}}}}, ""},
		{"a question after its fragment", Piece{Kind: Assignment, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01", Start: f(10), End: f(15), Questions: []Question{mc}}}}, "outside the fragment"},
		{"an answer outside the options", Piece{Kind: Assignment, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01", Questions: []Question{{At: 1, Kind: MultipleChoice, Text: "?", Options: []string{"a", "b"}, Answers: []string{"c"}}}}}}, `answer "c" is not one of the options`},
		{"an open question with options", Piece{Kind: Assignment, Title: "t", Blocks: []Block{{Type: ItemBlock, ExternalID: "dm01fiets01", Questions: []Question{{At: 1, Kind: Open, Text: "?", Options: []string{"a"}}}}}}, "has no options"},
		{"a subject outside the vocabulary", Piece{Kind: Collection, Title: "t", Education: Education{Subjects: []string{"https://example.org/vak/x"}}}, "subject https://example.org/vak/x is not in the vocabulary"},
		{"a level given as a subject", Piece{Kind: Collection, Title: "t", Education: Education{Subjects: []string{profile.StructureScheme + "/lager-onderwijs"}}}, "is not in the vocabulary"},
		{"instructions on a collection", Piece{Kind: Collection, Title: "t", Instructions: "doe"}, "belong to an assignment"},
		{"an unknown assignment kind", Piece{Kind: Assignment, Title: "t", AssignmentKind: "dance"}, `assignment kind "dance"`},
	} {
		err := c.p.check(v)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want) || !errors.Is(err, refused.Err)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestEditsSayWhatChanged(t *testing.T) {
	p := &Piece{Kind: Assignment, Title: "a", Blocks: []Block{{Type: TextBlock, Text: "x"}}}
	title, public, at := "b", true, "2026-09-01T08:00:00+02:00"
	what, err := Edit{Title: &title, Public: &public, AvailableAt: &at, Blocks: &[]Block{{Type: TextBlock, Text: "x"}}}.apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(what, "; ") != "title; available at: 2026-09-01T06:00:00Z; public: true" {
		t.Errorf("what changed: %q", what)
	}
	if what, _ := (Edit{Title: &title}).apply(p); len(what) != 0 {
		t.Errorf("the same title again changed %v", what)
	}
	bad := "next monday"
	if _, err := (Edit{DeadlineAt: &bad}).apply(p); !errors.Is(err, refused.Err) {
		t.Errorf("a deadline that is no time: %v", err)
	}
	clear := ""
	if what, _ := (Edit{AvailableAt: &clear}).apply(p); p.AvailableAt != nil || len(what) != 1 {
		t.Errorf("clearing the date: %v %v", p.AvailableAt, what)
	}
	open := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	p.AvailableAt, p.DeadlineAt = &open, nil
	if p.Available(open.Add(-time.Second)) || !p.Available(open) {
		t.Error("available before its time, or not at it")
	}
}

func TestIDsNameTheirKind(t *testing.T) {
	for _, k := range Kinds {
		id := newID(k)
		if !ValidID(id) || KindOf(id) != k {
			t.Errorf("%s: id %s, kind %s", k, id, KindOf(id))
		}
	}
	for _, id := range []string{"set-abcdef", "col-", "dm01fiets01", "col-ABCDEF", "col-abc/../x"} {
		if ValidID(id) {
			t.Errorf("%s passes", id)
		}
	}
}
