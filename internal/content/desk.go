package content

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/archiefvooronderwijs/avo/internal/audit"
	"github.com/archiefvooronderwijs/avo/internal/bucket"
	"github.com/archiefvooronderwijs/avo/internal/esindex"
	"github.com/archiefvooronderwijs/avo/internal/notfound"
	"github.com/archiefvooronderwijs/avo/internal/profile"
	"github.com/archiefvooronderwijs/avo/internal/s3store"
)

// Desk is where teachers keep their pieces: S3 holds each piece, its
// change log and the marks that list a teacher's own; a public piece has
// a document in the education index.
type Desk struct {
	Store   *s3store.Store
	Indices esindex.Indices
	// Now is the clock (tests pin it).
	Now func() time.Time
}

// NewDesk returns a desk over a bucket and indices.
func NewDesk(store *s3store.Store, ix esindex.Indices) *Desk {
	return &Desk{Store: store, Indices: ix}
}

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Caller is the signed-in person who asks.
type Caller struct {
	ID, Name, Email string
	// Pupil: the caller is a pupil (who opens assignments by their link
	// and nothing else).
	Pupil bool
	// Operator: an operator of avo acting from the command line, who may
	// do what an owner may (hand a piece over when its owner left, take
	// a piece down); the log names them.
	Operator bool
}

// rightOn is what the caller may do with p.
func (c Caller) rightOn(p *Piece) Right {
	if c.Operator {
		return OwnerRight
	}
	return p.RightOf(c.ID, c.Email)
}

func (c Caller) person() Person {
	return Person{ID: c.ID, Name: c.Name, Email: strings.ToLower(c.Email)}
}

// by names the caller in the change log: the name people know and the id
// that stays.
func (c Caller) by() string {
	if c.Operator {
		return "operator " + c.ID
	}
	if c.Name == "" {
		return c.ID
	}
	return c.Name + " (" + c.ID + ")"
}

// Conflict is a write made over a version that is no longer the piece's:
// a co-author saved first. It carries the piece as it is now.
type Conflict struct {
	Piece   *Piece
	Version string
}

func (c *Conflict) Error() string {
	return fmt.Sprintf("%s %s was changed by %s at %s (now version %s, revision %d): read it again and redo the change",
		c.Piece.Kind, c.Piece.ID, c.Piece.UpdatedBy, c.Piece.UpdatedAt.Format(time.RFC3339), c.Version, c.Piece.Revision)
}

// Get reads a piece and its version, whoever asks.
func (d *Desk) Get(ctx context.Context, id string) (*Piece, string, error) {
	if !ValidID(id) {
		return nil, "", notfound.Errorf("no collection, bundle or assignment %s", id)
	}
	var p Piece
	ver, err := d.Store.GetJSONVersion(ctx, bucket.ContentKey(id), &p)
	if s3store.IsNotFound(err) {
		return nil, "", notfound.Errorf("no collection, bundle or assignment %s", id)
	}
	if err != nil {
		return nil, "", err
	}
	return &p, ver, nil
}

// read returns a piece the caller may read, with their right; to others
// it is not there at all (a private piece's existence is its owner's).
func (d *Desk) read(ctx context.Context, id string, c Caller) (*Piece, string, Right, error) {
	p, ver, err := d.Get(ctx, id)
	if err != nil {
		return nil, "", noRight, err
	}
	right := c.rightOn(p)
	if !right.CanRead() && !(p.Public && !c.Pupil) {
		return nil, "", noRight, notfound.Errorf("no collection, bundle or assignment %s that you may see", id)
	}
	return p, ver, right, nil
}

// Create saves a new private piece owned by the caller.
func (d *Desk) Create(ctx context.Context, p Piece, c Caller) (*Piece, string, error) {
	if _, ok := prefixes[p.Kind]; !ok {
		return nil, "", problemf("kind %q: want %s, %s or %s", p.Kind, Collection, Bundle, Assignment)
	}
	if c.Pupil {
		return nil, "", &Forbidden{"collections and assignments are made by teachers"}
	}
	p.ID = newID(p.Kind)
	now := d.now()
	p.Owner, p.Shares, p.Revision, p.Change, p.CopyOf = c.person(), []Share{}, 0, nil, ""
	p.CreatedAt, p.CreatedBy = now, c.by()
	if p.Blocks == nil {
		p.Blocks = []Block{}
	}
	if err := d.checkPiece(ctx, &p, nil, c); err != nil {
		return nil, "", err
	}
	return d.write(ctx, &p, nil, "", c, "create", []string{fmt.Sprintf("created %s %q", p.Kind, p.Title)})
}

// Edit changes a piece's content if version is still its version; the
// owner and contributors may, and only the owner makes it public or
// private.
func (d *Desk) Edit(ctx context.Context, id, version string, e Edit, c Caller) (*Piece, string, error) {
	return d.change(ctx, id, version, c, "edit", func(p *Piece, right Right) ([]string, error) {
		if !right.CanEdit() {
			return nil, &Forbidden{fmt.Sprintf("you may read %s %s, not change it (ask its owner %s to make you a contributor)", p.Kind, p.ID, p.Owner.Name)}
		}
		if e.Public != nil && *e.Public != p.Public && !right.CanManage() {
			return nil, &Forbidden{fmt.Sprintf("only the owner of %s %s makes it public or private", p.Kind, p.ID)}
		}
		before := *p
		before.Blocks = slices.Clone(p.Blocks)
		what, err := e.apply(p)
		if err != nil || len(what) == 0 {
			return what, err
		}
		return what, d.checkPiece(ctx, p, &before, c)
	})
}

// ShareRequest gives an e-mail address a right: an invitation, or for
// someone who accepted one already a new right. OWNER hands the piece
// over (at once to a contributor, on acceptance to an invitee); the owner
// stays on as a contributor.
type ShareRequest struct {
	Email string `json:"email"`
	Right Right  `json:"right"`
}

// Share invites someone to a piece, or changes their right; the owner's.
func (d *Desk) Share(ctx context.Context, id, version string, r ShareRequest, c Caller) (*Piece, string, error) {
	email := strings.ToLower(strings.TrimSpace(r.Email))
	if !strings.Contains(email, "@") {
		return nil, "", problemf("%q is not an e-mail address", r.Email)
	}
	if r.Right != Viewer && r.Right != Contributor && r.Right != OwnerRight {
		return nil, "", problemf("right %q: want %s, %s or %s", r.Right, Viewer, Contributor, OwnerRight)
	}
	action := "share"
	if r.Right == OwnerRight {
		action = "transfer"
	}
	return d.change(ctx, id, version, c, action, func(p *Piece, right Right) ([]string, error) {
		if !right.CanManage() {
			return nil, &Forbidden{fmt.Sprintf("only the owner of %s %s shares it", p.Kind, p.ID)}
		}
		if strings.EqualFold(email, c.Email) {
			return nil, problemf("%s is your own address: you own %s already", email, p.ID)
		}
		i := slices.IndexFunc(p.Shares, func(s Share) bool { return strings.EqualFold(s.Email, email) })
		if i >= 0 && p.Shares[i].Status == Accepted {
			s := &p.Shares[i]
			if r.Right == OwnerRight {
				return handOver(p, i, c.by(), d.now()), nil
			}
			if s.Right == r.Right {
				return nil, nil
			}
			from := s.Right
			s.Right = r.Right
			return []string{fmt.Sprintf("%s: %s → %s", email, from, r.Right)}, nil
		}
		s := Share{Email: email, Right: r.Right, Status: Invited, InvitedBy: c.by(), InvitedAt: d.now()}
		if i >= 0 {
			if p.Shares[i].Right == r.Right {
				return nil, nil
			}
			p.Shares[i] = s
		} else {
			p.Shares = append(p.Shares, s)
		}
		return []string{fmt.Sprintf("invited %s as %s", email, r.Right)}, nil
	})
}

// handOver makes share i the owner, and the owner a contributor; by
// names who handed it over.
func handOver(p *Piece, i int, by string, now time.Time) []string {
	s := p.Shares[i]
	old := p.Owner
	p.Owner = *s.User
	email := old.Email
	if email == "" {
		email = old.ID // signed in without an address: their id names the share
	}
	p.Shares[i] = Share{Email: email, Right: Contributor, Status: Accepted, User: &old, InvitedBy: by, InvitedAt: now, Accepted: &now}
	return []string{fmt.Sprintf("ownership: %s → %s (%s stays on as %s)", old.ID, p.Owner.ID, old.ID, Contributor)}
}

// Unshare takes someone's right or invitation away: the owner may take
// anyone's, a contributor or viewer their own (leaving the piece).
func (d *Desk) Unshare(ctx context.Context, id, version, email string, c Caller) (*Piece, string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	return d.change(ctx, id, version, c, "unshare", func(p *Piece, right Right) ([]string, error) {
		i := slices.IndexFunc(p.Shares, func(s Share) bool { return strings.EqualFold(s.Email, email) })
		if i < 0 {
			return nil, notfound.Errorf("%s %s is not shared with %s", p.Kind, p.ID, email)
		}
		self := p.Shares[i].User != nil && p.Shares[i].User.ID == c.ID
		if !right.CanManage() && !self {
			return nil, &Forbidden{fmt.Sprintf("only the owner of %s %s takes a right away (a contributor may leave)", p.Kind, p.ID)}
		}
		p.Shares = slices.Delete(p.Shares, i, i+1)
		return []string{"removed " + email}, nil
	})
}

// Answer accepts or refuses the caller's invitation to a piece: the
// invitation is for their verified e-mail address.
func (d *Desk) Answer(ctx context.Context, id string, accept bool, c Caller) (*Piece, string, error) {
	if c.Email == "" {
		return nil, "", &Forbidden{"your sign-in carries no e-mail address: invitations are by address"}
	}
	action := "refuse"
	if accept {
		action = "accept"
	}
	return d.change(ctx, id, "", c, action, func(p *Piece, _ Right) ([]string, error) {
		i := slices.IndexFunc(p.Shares, func(s Share) bool { return s.Status == Invited && strings.EqualFold(s.Email, c.Email) })
		if i < 0 {
			return nil, notfound.Errorf("no open invitation to %s for %s", p.ID, c.Email)
		}
		if !accept {
			p.Shares = slices.Delete(p.Shares, i, i+1)
			return []string{c.Email + " refused the invitation"}, nil
		}
		if p.Owner.ID == c.ID {
			p.Shares = slices.Delete(p.Shares, i, i+1)
			return []string{c.Email + " owns it already"}, nil
		}
		// One person, one right: an earlier share of theirs gives way.
		p.Shares = slices.DeleteFunc(p.Shares, func(s Share) bool { return s.User != nil && s.User.ID == c.ID && s.Status == Accepted })
		i = slices.IndexFunc(p.Shares, func(s Share) bool { return s.Status == Invited && strings.EqualFold(s.Email, c.Email) })
		now := d.now()
		s := &p.Shares[i]
		me := c.person()
		s.Status, s.User, s.Accepted = Accepted, &me, &now
		what := []string{fmt.Sprintf("%s accepted as %s", c.Email, s.Right)}
		if s.Right == OwnerRight {
			what = append(what, handOver(p, i, s.InvitedBy, now)...)
		}
		return what, nil
	})
}

// Copy makes a private copy of a piece the caller may read; it records
// where it came from.
func (d *Desk) Copy(ctx context.Context, id string, c Caller) (*Piece, string, error) {
	if c.Pupil {
		return nil, "", &Forbidden{"pupils do not copy collections or assignments"}
	}
	p, _, _, err := d.read(ctx, id, c)
	if err != nil {
		return nil, "", err
	}
	cp := Piece{
		Kind: p.Kind, Title: p.Title, Description: p.Description, Thumbnail: p.Thumbnail,
		Blocks: slices.Clone(p.Blocks), Education: p.Education, Keywords: slices.Clone(p.Keywords),
		Instructions: p.Instructions, AssignmentKind: p.AssignmentKind, CopyOf: p.ID,
	}
	// What the copy holds was checked when the original took it; an item
	// gone since shows as unavailable in the copy too.
	return d.create(ctx, &cp, c)
}

func (d *Desk) create(ctx context.Context, p *Piece, c Caller) (*Piece, string, error) {
	p.ID = newID(p.Kind)
	now := d.now()
	p.Owner, p.Shares = c.person(), []Share{}
	p.CreatedAt, p.CreatedBy = now, c.by()
	vocab, err := profile.Vocabularies()
	if err != nil {
		return nil, "", err
	}
	if err := p.check(vocab); err != nil {
		return nil, "", err
	}
	return d.write(ctx, p, nil, "", c, "copy", []string{"copy of " + p.CopyOf})
}

// Delete removes a piece: its owner's. Its log stays.
func (d *Desk) Delete(ctx context.Context, id, version string, c Caller) error {
	p, cur, err := d.Get(ctx, id)
	if err != nil {
		return err
	}
	if !c.rightOn(p).CanManage() {
		if !c.rightOn(p).CanRead() {
			return notfound.Errorf("no collection, bundle or assignment %s that you may see", id)
		}
		return &Forbidden{fmt.Sprintf("only the owner of %s %s deletes it", p.Kind, p.ID)}
	}
	if version != "" && version != cur {
		return &Conflict{Piece: p, Version: cur}
	}
	// The log says so first: a crash after it leaves a piece the owner
	// deletes again, never one gone without a word.
	e := audit.Entry{Revision: p.Revision + 1, At: d.now(), By: c.by(), Action: "delete", Changes: []string{"deleted"}, Before: cur}
	if p.Change != nil {
		if err := audit.Heal(ctx, d.Store, bucket.AuditContent, id, *p.Change, cur); err != nil {
			return err
		}
	}
	if err := audit.Append(ctx, d.Store, bucket.AuditContent, id, e); err != nil {
		return err
	}
	if p.Public {
		if err := d.Store.Put(ctx, bucket.ContentPendingKey(id), nil, "application/octet-stream"); err != nil {
			return err
		}
	}
	if err := d.Store.Delete(ctx, bucket.ContentKey(id)); err != nil {
		return err
	}
	if err := d.unmark(ctx, p, nil); err != nil {
		return err
	}
	if !p.Public {
		return nil
	}
	return d.settle(ctx, id)
}

// change reads a piece, checks the caller's right and the version, edits
// it and saves it over the version read.
func (d *Desk) change(ctx context.Context, id, version string, c Caller, action string, edit func(*Piece, Right) ([]string, error)) (*Piece, string, error) {
	for attempt := 0; ; attempt++ {
		p, cur, err := d.Get(ctx, id)
		if err != nil {
			return nil, "", err
		}
		right := c.rightOn(p)
		if !right.CanRead() && !(p.Public && !c.Pupil) {
			return nil, "", notfound.Errorf("no collection, bundle or assignment %s that you may see", id)
		}
		before := *p
		before.Shares = slices.Clone(p.Shares)
		what, err := edit(p, right)
		if err != nil {
			return nil, "", err // a right refused is refused whatever the version
		}
		if version != "" && version != cur {
			return nil, "", &Conflict{Piece: &before, Version: cur}
		}
		if len(what) == 0 {
			return p, cur, nil
		}
		saved, ver, err := d.write(ctx, p, &before, cur, c, action, what)
		var conflict *Conflict
		if errors.As(err, &conflict) && version == "" && attempt < 5 {
			continue // a change that names no version is made on the newest
		}
		return saved, ver, err
	}
}

// write saves p over version ("" for a new piece), logs the change, keeps
// the marks of who may list it, and brings the search index up to date.
func (d *Desk) write(ctx context.Context, p, before *Piece, version string, c Caller, action string, what []string) (*Piece, string, error) {
	// Marks of people added come first, so a listing never misses a
	// piece; those of people taken away go after (a stale mark is
	// ignored by the listing).
	if err := d.mark(ctx, p, before); err != nil {
		return nil, "", err
	}
	// A change the search must follow is marked pending first: if the
	// document is not written (a crash, Elasticsearch down), the
	// visibility schedule writes it (Settle).
	index := before != nil && before.Public || p.Public
	if index {
		if err := d.Store.Put(ctx, bucket.ContentPendingKey(p.ID), nil, "application/octet-stream"); err != nil {
			return nil, "", err
		}
	}
	if p.Change != nil {
		if err := audit.Heal(ctx, d.Store, bucket.AuditContent, p.ID, *p.Change, version); err != nil {
			return nil, "", err
		}
	}
	now := d.now()
	p.UpdatedAt, p.UpdatedBy = now, c.by()
	p.Revision++
	p.Change = &audit.Entry{Revision: p.Revision, At: now, By: c.by(), Action: action, Changes: what, Before: version}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, "", err
	}
	ver, err := d.Store.PutIf(ctx, bucket.ContentKey(p.ID), b, "application/json", version)
	if s3store.IsConflict(err) {
		if version == "" {
			return nil, "", problemf("%s exists already", p.ID)
		}
		cur, curVer, gerr := d.Get(ctx, p.ID)
		if gerr != nil {
			return nil, "", gerr
		}
		return nil, "", &Conflict{Piece: cur, Version: curVer}
	}
	if err != nil {
		return nil, "", err
	}
	e := *p.Change
	e.After = ver
	if err := audit.Append(ctx, d.Store, bucket.AuditContent, p.ID, e); err != nil {
		return nil, "", err
	}
	if err := d.unmark(ctx, before, p); err != nil {
		return nil, "", err
	}
	if !index {
		return p, ver, nil // private before and after: nothing to index
	}
	if err := d.settle(ctx, p.ID); err != nil {
		return p, ver, fmt.Errorf("%s %s is saved, but the search index did not follow yet (the visibility schedule, or avo content sync %s, writes it): %w", p.Kind, p.ID, p.ID, err)
	}
	return p, ver, nil
}

// settle writes a piece's document and takes its pending mark away.
func (d *Desk) settle(ctx context.Context, id string) error {
	if err := d.Publish(ctx, id); err != nil {
		return err
	}
	return d.Store.Delete(ctx, bucket.ContentPendingKey(id))
}

// Settle writes the documents of the pieces whose change the search did
// not follow (marked pending over a minute ago: newer marks belong to
// changes under way), and returns how many.
func (d *Desk) Settle(ctx context.Context) (int, error) {
	objs, err := d.Store.List(ctx, bucket.ContentPendingPrefix)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, o := range objs {
		id := bucket.MarkID(o.Key)
		if !ValidID(id) || o.LastModified.After(d.now().Add(-time.Minute)) {
			continue
		}
		if err := d.settle(ctx, id); err != nil {
			return n, fmt.Errorf("%s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// History is a piece's change log, oldest first, for those who may read it.
func (d *Desk) History(ctx context.Context, id string, c Caller) ([]audit.Entry, error) {
	p, ver, right, err := d.read(ctx, id, c)
	if err == nil && !right.CanRead() {
		err = &Forbidden{fmt.Sprintf("the history of %s %s is for its owner and contributors", p.Kind, id)}
	}
	if err != nil {
		return nil, err
	}
	if p.Change != nil {
		if err := audit.Heal(ctx, d.Store, bucket.AuditContent, id, *p.Change, ver); err != nil {
			return nil, err
		}
	}
	return audit.List(ctx, d.Store, bucket.AuditContent, id)
}

// checkPiece validates a piece and what its blocks point at: items added
// or whose fragment changed must be visible to teachers, fragments within
// the item, and a bundle's collections and assignments readable by the
// caller. Blocks already there are not checked again (an item may have
// gone since: the piece is still edited, and its problems name it).
func (d *Desk) checkPiece(ctx context.Context, p, before *Piece, c Caller) error {
	vocab, err := profile.Vocabularies()
	if err != nil {
		return err
	}
	if err := p.check(vocab); err != nil {
		return err
	}
	var items, refs []Block
	for _, b := range p.Blocks {
		if before != nil && slices.ContainsFunc(before.Blocks, func(o Block) bool { return sameSpan(o, b) }) {
			continue
		}
		switch b.Type {
		case ItemBlock:
			items = append(items, b)
		case CollectionBlock, AssignmentBlock:
			refs = append(refs, b)
		}
	}
	if len(items) > 0 {
		ids := make([]string, len(items))
		for i, b := range items {
			ids[i] = b.ExternalID
		}
		docs, err := d.Indices.Docs(ctx, esindex.Education, ids, esindex.FieldExternalID, esindex.FieldDuration, "licenses")
		if err != nil {
			return err
		}
		for _, b := range items {
			doc, ok := docs[b.ExternalID]
			if !ok {
				return problemf("item %s is not one teachers can see (not published, deleted, or not in the archive)", b.ExternalID)
			}
			if err := fits(b, doc); err != nil {
				return err
			}
		}
	}
	for _, b := range refs {
		if _, _, _, err := d.read(ctx, b.Ref, c); err != nil {
			if errors.Is(err, notfound.Err) {
				return problemf("%s %s is not one you may put in a bundle (yours, shared with you, or public)", KindOf(b.Ref), b.Ref)
			}
			return err
		}
	}
	return nil
}

// fits checks a block's fragment against its item: within its duration,
// and a fragment when its licence allows fragments only.
func fits(b Block, doc esindex.Doc) error {
	if b.End != nil && doc.DurationSeconds > 0 && *b.End > float64(doc.DurationSeconds) {
		return problemf("item %s: the fragment ends at %gs, after the item's end (%ds)", b.ExternalID, *b.End, doc.DurationSeconds)
	}
	if b.Start != nil && doc.DurationSeconds > 0 && *b.Start >= float64(doc.DurationSeconds) {
		return problemf("item %s: the fragment starts at %gs, after the item's end (%ds)", b.ExternalID, *b.Start, doc.DurationSeconds)
	}
	for _, q := range b.Questions {
		if doc.DurationSeconds > 0 && q.At > float64(doc.DurationSeconds) {
			return problemf("item %s: a question at %gs is after the item's end (%ds)", b.ExternalID, q.At, doc.DurationSeconds)
		}
	}
	whole := b.Start == nil && b.End == nil
	if whole && !slices.Contains(doc.Licenses, profile.EducationLicence) && slices.Contains(doc.Licenses, profile.FragmentLicence) {
		return problemf("item %s: its licence (%s) allows a fragment only: give the block a start and an end", b.ExternalID, profile.FragmentLicence)
	}
	return nil
}

// sameSpan reports whether a and b point at the same thing the same way.
func sameSpan(a, b Block) bool {
	eq := func(x, y *float64) bool { return x == nil && y == nil || x != nil && y != nil && *x == *y }
	qs := func(x, y []Question) bool {
		return slices.EqualFunc(x, y, func(p, q Question) bool { return p.At == q.At })
	}
	return a.Type == b.Type && a.target() == b.target() && eq(a.Start, b.Start) && eq(a.End, b.End) && qs(a.Questions, b.Questions)
}

// personKey hashes a user id or an address into a key segment: ids are
// whatever an identity provider chooses, and addresses are no one's
// business in a listing of keys.
func personKey(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:16])
}

// mark writes the marks of p's members and invitees that before lacks.
func (d *Desk) mark(ctx context.Context, p, before *Piece) error {
	for _, key := range marks(p) {
		if before != nil && slices.Contains(marks(before), key) {
			continue
		}
		if err := d.Store.Put(ctx, key, nil, "application/octet-stream"); err != nil {
			return err
		}
	}
	return nil
}

// unmark deletes the marks of before's members and invitees that p
// (nil: a deleted piece) lacks.
func (d *Desk) unmark(ctx context.Context, before, p *Piece) error {
	if before == nil {
		return nil
	}
	for _, key := range marks(before) {
		if p != nil && slices.Contains(marks(p), key) {
			continue
		}
		if err := d.Store.Delete(ctx, key); err != nil {
			return err
		}
	}
	return nil
}

func marks(p *Piece) []string {
	var out []string
	for _, m := range p.Members() {
		out = append(out, bucket.PersonContentPrefix(personKey(m))+p.ID)
	}
	for _, e := range p.Invitees() {
		out = append(out, bucket.InvitationPrefix(personKey(e))+p.ID)
	}
	return out
}

func newID(k Kind) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return prefixes[k] + string(b)
}
