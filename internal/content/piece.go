// Package content holds what teachers make: collections, bundles and
// assignments, who may read and change them (an owner, contributors with
// a right, invitations by e-mail address), their versions and change log
// in S3 (the system of record), and what a public one puts into the
// education index.
package content

import (
	"errors"
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

// Kind is what a piece is, as the education index's administrative type
// names it.
type Kind string

// The kinds of pieces.
const (
	Collection Kind = "collectie"
	Bundle     Kind = "bundel"
	Assignment Kind = "opdracht"
)

// Kinds lists the kinds, as the search's type filter knows them.
var Kinds = []Kind{Collection, Bundle, Assignment}

// prefixes start a piece's id: its kind shows in it, and no piece id is
// ever an item's PID or a curated set's id.
var prefixes = map[Kind]string{Collection: "col-", Bundle: "bun-", Assignment: "opd-"}

// Right is what a person may do with a piece.
type Right string

// Rights, from least to most: a viewer reads and copies, a contributor
// also changes the content, the owner also shares it, makes it public or
// private, hands it over and deletes it.
const (
	Viewer       Right = "VIEWER"
	Contributor  Right = "CONTRIBUTOR"
	OwnerRight   Right = "OWNER"
	noRight      Right = ""
	invitedRight Right = "INVITED"
)

// Person is a signed-in user as a piece names them.
type Person struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Share is a contributor: invited by e-mail address, then, once they
// accept, the signed-in user who did.
type Share struct {
	Email string `json:"email"`
	// Right is what they may do; OWNER in an invitation hands the piece
	// over when it is accepted.
	Right     Right      `json:"right"`
	Status    string     `json:"status"` // invited, accepted
	User      *Person    `json:"user,omitempty"`
	InvitedBy string     `json:"invited_by"`
	InvitedAt time.Time  `json:"invited_at"`
	Accepted  *time.Time `json:"accepted_at,omitempty"`
}

// Statuses of a share.
const (
	Invited  = "invited"
	Accepted = "accepted"
)

// Education are a piece's education fields: vocabulary concept URIs.
type Education struct {
	Levels   []string `json:"levels,omitempty"`
	Degrees  []string `json:"degrees,omitempty"`
	Subjects []string `json:"subjects,omitempty"`
	Themes   []string `json:"themes,omitempty"`
}

// Piece is a teacher's collection, bundle or assignment as S3 keeps it
// (content/ID.json).
type Piece struct {
	ID          string    `json:"id"`
	Kind        Kind      `json:"kind"`
	Title       string    `json:"title"`
	Description string    `json:"description,omitempty"`
	Thumbnail   string    `json:"thumbnail,omitempty"`
	Owner       Person    `json:"owner"`
	Shares      []Share   `json:"contributors"`
	Blocks      []Block   `json:"blocks"`
	Education   Education `json:"education"`
	Keywords    []string  `json:"keywords,omitempty"`
	// Public: teachers find it in the search; private pieces are never
	// in the search index.
	Public bool `json:"is_public"`
	// An assignment's instructions, kind (search, watch, build) and the
	// time pupils may open it.
	Instructions   string     `json:"instructions,omitempty"`
	AssignmentKind string     `json:"assignment_kind,omitempty"`
	AvailableAt    *time.Time `json:"available_at,omitempty"`
	DeadlineAt     *time.Time `json:"deadline_at,omitempty"`
	// CopyOf is the piece this one was copied from.
	CopyOf    string    `json:"is_copy_of,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	UpdatedAt time.Time `json:"updated_at"`
	UpdatedBy string    `json:"updated_by"`
	// Revision counts the changes; Change is the last one, also in the
	// audit log (a log entry a crash lost is written again from here).
	Revision int          `json:"revision"`
	Change   *audit.Entry `json:"change,omitempty"`
}

// Block types.
const (
	ItemBlock       = "item"
	TextBlock       = "text"
	CollectionBlock = "collection"
	AssignmentBlock = "assignment"
)

// Block is one part of a piece: an archive item (optionally a fragment,
// with its own title and description, and in an assignment questions at
// moments of it), a text, or in a bundle a collection or assignment.
type Block struct {
	Type        string     `json:"type"`
	ExternalID  string     `json:"external_id,omitempty"`
	Ref         string     `json:"ref,omitempty"`
	Start       *float64   `json:"start,omitempty"`
	End         *float64   `json:"end,omitempty"`
	Title       string     `json:"title,omitempty"`
	Description string     `json:"description,omitempty"`
	Text        string     `json:"text,omitempty"`
	Questions   []Question `json:"questions,omitempty"`
}

// Question is an interactive element of an assignment's block: asked at
// a moment of the fragment (seconds from the item's beginning).
type Question struct {
	At      float64  `json:"at"`
	Kind    string   `json:"kind"` // multiple_choice, open
	Text    string   `json:"text"`
	Options []string `json:"options,omitempty"`
	// Answers are the right options of a multiple-choice question, or
	// model answers of an open one; pupils never see them.
	Answers []string `json:"answers,omitempty"`
}

// Question kinds.
const (
	MultipleChoice = "multiple_choice"
	Open           = "open"
)

// Assignment kinds.
var assignmentKinds = []string{"search", "watch", "build"}

// target is what a block points at: an item's PID or a piece's id.
func (b Block) target() string {
	if b.Type == ItemBlock {
		return b.ExternalID
	}
	return b.Ref
}

// Items returns the PIDs of the piece's item blocks, in order, once each.
func (p *Piece) Items() []string {
	var out []string
	for _, b := range p.Blocks {
		if b.Type == ItemBlock && !slices.Contains(out, b.ExternalID) {
			out = append(out, b.ExternalID)
		}
	}
	return out
}

// Refs returns the pieces a bundle's blocks point at, in order.
func (p *Piece) Refs() []string {
	var out []string
	for _, b := range p.Blocks {
		if (b.Type == CollectionBlock || b.Type == AssignmentBlock) && !slices.Contains(out, b.Ref) {
			out = append(out, b.Ref)
		}
	}
	return out
}

// Questions counts the questions of the piece's blocks.
func (p *Piece) Questions() int {
	n := 0
	for _, b := range p.Blocks {
		n += len(b.Questions)
	}
	return n
}

// RightOf is what user may do with the piece ("" for nothing); an
// invitation to email lets its invitee read the piece before answering.
func (p *Piece) RightOf(user, email string) Right {
	if user != "" && p.Owner.ID == user {
		return OwnerRight
	}
	invited := false
	for _, s := range p.Shares {
		switch {
		case s.Status == Accepted && s.User != nil && s.User.ID == user && user != "":
			if s.Right == OwnerRight {
				return Contributor // an accepted OWNER share is handed over already
			}
			return s.Right
		case s.Status == Invited && email != "" && strings.EqualFold(s.Email, email):
			invited = true
		}
	}
	if invited {
		return invitedRight
	}
	return noRight
}

// CanRead, CanEdit and CanManage say what a right allows.
func (r Right) CanRead() bool   { return r != noRight }
func (r Right) CanEdit() bool   { return r == Contributor || r == OwnerRight }
func (r Right) CanManage() bool { return r == OwnerRight }

// Members are the user ids of the owner and the accepted contributors.
func (p *Piece) Members() []string {
	out := []string{p.Owner.ID}
	for _, s := range p.Shares {
		if s.Status == Accepted && s.User != nil && !slices.Contains(out, s.User.ID) {
			out = append(out, s.User.ID)
		}
	}
	return out
}

// Invitees are the addresses with an open invitation.
func (p *Piece) Invitees() []string {
	var out []string
	for _, s := range p.Shares {
		if s.Status == Invited {
			out = append(out, strings.ToLower(s.Email))
		}
	}
	return out
}

var idPattern = regexp.MustCompile(`^(col|bun|opd)-[a-z0-9]{6,40}$`)

// ValidID reports whether id can name a piece.
func ValidID(id string) bool { return idPattern.MatchString(id) }

// KindOf is the kind a piece id names ("" for none).
func KindOf(id string) Kind {
	for k, p := range prefixes {
		if strings.HasPrefix(id, p) {
			return k
		}
	}
	return ""
}

func problemf(format string, args ...any) error { return refused.Errorf(format, args...) }

// Forbidden is a change the caller's right does not allow.
type Forbidden struct{ Msg string }

func (f *Forbidden) Error() string { return f.Msg }

// IsForbidden reports whether err is about the caller's right.
func IsForbidden(err error) bool {
	var f *Forbidden
	return errors.As(err, &f)
}

// check validates what teachers can write: a title, blocks that fit the
// kind, fragments and questions that make sense, education fields from
// the vocabularies.
func (p *Piece) check(v *profile.Vocabulary) error {
	if strings.TrimSpace(p.Title) == "" {
		return problemf("a %s needs a title", p.Kind)
	}
	allowed := map[Kind][]string{
		Collection: {ItemBlock, TextBlock},
		Assignment: {ItemBlock, TextBlock},
		Bundle:     {CollectionBlock, AssignmentBlock},
	}[p.Kind]
	for i, b := range p.Blocks {
		at := fmt.Sprintf("block %d", i+1)
		if !slices.Contains(allowed, b.Type) {
			return problemf("%s: a %s holds blocks of type %s, not %q", at, p.Kind, strings.Join(allowed, " and "), b.Type)
		}
		switch b.Type {
		case ItemBlock:
			if !profile.ValidExternalID(b.ExternalID) {
				return problemf("%s: %q is not an archive id", at, b.ExternalID)
			}
		case TextBlock:
			if strings.TrimSpace(b.Text) == "" {
				return problemf("%s: a text block needs text", at)
			}
		case CollectionBlock, AssignmentBlock:
			want := map[string]Kind{CollectionBlock: Collection, AssignmentBlock: Assignment}[b.Type]
			if !ValidID(b.Ref) || KindOf(b.Ref) != want {
				return problemf("%s: %q is not the id of a %s", at, b.Ref, want)
			}
			if b.Ref == p.ID {
				return problemf("%s: a bundle cannot hold itself", at)
			}
		}
		if b.Type != ItemBlock && (b.Start != nil || b.End != nil || len(b.Questions) > 0) {
			return problemf("%s: only an item block has a fragment or questions", at)
		}
		if b.Start != nil && *b.Start < 0 || b.End != nil && *b.End <= 0 {
			return problemf("%s (%s): a fragment's start and end are seconds from the item's beginning", at, b.ExternalID)
		}
		if b.Start != nil && b.End != nil && *b.End <= *b.Start {
			return problemf("%s (%s): the fragment ends (%gs) before it starts (%gs)", at, b.ExternalID, *b.End, *b.Start)
		}
		if len(b.Questions) > 0 && p.Kind != Assignment {
			return problemf("%s: questions belong in an assignment", at)
		}
		for j, q := range b.Questions {
			if err := q.check(b); err != nil {
				return problemf("%s, question %d: %v", at, j+1, err)
			}
		}
	}
	// The same vocabularies as editors' overrides of an item's fields.
	e := editorial.Overrides{Levels: p.Education.Levels, Degrees: p.Education.Degrees, Subjects: p.Education.Subjects, Themes: p.Education.Themes}
	if err := e.Check(v); err != nil {
		return problemf("%v", err)
	}
	if p.Kind == Assignment {
		if p.AssignmentKind != "" && !slices.Contains(assignmentKinds, p.AssignmentKind) {
			return problemf("assignment kind %q: want %s", p.AssignmentKind, strings.Join(assignmentKinds, ", "))
		}
		if p.AvailableAt != nil && p.DeadlineAt != nil && !p.AvailableAt.Before(*p.DeadlineAt) {
			return problemf("the deadline (%s) is not after the assignment becomes available (%s)",
				p.DeadlineAt.UTC().Format(time.RFC3339), p.AvailableAt.UTC().Format(time.RFC3339))
		}
	} else if p.Instructions != "" || p.AssignmentKind != "" || p.AvailableAt != nil || p.DeadlineAt != nil {
		return problemf("instructions, an assignment kind and availability belong to an assignment, not a %s", p.Kind)
	}
	return nil
}

func (q Question) check(b Block) error {
	if strings.TrimSpace(q.Text) == "" {
		return errors.New("a question needs its text")
	}
	if q.At < 0 || b.Start != nil && q.At < *b.Start || b.End != nil && q.At > *b.End {
		return fmt.Errorf("asked at %gs, outside the fragment", q.At)
	}
	switch q.Kind {
	case MultipleChoice:
		if len(q.Options) < 2 {
			return errors.New("a multiple-choice question needs at least two options")
		}
		if len(q.Answers) == 0 {
			return errors.New("a multiple-choice question needs its right answer among its options")
		}
		for _, a := range q.Answers {
			if !slices.Contains(q.Options, a) {
				return fmt.Errorf("answer %q is not one of the options", a)
			}
		}
	case Open:
		if len(q.Options) > 0 {
			return errors.New("an open question has no options")
		}
	default:
		return fmt.Errorf("question kind %q: want %s or %s", q.Kind, MultipleChoice, Open)
	}
	return nil
}

// Edit is a change of a piece's content; nil fields stay as they are.
type Edit struct {
	Title          *string    `json:"title,omitempty"`
	Description    *string    `json:"description,omitempty"`
	Thumbnail      *string    `json:"thumbnail,omitempty"`
	Blocks         *[]Block   `json:"blocks,omitempty"`
	Education      *Education `json:"education,omitempty"`
	Keywords       *[]string  `json:"keywords,omitempty"`
	Instructions   *string    `json:"instructions,omitempty"`
	AssignmentKind *string    `json:"assignment_kind,omitempty"`
	// AvailableAt and DeadlineAt: an empty string clears them.
	AvailableAt *string `json:"available_at,omitempty"`
	DeadlineAt  *string `json:"deadline_at,omitempty"`
	// Public is the owner's to change.
	Public *bool `json:"is_public,omitempty"`
}

// apply makes the edit and says what changed; nil when nothing did.
func (e Edit) apply(p *Piece) ([]string, error) {
	var what []string
	str := func(name string, dst *string, v *string) {
		if v != nil && *v != *dst {
			*dst = *v
			what = append(what, name)
		}
	}
	str("title", &p.Title, e.Title)
	str("description", &p.Description, e.Description)
	str("thumbnail", &p.Thumbnail, e.Thumbnail)
	str("instructions", &p.Instructions, e.Instructions)
	str("assignment kind", &p.AssignmentKind, e.AssignmentKind)
	if e.Blocks != nil {
		before := blockSummary(p.Blocks)
		p.Blocks = slices.Clone(*e.Blocks)
		if after := blockSummary(p.Blocks); after != before {
			what = append(what, "blocks: "+after)
		}
	}
	if e.Education != nil && !sameEducation(*e.Education, p.Education) {
		p.Education = *e.Education
		what = append(what, "education fields")
	}
	if e.Keywords != nil && !slices.Equal(*e.Keywords, p.Keywords) {
		p.Keywords = slices.Clone(*e.Keywords)
		what = append(what, "keywords: "+strings.Join(p.Keywords, ", "))
	}
	for _, f := range []struct {
		name string
		dst  **time.Time
		v    *string
	}{{"available at", &p.AvailableAt, e.AvailableAt}, {"deadline", &p.DeadlineAt, e.DeadlineAt}} {
		if f.v == nil {
			continue
		}
		var t *time.Time
		if *f.v != "" {
			parsed, err := time.Parse(time.RFC3339, *f.v)
			if err != nil {
				return nil, problemf("%s %q: want a time like 2026-09-01T08:00:00Z", f.name, *f.v)
			}
			parsed = parsed.UTC()
			t = &parsed
		}
		if stamp(t) != stamp(*f.dst) {
			*f.dst = t
			what = append(what, f.name+": "+stamp(t))
		}
	}
	if e.Public != nil && *e.Public != p.Public {
		p.Public = *e.Public
		what = append(what, fmt.Sprintf("public: %v", p.Public))
	}
	return what, nil
}

// blockSummary names the blocks briefly, for the change log.
func blockSummary(bs []Block) string {
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = b.Type
		if t := b.target(); t != "" {
			parts[i] += " " + t
		}
		if b.Start != nil || b.End != nil {
			parts[i] += fmt.Sprintf(" [%s-%s]", seconds(b.Start), seconds(b.End))
		}
		if b.Title != "" || b.Description != "" || b.Text != "" || len(b.Questions) > 0 {
			parts[i] += fmt.Sprintf(" (%q %q %q %d questions)", b.Title, b.Description, b.Text, len(b.Questions))
		}
	}
	return strings.Join(parts, "; ")
}

func seconds(f *float64) string {
	if f == nil {
		return ""
	}
	return fmt.Sprintf("%g", *f)
}

func sameEducation(a, b Education) bool {
	return slices.Equal(a.Levels, b.Levels) && slices.Equal(a.Degrees, b.Degrees) &&
		slices.Equal(a.Subjects, b.Subjects) && slices.Equal(a.Themes, b.Themes)
}

func stamp(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Available reports whether pupils may open an assignment at now.
func (p *Piece) Available(now time.Time) bool {
	return p.Kind == Assignment && (p.AvailableAt == nil || !now.Before(*p.AvailableAt)) &&
		(p.DeadlineAt == nil || now.Before(*p.DeadlineAt))
}
